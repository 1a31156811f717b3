"""Publish the tasks kept in the outbox while the broker was down (beat does this by itself)."""

from django.core.management.base import BaseCommand
from django.db import connection

from dreamseed.outbox.models import OutboxMessage
from dreamseed.outbox.services import outbox_drain


class Command(BaseCommand):
    help = "Publish the Celery tasks waiting in the outbox (never sent, or lost by the broker)."

    def handle(self, *args, **options):
        connection.set_schema_to_public()
        published = outbox_drain()
        waiting = OutboxMessage.objects.filter(received_at__isnull=True).count()
        self.stdout.write(f"published {published}; {waiting} not yet started by a worker")
