"""Which schools work that visits every school (the beat jobs' passes, /metrics) goes to.

Only schools whose schema really holds a school's tables are visited. A broken one (a row made
before signup refused PostgreSQL's own schema names, or whose schema was dropped) is left out
with a warning naming it, so that it cannot fail every school's job or scrape;
`manage.py schools_repair_schemas` repairs it.
"""

import logging

from django.db import connection
from django_tenants.utils import get_public_schema_name

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
