"""Which schema names a school may have. A signup address becomes a PostgreSQL schema name, so it
is attacker-chosen: a name PostgreSQL already uses would put the school's tables somewhere else.

`information_schema`, for one, exists in every database: a school created with it got no tables
of its own, and its writes resolved (through the search_path) to the public schema's tables, the
platform operator's. So a new school's schema must be new: not reserved by PostgreSQL, not the
public or template schema, and not present in the database at all.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext_lazy as _

# Lower-case SQL identifiers only (what school_schema_name makes of a valid address): nothing that
# needs quoting, nothing PostgreSQL would fold.
SCHEMA_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")
# PostgreSQL keeps every `pg_` name for itself (pg_catalog, pg_toast, pg_temp_N...) and the SQL
# standard's information_schema exists in every database.
POSTGRES_RESERVED_PREFIXES = ("pg_",)
POSTGRES_RESERVED_SCHEMAS = frozenset(["information_schema", "public"])


def schema_name_is_system(schema_name: str) -> bool:
    """True for a name PostgreSQL or the platform owns: never a school's own schema."""
    name = (schema_name or "").lower()
    return (
        name.startswith(POSTGRES_RESERVED_PREFIXES)
        or name in POSTGRES_RESERVED_SCHEMAS
        or name == settings.SCHOOL_TEMPLATE_SCHEMA.lower()
    )


def schema_exists_anyhow(schema_name: str) -> bool:
    """True if PostgreSQL has a schema of this name, compared ignoring case (django-tenants treats
    names differing in case as one tenant)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace "
            "WHERE lower(nspname) = lower(%s))",
            [schema_name],
        )
        return cursor.fetchone()[0]


def schema_name_check_new(schema_name: str) -> None:
    """Raise ValidationError (code "reserved" or "invalid") unless `schema_name` may become a new
    school's schema."""
    if not SCHEMA_NAME_PATTERN.match(schema_name or ""):
        raise ValidationError(
            _(
                "A schema name is 1 to 63 lowercase letters, digits or underscores, starting "
                "with a letter."
            ),
            code="invalid",
        )
    if schema_name_is_system(schema_name) or schema_exists_anyhow(schema_name):
        raise ValidationError(
            _("The schema name “%(schema)s” is reserved: PostgreSQL or DreamSeed uses it."),
            code="reserved",
            params={"schema": schema_name},
        )
