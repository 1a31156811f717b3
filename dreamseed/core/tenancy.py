"""Running work in every school: beat jobs dispatch one task per school schema."""

from django_tenants.utils import tenant_context

from dreamseed.schools.models import School


def for_each_school(task) -> int:
    """Enqueue `task` (a tenant-aware Celery task taking no arguments) once per school."""
    count = 0
    for school in School.objects.real().only("pk", "schema_name"):
        with tenant_context(school):
            task.delay()
        count += 1
    return count
