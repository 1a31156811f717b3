"""Running work in every school: beat jobs dispatch one task per school schema.

Only schools whose schema really holds a school's tables are visited. A broken one (a row made
before signup refused PostgreSQL's own schema names, or whose schema was dropped) is left out
with a warning naming it, so that it cannot fail every school's job or scrape;
`manage.py schools_repair_schemas` repairs it.
"""

import logging

from django.db import connection
from django_tenants.utils import get_public_schema_name, tenant_context

from dreamseed.schools.models import School
from dreamseed.schools.names import schema_name_is_system

logger = logging.getLogger(__name__)


def school_schemas_in_service() -> list[str]:
    """Schema names of the real schools whose schema holds the school tables (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            # to_regclass on a schema-qualified name ignores the search_path: NULL unless that
            # very schema has the table.
            "SELECT schema_name, to_regclass(format('%%I.django_migrations', schema_name)) "
            "IS NOT NULL FROM schools_school WHERE schema_name <> %s AND NOT is_template "
            "ORDER BY id",
            [get_public_schema_name()],
        )
        rows = cursor.fetchall()
    schemas, broken = [], []
    for schema_name, has_tables in rows:
        if has_tables and not schema_name_is_system(schema_name):
            schemas.append(schema_name)
        else:
            broken.append(schema_name)
    if broken:
        logger.warning(
            "schools without a schema of their own were skipped (%s); run "
            "`manage.py schools_repair_schemas`",
            ", ".join(broken),
        )
    return schemas


def for_each_school(task) -> int:
    """Enqueue `task` (a tenant-aware Celery task taking no arguments) once per school."""
    count = 0
    schemas = school_schemas_in_service()
    for school in School.objects.filter(schema_name__in=schemas).only("pk", "schema_name"):
        with tenant_context(school):
            task.delay()
        count += 1
    return count


def for_each_school_schema(task) -> int:
    """Enqueue `task` once per school, naming the schema in the message headers (as
    tenant-schemas-celery reads it), without loading the schools."""
    schemas = school_schemas_in_service()
    for schema_name in schemas:
        task.apply_async(headers={"_schema_name": schema_name})
    return len(schemas)
