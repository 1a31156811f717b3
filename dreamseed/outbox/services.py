"""Enqueue Celery tasks through the outbox, publish them, and drain what the broker missed.

`outbox_enqueue(task, *args)` writes the task down in the caller's transaction and publishes it
right after the commit. If the broker is down the row stays, and `outbox_drain()` (Celery beat,
every OUTBOX_DRAIN_SECONDS, or `manage.py outbox_drain`) publishes it once the broker is back.
A worker marks the row received when the task starts; a row published but never received
(the broker lost its queue: a Redis restarted without persistence) is published again after
OUTBOX_REDELIVER_SECONDS. Every task sent this way is safe to run twice, as all our tasks are,
so the rare double delivery is harmless; what never happens is a task silently lost.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from dreamseed.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

HEADER = "outbox_id"
DRAIN_BATCH = 100


def outbox_enqueue(task, *args, task_id: str | None = None, queue: str | None = None, **kwargs):
    """Send `task(*args, **kwargs)` in the current school's schema once this transaction
    commits, and keep it until a worker has started it."""
    options = {}
    if task_id:
        options["task_id"] = task_id
    if queue:
        options["queue"] = queue
    message = OutboxMessage.objects.create(
        schema_name=connection.schema_name,
        task_name=task.name,
        args=list(args),
        kwargs=kwargs,
        options=options,
    )
    message_id = message.pk
    transaction.on_commit(lambda: outbox_publish(message_id=message_id))
    return message


class _Broker:
    """Per process: after a failed publish, leave the next ones to the drain for a while, so
    requests do not each wait for the broker's connection timeout."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.logged_at = 0.0
        self.failures = 0

    def down(self) -> bool:
        return time.monotonic() < self.down_until

    def failed(self, message: OutboxMessage, error: Exception) -> None:
        now = time.monotonic()
        with self.lock:
            self.down_until = now + settings.OUTBOX_PUBLISH_RETRY_SECONDS
            self.failures += 1
            if now - self.logged_at >= settings.CACHE_ERROR_LOG_SECONDS:
                failures, self.failures, self.logged_at = self.failures, 0, now
                log.warning(
                    "broker unavailable (%s: %s); %s and %d other tasks kept in the outbox, "
                    "to be sent when it is back",
                    type(error).__name__, error, message, failures - 1,
                )  # fmt: skip

    def reset(self) -> None:
        with self.lock:
            self.down_until = self.logged_at = 0.0
            self.failures = 0


broker = _Broker()


def _task(name: str):
    from dreamseed.celery import app

    task = app.tasks.get(name)
    if task is None:
        app.loader.import_default_modules()
        task = app.tasks[name]
    return task


def _publish(message: OutboxMessage) -> bool:
    """Publish one locked row; record the outcome on it. False if the broker refused it."""
    options = dict(message.options)
    headers = {"_schema_name": message.schema_name, HEADER: message.pk}
    try:
        _task(message.task_name).apply_async(
            args=message.args, kwargs=message.kwargs, headers=headers, **options
        )
    except Exception as error:  # kombu's OperationalError and whatever a broken broker raises
        broker.failed(message, error)
        OutboxMessage.objects.filter(pk=message.pk).update(
            publish_attempts=message.publish_attempts + 1,
            last_error=f"{type(error).__name__}: {error}"[:500],
        )
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(
        sent_at=timezone.now(), publish_attempts=message.publish_attempts + 1, last_error=""
    )
    return True


def outbox_publish(*, message_id: int) -> bool:
    """Publish a message now, unless the broker is known to be down or another process (the
    drain) has it. Runs after the enqueuing transaction committed."""
    if broker.down():
        return False
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, sent_at__isnull=True, received_at__isnull=True)
                .first()
            )
            return message is not None and _publish(message)
    except Exception:
        # The request that asked for it has committed: never turn its response into an error.
        # The drain sends it later.
        log.exception("could not publish outbox message %s now", message_id)
        return False


def outbox_drain(*, limit: int = 5000) -> int:
    """Publish what is waiting (never sent, or sent long ago and never started), oldest first;
    stop at the first broker failure. Returns how many were published."""
    redeliver_before = timezone.now() - timedelta(seconds=settings.OUTBOX_REDELIVER_SECONDS)
    waiting = Q(received_at__isnull=True) & (
        Q(sent_at__isnull=True) | Q(sent_at__lt=redeliver_before)
    )
    published = 0
    last_pk = 0
    while published < limit:
        with transaction.atomic():
            batch = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(waiting, pk__gt=last_pk)
                .order_by("pk")[:DRAIN_BATCH]
            )
            if not batch:
                break
            for message in batch:
                if not _publish(message):
                    return published
                published += 1
                last_pk = message.pk
    return published


def outbox_received(*, message_id) -> None:
    """A worker started the task: the broker delivered it."""
    OutboxMessage.objects.filter(pk=message_id, received_at__isnull=True).update(
        received_at=timezone.now()
    )


def outbox_prune() -> int:
    """Forget messages started more than OUTBOX_KEEP_DAYS ago."""
    before = timezone.now() - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    deleted, _ = OutboxMessage.objects.filter(received_at__lt=before).delete()
    return deleted
