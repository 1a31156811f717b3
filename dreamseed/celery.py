"""The Celery app. Tasks carry the school's schema (tenant-schemas-celery) and run inside it."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")

app = CeleryApp("dreamseed")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
