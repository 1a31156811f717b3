"""The transactional outbox: Celery tasks written down in the same transaction as the change
that asks for them, so a broker outage delays work instead of losing it.

One table in the public schema for every school (each row names its schema): a school's request
writes to it in its own transaction (the search_path ends with public), and one pass drains all
schools, whatever their number.
"""

from django.db import models


class OutboxMessage(models.Model):
    schema_name = models.CharField(max_length=63)
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    # apply_async options kept with the message: task_id, queue.
    options = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # Published to the broker (the latest time, if it had to be published again).
    sent_at = models.DateTimeField(null=True, blank=True)
    # A worker started it: from here on Celery's acks_late and the task's own retries take over.
    received_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_pending_idx",
                condition=models.Q(received_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"{self.task_name} in {self.schema_name} (#{self.pk})"
