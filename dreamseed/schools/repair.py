"""Finding and repairing schools created before signup refused reserved names.

Two kinds: a school whose schema is not its own (PostgreSQL's `information_schema`, a system or
dropped schema) got no tables, and its writes went through the search_path to the public schema:
its first admin (and their sessions) sit in the platform operator's user table. The repair gives
the school a fresh schema cloned from the template, moves those people into it and out of public,
and keeps the school's address. A school at an address now reserved for the platform (operator,
metrics...) works but is misleading: it is reported, and moved to a new address on request.
"""

from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context

from dreamseed.schools.models import Domain, School
from dreamseed.schools.names import schema_exists_anyhow, schema_name_is_system
from dreamseed.schools.services import (
    RESERVED_SUBDOMAINS,
    school_host,
    school_normalise_subdomain,
    school_validate_subdomain,
)


@dataclass(frozen=True)
class BrokenSchool:
    school: School
    reason: str


def _has_own_tables(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(format('%%I.django_migrations', %s::text)) IS NOT NULL",
            [schema_name],
        )
        return cursor.fetchone()[0]


def schools_broken() -> list[BrokenSchool]:
    """Schools (not the public site's row, not the template) without a schema of their own."""
    broken = []
    for school in School.objects.real().order_by("pk"):
        if schema_name_is_system(school.schema_name):
            broken.append(BrokenSchool(school, "its schema is one PostgreSQL or DreamSeed uses"))
        elif not _has_own_tables(school.schema_name):
            broken.append(BrokenSchool(school, "its schema has no school tables"))
    return broken


def schools_at_reserved_addresses() -> list[Domain]:
    base = school_host("")
    domains = Domain.objects.filter(tenant__in=School.objects.real()).select_related("tenant")
    return [
        domain
        for domain in domains.order_by("pk")
        if domain.domain.endswith(base) and domain.domain.removesuffix(base) in RESERVED_SUBDOMAINS
    ]


def _fresh_schema_name(school: School) -> str:
    candidate, suffix = f"school_{school.pk}", 1
    while schema_exists_anyhow(candidate) or School.objects.filter(schema_name=candidate).exists():
        suffix += 1
        candidate = f"school_{school.pk}_{suffix}"
    return candidate


def _stray_users(school: School, source_schema: str) -> list[int]:
    """Ids of the people the broken school wrote into `source_schema`'s user table.

    In the public schema, the operator's own accounts (staff, superusers) are never theirs, nor
    anyone who joined before the school existed.
    """
    from dreamseed.accounts.models import User

    with schema_context(source_schema):
        users = User.objects.all()
        if source_schema == get_public_schema_name():
            users = users.filter(is_staff=False, is_superuser=False)
            users = users.filter(date_joined__gte=school.created)
        return list(users.values_list("pk", flat=True))


def _move_users(ids: list[int], source_schema: str, target_schema: str) -> None:
    from dreamseed.accounts.models import User

    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in User._meta.concrete_fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(target_schema)}.accounts_user ({columns}) "
            f"SELECT {columns} FROM {quote(source_schema)}.accounts_user WHERE id = ANY(%s)",
            [ids],
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {quote(target_schema)}.accounts_user), false)",
            [f"{quote(target_schema)}.accounts_user"],
        )
    with schema_context(source_schema):
        moved = {str(pk) for pk in ids}
        sessions = [
            session.pk
            for session in Session.objects.all()
            if session.get_decoded().get("_auth_user_id") in moved
        ]
        Session.objects.filter(pk__in=sessions).delete()
    # Plain SQL: the ORM's cascade would look for tenant-only tables (tokens) in public. Rows of
    # the source schema that point at the moved people are theirs too.
    table = f"{quote(source_schema)}.accounts_user"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format('%%I.%%I', n.nspname, r.relname), a.attname FROM pg_constraint c "
            "JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.confrelid = %s::regclass",
            [table],
        )
        for referencing, column in cursor.fetchall():
            cursor.execute(f"DELETE FROM {referencing} WHERE {quote(column)} = ANY(%s)", [ids])
        cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [ids])


@transaction.atomic
def school_repair_schema(*, school: School) -> tuple[str, int]:
    """Give `school` a fresh schema (a clone of the template) and move into it the people it wrote
    elsewhere. Returns (new schema name, number of people moved). One transaction: PostgreSQL DDL
    is transactional, so a failure leaves everything as it was."""
    old_schema = school.schema_name
    with connection.cursor() as cursor:
        # Where the broken school's user table resolved: its own schema, or (no such table there)
        # the public schema, next on the search_path.
        cursor.execute(
            "SELECT to_regclass(format('%%I.accounts_user', %s::text)) IS NOT NULL", [old_schema]
        )
        source = old_schema if cursor.fetchone()[0] else get_public_schema_name()
    if schema_name_is_system(source) and source != get_public_schema_name():
        source = get_public_schema_name()
    new_schema = _fresh_schema_name(school)
    ids = _stray_users(school, source)
    school.schema_name = new_schema
    school.create_schema(check_if_exists=False, verbosity=0)
    if ids:
        _move_users(ids, source, new_schema)
    School.objects.filter(pk=school.pk).update(schema_name=new_schema)
    connection.set_schema_to_public()
    return new_schema, len(ids)


@transaction.atomic
def school_readdress(*, domain: Domain, new_subdomain: str) -> Domain:
    """Move a school from a reserved address to `new_subdomain` (validated like a signup's)."""
    new_subdomain = school_normalise_subdomain(new_subdomain)
    school_validate_subdomain(new_subdomain)
    domain.domain = school_host(new_subdomain)
    domain.save(update_fields=["domain"])
    return domain
