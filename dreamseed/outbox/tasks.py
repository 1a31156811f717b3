"""Beat job: publish what the broker missed, in one pass over every school's messages."""

from django.db import connection

from dreamseed.celery import app
from dreamseed.outbox.services import outbox_drain, outbox_prune


@app.task(ignore_result=True)
def outbox_drain_all_schools() -> int:
    connection.set_schema_to_public()
    published = outbox_drain()
    outbox_prune()
    return published
