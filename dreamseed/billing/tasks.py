"""Billing's background work, all in the public schema: handling a recorded webhook event, and
the daily pass that re-reads every school's subscription from Stripe and tidies the records.

`stripe_event_process` is acks_late: the message stays in Redis until the event is handled, so a
worker lost mid-way leads to another one handling it (safe: a handled event is left alone).
"""

from django.conf import settings
from django.db import connection

from dreamseed.billing import services
from dreamseed.celery import app
from dreamseed.outbox.services import outbox_enqueue

#: Retries after a failure (Stripe unreachable...), the n-th after RETRY_BASE_SECONDS * 2**n,
#: capped at RETRY_MAX_SECONDS: about a day in all. The event then stays failed for the
#: operator's replay; the daily reconciliation has repaired the licence meanwhile.
MAX_RETRIES = 12
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3 * 3600


@app.task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def stripe_event_process(self, event_pk: int) -> None:
    connection.set_schema_to_public()
    try:
        services.stripe_event_process(event_pk=event_pk)
    except services.EventProcessingFailed as error:
        if self.request.retries >= MAX_RETRIES:
            return  # recorded as failed on the row: the operator can replay it
        countdown = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**self.request.retries)
        raise self.retry(countdown=countdown, exc=error) from error


def stripe_event_enqueue(event_pk: int) -> None:
    """Hand a recorded event to the worker through the task outbox: written down with the
    event's row, published once that commits, kept (and published later) if the broker is down."""
    outbox_enqueue(stripe_event_process, event_pk, queue=settings.BILLING_TASK_QUEUE or None)


@app.task(ignore_result=True)
def billing_reconcile_all_schools() -> dict:
    """Beat entry point (daily): one pass over the schools Stripe knows, events the worker
    never finished sent again, old payloads and refused deliveries forgotten."""
    connection.set_schema_to_public()
    counts = services.billing_reconcile_all()
    for event_pk in services.stripe_events_replayable().values_list("pk", flat=True):
        stripe_event_enqueue(event_pk)
    emptied, deleted = services.billing_records_prune()
    return {**counts, "payloads_pruned": emptied, "rejected_deleted": deleted}
