"""What thousands of schools cost: signup, the periodic passes, migrations, connection memory,
relations per school (issue 20; docs/scaling.md has the numbers and what they mean).

Use a database of its own (it fills it with N schools and leaves them there, so a second run at
a larger N only adds the difference):

    createdb scale_bench   # or CREATE DATABASE through psql / Python
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/scale_bench \\
        .venv/bin/python manage.py migrate_schools
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/scale_bench \\
        .venv/bin/python bench/many_schools.py --schools 1000 [--processes 2] [--skip-migrate]

The bulk of the schools is made by the fast path (the product's schema clone, a School row and a
domain; no admin user). Signup is then timed through the product's own `school_create`, and the
schools it made are removed again.
"""

import argparse
import os
import statistics
import sys
import time
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from dreamseed.core import sweeps  # noqa: E402
from dreamseed.core.tenancy import school_schemas_in_service  # noqa: E402
from dreamseed.schools.models import Domain, School  # noqa: E402
from dreamseed.schools.services import platform_bootstrap, school_create  # noqa: E402

PREFIX = "fill"
TEMPLATE = settings.SCHOOL_TEMPLATE_SCHEMA


def _fill_one(index: int) -> None:
    schema_name = f"{PREFIX}{index:05d}"
    with transaction.atomic():
        school = School(schema_name=schema_name, name=f"Fill {index}")
        school.save(verbosity=0)  # clones the template (dreamseed/schools/cloning.py)
        Domain.objects.create(
            domain=f"{PREFIX}{index:05d}.{settings.BASE_DOMAIN}", tenant=school, is_primary=True
        )


def _fill_batch(indexes: list[int]) -> int:
    for index in indexes:
        _fill_one(index)
    connection.close()
    return len(indexes)


def fill(target: int, processes: int) -> None:
    existing = set(
        School.objects.filter(schema_name__startswith=PREFIX).values_list("schema_name", flat=True)
    )
    missing = [i for i in range(target) if f"{PREFIX}{i:05d}" not in existing]
    if not missing:
        return
    print(f"filling {len(missing)} schools (fast path, {processes} processes)...", flush=True)
    started = time.perf_counter()
    batches = [missing[start : start + 20] for start in range(0, len(missing), 20)]
    connections.close_all()
    done = 0
    with get_context("fork").Pool(processes) as pool:
        for count in pool.imap_unordered(_fill_batch, batches):
            done += count
            if done % 200 < 20:
                print(
                    f"  {done}/{len(missing)} in {time.perf_counter() - started:.0f} s", flush=True
                )
    print(f"  filled in {time.perf_counter() - started:.0f} s", flush=True)


def _ms(values):
    values = sorted(v * 1000 for v in values)
    return f"median {statistics.median(values):6.0f} ms  max {values[-1]:6.0f} ms"


def signup(count: int) -> None:
    stamp = int(time.time()) % 100000
    totals, clones = [], []
    try:
        for index in range(count):
            created = school_create(
                name=f"Signup {index}",
                subdomain=f"signup{stamp}-{index}",
                admin_email=f"admin{index}@bench.example",
                admin_first_name="Bench",
                admin_last_name="Admin",
                admin_password="bench-password-long-enough",
            )
            totals.append(created.seconds)
            clones.append(created.schema_seconds)
    finally:
        for school in School.objects.filter(schema_name__startswith=f"signup{stamp}_"):
            school.delete(force_drop=True)
    print(f"signup, whole (clone + rows + admin password hash): {_ms(totals)}")
    print(
        f"signup, schema clone (one round trip: database time): {_ms(clones[1:] or clones)}"
        "   target < 300 ms"
    )


def passes(schools: list[str]) -> None:
    print(f"periodic passes over {len(schools)} schools (in this one process):")
    for name, job in sweeps.JOBS.items():
        started = time.perf_counter()
        targets = sweeps.sweep_schools(job)
        read = time.perf_counter() - started
        result = sweeps.sweep_run(name, targets)
        seconds = read + result.seconds
        per_school = seconds / max(1, len(targets)) * 1000
        failed = f", {len(result.failed)} failed" if result.failed else ""
        print(
            f"  {name:26s} {len(targets):5d} schools  {seconds:7.2f} s  "
            f"({per_school:5.1f} ms a school{failed})"
        )


