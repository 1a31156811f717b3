"""Results pages benchmark: server time and query counts of the class page, class statistics,
groups and student page for a class of 40 students with 20 sittings each (800 sittings, 16,000
answers), and of the school statistics page for a school of 2,000 students and 40,000 sittings.

    .venv/bin/python bench/results_pages.py [--runs 15]

Targets (issue 17): class page, class statistics and student page each in a fixed number of
queries and under 150 ms of server time; school statistics under 500 ms.

Runs in a database of its own on the embedded PostgreSQL (`python -m dreamseed.devstack up`),
created and migrated at start and dropped at the end: it neither reads nor changes the
development data. Rows are written with bulk INSERTs (a few seconds); the other 49 classes'
sittings carry no answers (the school statistics page reads sittings only). "Server time" is the
whole request through Django's test client in this process (middleware, views, SQL, templates),
median and min of --runs after one warm-up request; the query count is of the last run. On a
busy machine the median includes waiting for a CPU: the min is the least disturbed request.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

DB_NAME = f"dreamseed_bench_results_{os.getpid()}"
CLASSES = 50
STUDENTS_PER_CLASS = 40
TESTS_PER_CLASS = 20
ANSWERS_PER_SITTING = 20
AREAS = ("Algebra", "Arithmetic", "Geometry", "Statistics")


def admin_connection():
    import psycopg

    port = int(os.environ.get("DREAMSEED_PG_PORT", "54329"))
    return psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
    ), f"postgres://postgres@127.0.0.1:{port}/{DB_NAME}"


def create_database() -> str:
    connection, url = admin_connection()
    with connection:
        connection.execute(f'CREATE DATABASE "{DB_NAME}"')
    return url


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    connection, _ = admin_connection()
    with connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [DB_NAME],
        )
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')


def setup_django(url: str):
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    from dreamseed.schools.services import platform_bootstrap, school_create

    platform_bootstrap()
    created = school_create(
        name="Bench School",
        subdomain="bench",
        admin_email="admin@bench.example",
        admin_first_name="Bench",
        admin_last_name="Admin",
        admin_password="bench-password-not-secret",
    )
    print(f"database, schemas and school ready in {time.perf_counter() - started:.1f} s")
    return created.school


def fill(school):
    """50 classes x 40 students, 20 tests each, every student finished every test; the first
    class's sittings have 20 answers each. Returns (teacher, first class, one student)."""
    from django.db import connection
    from django.utils import timezone

    from dreamseed.accounts.models import Role, User
    from dreamseed.assessments.models import Assessment, Assignment, Attempt, ExamSession
    from dreamseed.assessments.tests.factories import make_bank
    from dreamseed.classes.models import Class, ClassTeacher, Enrollment, StudentProfile

    started = time.perf_counter()
    connection.set_tenant(school)
    rng = random.Random(17)
    now = timezone.now()
    teacher = User.objects.create_user(
        username="teacher@bench.example", first_name="Tina", last_name="Teacher",
        role=Role.TEACHER, email="teacher@bench.example",
    )  # fmt: skip
    items = make_bank(n=200, seed=5, areas=AREAS)
    versions = {item.pk: item.current_version_id for item in items}
    students = User.objects.bulk_create(
        [
            User(username=f"s{index:04d}", first_name=f"First{index:04d}",
                 last_name=f"Last{index:04d}", role=Role.STUDENT, password="!")
            for index in range(CLASSES * STUDENTS_PER_CLASS)
        ],
        batch_size=1000,
    )  # fmt: skip
    StudentProfile.objects.bulk_create([StudentProfile(user=s, grade="7") for s in students])
    classes = Class.objects.bulk_create(
        [Class(name=f"7-{number:02d}", subject="Math", grade="7") for number in range(CLASSES)]
    )
    ClassTeacher.objects.bulk_create(
        [ClassTeacher(school_class=c, teacher=teacher) for c in classes]
    )
    roster = {
        c.pk: students[number * STUDENTS_PER_CLASS : (number + 1) * STUDENTS_PER_CLASS]
        for number, c in enumerate(classes)
    }
    Enrollment.objects.bulk_create(
        [
            Enrollment(school_class_id=pk, student=s)
            for pk, members in roster.items()
            for s in members
        ]
    )
    tests = Assessment.objects.bulk_create(
        [Assessment(name=f"Check {n + 1:02d}", created_by=teacher) for n in range(TESTS_PER_CLASS)]
    )
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                assessment=test, school_class=c,
                opens_at=now - timedelta(days=7 * (TESTS_PER_CLASS - n) + 1),
                closes_at=now - timedelta(days=7 * (TESTS_PER_CLASS - n)) + timedelta(hours=1)
                if n < TESTS_PER_CLASS - 1 else now + timedelta(days=3),
            )
            for c in classes for n, test in enumerate(tests)
        ]
    )  # fmt: skip
    sessions = []
    ability = {s.pk: rng.gauss(0, 1) for s in students}
    for assignment in assignments:
        week = tests.index(assignment.assessment)
        for student in roster[assignment.school_class_id]:
            theta = ability[student.pk] + 0.03 * week + rng.gauss(0, 0.25)
            se = rng.uniform(0.25, 0.4)
            ended = assignment.opens_at + timedelta(hours=rng.uniform(1, 20))
            sessions.append(ExamSession(
                assignment=assignment, student=student, status="completed", theta=theta,
                standard_error=se, score=200 + 10 * theta, n_items=ANSWERS_PER_SITTING,
                started_at=ended - timedelta(minutes=15), ended_at=ended, last_activity_at=ended,
            ))  # fmt: skip
    sessions = ExamSession.objects.bulk_create(sessions, batch_size=2000)
    first = classes[0]
    attempts = []
    for session in sessions:
        if session.assignment.school_class_id != first.pk:
            continue
        for position, item in enumerate(rng.sample(items, ANSWERS_PER_SITTING), start=1):
            p = 0.2 + 0.8 / (1 + pow(2.718281828, -item.a * (session.theta - item.b)))
            attempts.append(Attempt(
                session=session, position=position, item=item, item_version_id=versions[item.pk],
                selected_choice="B", correct=rng.random() < p, response_time_ms=20_000,
                a=item.a, b=item.b, c=item.c, d=item.d, theta_after=session.theta,
                se_after=session.standard_error,
            ))  # fmt: skip
    Attempt.objects.bulk_create(attempts, batch_size=4000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"filled {len(students)} students, {len(classes)} classes, {len(assignments)} "
        f"assignments, {len(sessions)} sittings, {len(attempts)} answers "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return teacher, first, roster[first.pk][0]


def measure(client, url: str, runs: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm up
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(times), min(times), len(queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    url = create_database()
    try:
        school = setup_django(url)
        teacher, school_class, student = fill(school)
        from django.test import Client

        client = Client(HTTP_HOST=school.primary_host)
        client.force_login(teacher, backend="dreamseed.accounts.backends.AccountBackend")
        pages = [
            ("class page (40 students, 800 sittings)", f"/classes/{school_class.pk}/", 150),
            ("class statistics", f"/classes/{school_class.pk}/statistics/", 150),
            ("instructional groups", f"/classes/{school_class.pk}/groups/", 150),
            ("student page (20 sittings)", f"/classes/students/{student.pk}/", 150),
            ("API class statistics", f"/api/classes/{school_class.pk}/statistics/", 150),
            ("school statistics (2,000 students, 40,000 sittings)", "/classes/statistics/", 500),
        ]
        print(f"\n{'page':55} {'median ms':>10} {'min ms':>8} {'queries':>8}  target (median)")
        for label, path, target in pages:
            median, best, queries = measure(client, path, args.runs)
            verdict = "MET" if median < target else "MISSED"
            print(f"{label:55} {median:10.1f} {best:8.1f} {queries:8d}  < {target} ms {verdict}")
        if os.getloadavg()[0] > (os.cpu_count() or 1):
            print(
                f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs while "
                "measuring: times include waiting for a CPU; the min column is the least disturbed"
            )
    finally:
        drop_database()


if __name__ == "__main__":
    main()
