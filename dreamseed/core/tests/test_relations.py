"""Every school pays for each of its relations (catalogue rows, per-connection caches, clone
and migration time): no index of ours may be a leading part of another (docs/scaling.md)."""

from django.db import connection

OUR_APPS = ("accounts_", "classes_", "itembank_", "assessments_", "lti_", "reports_", "privacy_")
# Django's own many-to-many tables (auth) come with their indexes as Django makes them.
DJANGOS_OWN = ("accounts_user_groups", "accounts_user_user_permissions")


def test_no_index_of_a_school_duplicates_the_leading_columns_of_another(personas, db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname, i.relname, x.indkey::text, x.indisunique, x.indpred IS NOT NULL, "
            "pg_get_indexdef(x.indexrelid) LIKE '%%pattern_ops%%' "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relnamespace = 'template_school'::regnamespace"
        )
        rows = cursor.fetchall()
    indexes: dict[str, list] = {}
    for table, name, keys, unique, partial, pattern in rows:
        indexes.setdefault(table, []).append((name, keys.split(), unique, partial, pattern))
    redundant = []
    for table, entries in indexes.items():
        if not table.startswith(OUR_APPS) or table in DJANGOS_OWN:
            continue
        for name, keys, unique, partial, pattern in entries:
            if unique or partial:
                continue
            for other, other_keys, _u, other_partial, other_pattern in entries:
                if (
                    other != name
                    and not other_partial
                    and pattern == other_pattern
                    and other_keys[: len(keys)] == keys
                ):
                    redundant.append(f"{table}.{name} (covered by {other})")
                    break
    assert redundant == []
