"""The Celery app. Tasks carry the school's schema (tenant-schemas-celery) and run inside it."""

import os

from celery import signals
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")

app = CeleryApp("dreamseed")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_success.connect
def _count_success(sender=None, **kwargs):
    from dreamseed.core.metrics import task_outcome_record

    task_outcome_record(sender.name, "success")


@signals.task_failure.connect
def _count_failure(sender=None, **kwargs):
    from dreamseed.core.metrics import task_outcome_record

    task_outcome_record(sender.name, "failure")


@signals.task_retry.connect
def _count_retry(sender=None, **kwargs):
    from dreamseed.core.metrics import task_outcome_record

    task_outcome_record(sender.name, "retry")
