"""Backups that restore: a whole-platform dump of a two-school database restores table for
table, and one school moves into another database with its domain and files, verified."""

import io
import json
import shutil
import subprocess
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from dreamseed.backups.services import _libpq, connect, database_fingerprints, pg_tool
from dreamseed.schools.models import Domain, School


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def scratch(committed_db):
    """A new, empty database on the same server, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:10]}"
    source = connection.settings_dict
    with connect(source, dbname="postgres") as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    if "target" in connections.settings:
        connections["target"].close()
        del connections.settings["target"]
    with connect(source, dbname="postgres") as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _dump_platform(path):
    """The documented backup: pg_dump -Fc of the whole database."""
    source = connection.settings_dict
    args, env = _libpq(source)
    subprocess.run(
        [pg_tool("pg_dump"), *args, "-d", source["NAME"], "-Fc", "--no-owner", "-f", str(path)],
        env=env,
        check=True,
    )


def _restore(path, database):
    args, env = _libpq(connection.settings_dict)
    subprocess.run(
        [pg_tool("pg_restore"), *args, "-d", database, "--no-owner", "--exit-on-error", str(path)],
        env=env,
        check=True,
    )


def test_a_whole_platform_dump_restores_every_school_table_for_table(scratch, tmp_path):
    dump = tmp_path / "platform.dump"
    _dump_platform(dump)
    _restore(dump, scratch)
    with (
        connect(connection.settings_dict) as source,
        connect(connection.settings_dict, dbname=scratch) as restored,
    ):
        before, after = database_fingerprints(source), database_fingerprints(restored)
    assert {"public", "alpha", "beta", "template_school"} <= set(before)
    assert after == before
    # Not vacuous: the schools' people and the public school rows are there.
    assert before["alpha"]["accounts_user"][0] >= 5 and before["beta"]["accounts_user"][0] >= 3
    assert before["public"]["schools_school"][0] >= 2


def test_one_school_moves_into_another_database_verified(scratch, tmp_path, media, personas):
    # A generated report of alpha's, in the media store.
    report_file = "reports/alpha/2026/12/student-1.pdf"
    default_storage.save(report_file, ContentFile(b"%PDF-1.7 alpha's report"))
    export = tmp_path / "alpha-export"
    out = io.StringIO()
    call_command("school_export", "alpha", str(export), stdout=out)
    assert out.getvalue().startswith("exported alpha:")
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["domains"] == ["alpha.localhost"]
    assert manifest["tables"]["accounts_user"][0] >= 5
    assert report_file in manifest["files"]

    # The target: another database holding the platform without alpha (its schema, rows and
    # files gone), as a second server would be.
    dump = tmp_path / "platform.dump"
    _dump_platform(dump)
    _restore(dump, scratch)
    with connect(connection.settings_dict, dbname=scratch) as target:
        target.execute("DROP SCHEMA alpha CASCADE")
        school_id = target.execute(
            "SELECT id FROM public.schools_school WHERE schema_name = 'alpha'"
        ).fetchone()[0]
        # Every public row that points at the school (its domain, billing records).
        references = target.execute(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
            "WHERE c.contype = 'f' AND c.confrelid = 'public.schools_school'::regclass"
        ).fetchall()
        for table, column in references:
            target.execute(f"DELETE FROM {table} WHERE {column} = %s", [school_id])
        target.execute("DELETE FROM public.schools_school WHERE id = %s", [school_id])
    default_storage.delete(report_file)
    connections.settings["target"] = {**connection.settings_dict, "NAME": scratch}

    # A damaged export is refused, and leaves nothing behind.
    damaged = tmp_path / "damaged"
    shutil.copytree(export, damaged)
    bad = json.loads((damaged / "manifest.json").read_text())
    bad["tables"]["accounts_user"][0] += 1
    (damaged / "manifest.json").write_text(json.dumps(bad))
    with pytest.raises(CommandError, match=r"accounts_user: \d+ rows expected"):
        call_command("school_import", str(damaged), "--database", "target", stdout=io.StringIO())
    with connect(connection.settings_dict, dbname=scratch) as target:
        assert not target.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'alpha'").fetchone()
    assert not School.objects.using("target").filter(schema_name="alpha").exists()
    assert not default_storage.exists(report_file)

    out = io.StringIO()
    call_command("school_import", str(export), "--database", "target", stdout=out)
    assert "match the export" in out.getvalue()
    moved = School.objects.using("target").get(schema_name="alpha")
    assert moved.name == "Alpha School"
    assert Domain.objects.using("target").get(tenant=moved).domain == "alpha.localhost"
    with (
        connect(connection.settings_dict) as source,
        connect(connection.settings_dict, dbname=scratch) as target,
    ):
        assert database_fingerprints(target)["alpha"] == database_fingerprints(source)["alpha"]
    with default_storage.open(report_file, "rb") as handle:
        assert handle.read() == b"%PDF-1.7 alpha's report"

    # Importing again is refused: the school is there now.
    with pytest.raises(CommandError, match="already exists"):
        call_command("school_import", str(export), "--database", "target", stdout=io.StringIO())


def test_exporting_a_school_that_does_not_exist_says_so(committed_db, tmp_path):
    with pytest.raises(CommandError, match="No school has the schema 'nowhere'"):
        call_command("school_export", "nowhere", str(tmp_path / "x"), stdout=io.StringIO())