def backend_memory_mb(cursor) -> float:
    cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
    return float(cursor.fetchone()[0]) / 1e6


def connection_memory(schools: list[str]) -> None:
    import psycopg

    sample = schools[:500]
    url = settings.DATABASE_URL
    touch = (
        "SELECT u.id FROM accounts_user u LEFT JOIN classes_enrollment e ON e.student_id = u.id "
        "WHERE u.id = 0; SELECT s.id FROM assessments_examsession s JOIN assessments_assignment a "
        "ON a.id = s.assignment_id WHERE s.id = 0; SELECT id FROM itembank_item WHERE id = 0"
    )
    for limit in (0, settings.DATABASE_MAX_SCHOOLS_PER_CONNECTION):
        peak = 0.0
        raw = psycopg.connect(url, autocommit=True)
        start = backend_memory_mb(raw.cursor())
        for served, schema_name in enumerate(sample, 1):
            raw.execute(f"SET search_path = {schema_name}, public")
            raw.execute(touch)
            if limit and served % limit == 0:
                peak = max(peak, backend_memory_mb(raw.cursor()))
                raw.close()
                raw = psycopg.connect(url, autocommit=True)
        peak = max(peak, backend_memory_mb(raw.cursor()))
        raw.close()
        label = f"recycled every {limit} schools" if limit else "one connection, never recycled"
        print(
            f"connection memory after {len(sample)} schools, {label}: "
            f"{start:.1f} MB at start, {peak:.1f} MB at most"
        )


def relations() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind, count(*) FROM pg_class c WHERE c.relnamespace = %s::regnamespace "
            "GROUP BY 1 ORDER BY 1",
            [TEMPLATE],
        )
        kinds = dict(cursor.fetchall())
        cursor.execute(
            "SELECT count(*) FROM pg_class t JOIN pg_class c ON c.reltoastrelid = t.oid "
            "WHERE c.relnamespace = %s::regnamespace",
            [TEMPLATE],
        )
        toast = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*), pg_size_pretty(pg_total_relation_size('pg_class')) FROM pg_class"
        )
        all_relations, pg_class_size = cursor.fetchone()
    own = sum(kinds.values())
    print(
        f"relations per school: {own + 2 * toast} ({kinds.get('r', 0)} tables, "
        f"{kinds.get('i', 0)} indexes, {kinds.get('S', 0)} sequences, {toast} TOAST tables "
        f"and their {toast} indexes); pg_class holds {all_relations} rows ({pg_class_size})"
    )


def migrate(schools: list[str], processes: int) -> None:
    started = time.perf_counter()
    call_command("migrate_schools", processes=processes, skip_shared=True, verbosity=0)
    print(f"migrate_schools, nothing to migrate: {time.perf_counter() - started:.1f} s")
    # One trivial migration everywhere: the audit log's table, as if it were new in this deploy.
    with connection.cursor() as cursor:
        for schema_name in schools:
            cursor.execute(
                f"DROP TABLE {schema_name}.privacy_auditevent; DELETE FROM "
                f"{schema_name}.django_migrations WHERE app = 'privacy'"
            )
    started = time.perf_counter()
    call_command("migrate_schools", processes=processes, skip_shared=True, verbosity=0)
    seconds = time.perf_counter() - started
    print(
        f"migrate_schools, one trivial migration in {len(schools)} schools: {seconds:.1f} s "
        f"({len(schools) / seconds:.1f} schools/s, {processes} processes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, default=10)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--signups", type=int, default=6)
    parser.add_argument("--skip-migrate", action="store_true")
    args = parser.parse_args()
    if not settings.DATABASE_URL.rstrip("/").endswith("scale_bench") and "--force" not in sys.argv:
        print("Point DATABASE_URL at a database of its own (…/scale_bench): this fills it.")
    platform_bootstrap()
    fill(args.schools, args.processes)
    connection.set_schema_to_public()
    schools = sorted(school_schemas_in_service())
    print(f"schools in the database: {len(schools)}")
    relations()
    signup(args.signups)
    passes(schools)
    connection_memory(schools)
    if not args.skip_migrate:
        migrate(schools, args.processes)


if __name__ == "__main__":
    main()
