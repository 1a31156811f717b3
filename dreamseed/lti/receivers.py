"""Signal receivers: a finished test taken through an LMS link queues its grade passback."""

import logging

from django.db import transaction

from dreamseed.lti import grades

log = logging.getLogger(__name__)


def grade_passback_on_finish(sender, session_id: int, **kwargs) -> None:
    # Sent after the finishing transaction committed, from the student's request: a problem here
    # must not turn their last answer into an error page. The sweep picks up what is missed.
    try:
        if not grades.passback_wanted(session_id=session_id):
            return
        _enqueue(session_id)
    except Exception:
        log.exception("could not prepare the grade passback of session %s", session_id)


@transaction.atomic
def _enqueue(session_id: int) -> None:
    from dreamseed.lti.tasks import grade_passback
    from dreamseed.outbox.services import outbox_enqueue

    # The passback rows and the task are written together: if the broker is down, the outbox
    # sends the task when it is back.
    grades.passbacks_prepare(session_id=session_id)
    outbox_enqueue(grade_passback, session_id)
