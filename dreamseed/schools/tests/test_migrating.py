"""Migrating every school in batches, resuming after an interruption (dreamseed/schools/migrating.py)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dreamseed.schools import cloning
from dreamseed.schools.migrating import schema_migrate, schemas_migrate
from dreamseed.schools.services import school_create

# A migration every school has, reversible, that nothing depends on: the audit log's table.
APP, MIGRATION = "privacy", "0001_initial"


def _school(subdomain):
    return school_create(
        name=subdomain.title(),
        subdomain=subdomain,
        admin_email=f"admin@{subdomain}.example",
        admin_first_name="Ada",
        admin_last_name="Admin",
        admin_password="a-long-enough-password-1",
    ).school.schema_name


def _unapply(schema_name):
    """Put the school back to before the migration (as if it were new in this deploy)."""
    connection.set_schema(schema_name)
    executor = MigrationExecutor(connection)
    executor.migrate([(APP, None)])
    connection.set_schema_to_public()


def _has_it(schema_name):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {schema_name}.django_migrations "
            "WHERE app = %s AND name = %s), to_regclass(%s) IS NOT NULL",
            [APP, MIGRATION, f"{schema_name}.privacy_auditevent"],
        )
        recorded, table = cursor.fetchone()
    assert recorded == table, schema_name  # never one without the other
    return recorded


@pytest.mark.parametrize("replay", [True, False], ids=["sql-replayed", "django-executor"])
def test_an_interrupted_run_resumes_where_it_stopped(personas, db, replay):
    schemas = sorted(["alpha", "beta", _school("gamma"), _school("delta")])
    for schema_name in schemas:
        _unapply(schema_name)
        assert not _has_it(schema_name)
    lines = []
    # Interrupted after the first batch of two schools.
    first = schemas_migrate(
        schemas,
        processes=1,
        batch_size=2,
        replay=replay,
        report=lambda progress: lines.append(progress.line()),
        stop=lambda progress: progress.done >= 2,
    )
    assert (first.done, first.migrated, first.failed) == (2, 2, [])
    assert [_has_it(name) for name in schemas] == [True, True, False, False]
    assert lines and lines[0].startswith("2/4 schemas (2 migrated, 0 failed)")
    # Run again: the two done cost a look each, the other two are migrated.
    second = schemas_migrate(schemas, processes=1, batch_size=2, replay=replay)
    assert (second.done, second.migrated, second.failed) == (4, 2, [])
    assert all(_has_it(name) for name in schemas)
    template = cloning.schema_signature("template_school")
    for schema_name in schemas:
        assert cloning.schema_signature(schema_name) == template, schema_name
    # And once more: nothing left to do anywhere.
    assert schemas_migrate(schemas, processes=1).migrated == 0


def test_a_failing_school_is_named_and_the_others_go_on(personas, db):
    schemas = ["alpha", "beta"]
    for schema_name in schemas:
        _unapply(schema_name)
    with connection.cursor() as cursor:  # a table in the way of the migration, in alpha only
        cursor.execute("CREATE TABLE alpha.privacy_auditevent (id int)")
    progress = schemas_migrate(schemas, processes=1, batch_size=1)
    assert [name for name, _error in progress.failed] == ["alpha"]
    assert "privacy_auditevent" in progress.failed[0][1]
    assert _has_it("beta")
    assert schema_migrate("beta").applied == []
