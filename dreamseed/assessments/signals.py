from django.dispatch import Signal

# Sent after the transaction that finished a session has committed; kwargs: session_id.
# Grade passback (LTI) and report generation listen to it.
session_finished = Signal()
