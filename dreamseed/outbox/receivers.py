"""A task sent through the outbox marks its row received when a worker starts it."""

import logging

from celery import signals

log = logging.getLogger(__name__)


@signals.task_prerun.connect(dispatch_uid="dreamseed_outbox_received")
def _outbox_received(sender=None, task=None, **kwargs):
    from dreamseed.outbox.services import HEADER, outbox_received

    request = task.request if task is not None else None
    if request is None:
        return
    message_id = (request.headers or {}).get(HEADER) or request.get(HEADER)
    if message_id is None:
        return
    try:
        outbox_received(message_id=message_id)
    except Exception:  # bookkeeping only: the task itself must still run
        log.exception("could not mark outbox message %s received", message_id)
