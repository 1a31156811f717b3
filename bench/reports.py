"""PDF report benchmark: worker time of a 30-student class report (target < 3 s) and wall time of
1,000 student reports made by real Celery worker processes (target < 3 minutes).

    .venv/bin/python bench/reports.py [--reports 1000] [--concurrency 2] [--profile]

Runs in a database of its own on the embedded PostgreSQL (`python -m dreamseed.devstack up`),
created and migrated at start and dropped at the end, with a throw-away school, media folder
and Celery queue: it neither reads nor changes the development data, and `make run`'s worker
never sees its tasks. What it measures:

(a) class report, worker time: `report_render` called directly (what the task runs), for a
    class of 30 finished students (20 questions each, two content areas); the first render of a
    process is reported apart, because it pays WeasyPrint's import and font set-up once;
(b) the same class as a ZIP bundle of 30 student reports;
(c) N student reports (default 1,000, distinct students in 40 classes) queued at once to a real
    `celery worker --concurrency 2` (two processes), timed from the first message sent to the
    last report finished; worker start-up is timed apart (it happens once per deploy).
"""

import argparse
import cProfile
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

DB_NAME = f"dreamseed_bench_reports_{os.getpid()}"
MEDIA = Path(tempfile.mkdtemp(prefix="dreamseed-bench-media-"))
QUEUE = f"bench-reports-{os.getpid()}"


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
    connection, _ = admin_connection()
    with connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [DB_NAME],
        )
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')


def setup_django(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = str(MEDIA)
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


def build(school, *, classes: int, per_class: int, prefix: str):
    """`classes` classes of `per_class` students who all finished the same 20-question test."""
    from django.db import connection

    from dreamseed.accounts.models import Role, User
    from dreamseed.assessments.models import Assessment
    from dreamseed.assessments.tests.factories import (
        make_assessment,
        make_assignment,
        make_bank,
        make_class,
    )
    from dreamseed.itembank.models import Item
    from dreamseed.reports.tests.factories import (
        KOREAN_STUDENTS,
        make_finished_sessions,
        make_students,
    )

    started = time.perf_counter()
    connection.set_tenant(school)
    teacher = User.objects.filter(username="teacher@bench.example").first()
    if teacher is None:
        teacher = User.objects.create_user(
            username="teacher@bench.example", first_name="Tina", last_name="Teacher",
            role=Role.TEACHER, email="teacher@bench.example",
        )  # fmt: skip
        make_bank(n=300, seed=5, areas=("Algebra", "Arithmetic", "Geometry"))
        make_assessment(author=teacher, name="Grade 7 maths", max_items=20)
    items = list(Item.objects.exclude(b=None))
    assessment = Assessment.objects.get(name="Grade 7 maths")
    english = [(f"Student{index:02d}", name) for index, name in enumerate(
        ["Garcia", "Smith", "Nguyen", "Okafor", "Kowalski", "Haddad", "Silva", "Brown"]
    )]  # fmt: skip
    assignments = []
    for number in range(classes):
        students = make_students(
            prefix=f"{prefix}{number:02d}s", count=per_class, names=KOREAN_STUDENTS + english
        )
        school_class = make_class(
            teacher=teacher, students=students, name=f"7-{prefix}{number + 1}"
        )
        assignment = make_assignment(assessment=assessment, school_class=school_class)
        make_finished_sessions(
            assignment=assignment, students=students, items=items, seed=number, length=20
        )
        assignments.append(assignment)
    print(
        f"built {classes} classes x {per_class} finished students (20 answers each) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return teacher, assignments


def render_class_report(teacher, assignment, kind="class"):
    from dreamseed.reports import services

    report = services.report_request(kind=kind, assignment=assignment, requested_by=teacher)
    started = time.perf_counter()
    report = services.report_render(report_id=report.pk)
    seconds = time.perf_counter() - started
    assert report.status == "succeeded", report.error
    return seconds, report


def bench_class_report(teacher, assignment, runs: int = 5):
    from dreamseed.reports.models import Report

    cold, report = render_class_report(teacher, assignment)
    warm = []
    for _ in range(runs):
        Report.objects.all().delete()  # no reuse of the report just made
        seconds, report = render_class_report(teacher, assignment)
        warm.append(seconds)
    print(
        f"(a) class report, 30 students: first in process {cold:.2f} s, then median "
        f"{statistics.median(warm):.2f} s (min {min(warm):.2f}, max {max(warm):.2f}) "
        f"over {runs}; {report.file.size / 1024:.0f} KiB"
    )
    Report.objects.all().delete()
    seconds, report = render_class_report(teacher, assignment, kind="class_bundle")
    print(
        f"(b) bundle of 30 student reports (ZIP): {seconds:.2f} s, "
        f"{seconds / 30 * 1000:.0f} ms per student, {report.file.size / 1024:.0f} KiB"
    )
    return statistics.median(warm)


def profile_student_reports(teacher, assignments, count: int = 30):
    from dreamseed.assessments.models import ExamSession
    from dreamseed.reports import services
    from dreamseed.reports.models import ReportKind

    sessions = list(ExamSession.objects.filter(assignment=assignments[0])[:count])
    reports = [
        services.report_request(kind=ReportKind.STUDENT, session=s, requested_by=teacher)
        for s in sessions
    ]
    services.report_render(report_id=reports[0].pk)  # warm up
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for report in reports[1:]:
        services.report_render(report_id=report.pk)
    profiler.disable()
    each = (time.perf_counter() - started) / (len(reports) - 1)
    print(f"in-process student report: {each * 1000:.0f} ms each")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def start_worker(url: str, concurrency: int):
    from dreamseed.celery import app

    log = open(MEDIA / "worker.log", "w")  # noqa: SIM115 - the worker writes to it until stopped
    env = {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(MEDIA)}
    hostname = f"bench-{os.getpid()}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dreamseed", "worker", "--loglevel", "WARNING",
         "--concurrency", str(concurrency), "--queues", QUEUE, "--hostname", f"{hostname}@%h",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    while True:
        if process.poll() is not None:
            raise RuntimeError((MEDIA / "worker.log").read_text()[-3000:])
        replies = app.control.ping(timeout=0.5) or []
        if any(hostname in next(iter(reply)) for reply in replies):
            break
    print(f"worker ({concurrency} processes) answered in {time.perf_counter() - started:.1f} s")
    return process


def _pool_cpu_seconds(parent: int) -> float:
    """CPU seconds (user + system) of the worker's pool processes, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:  # ppid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def bench_many_student_reports(teacher, assignments, *, count: int, concurrency: int, url: str):
    from django.db import connection
    from django.db.models import Max, Min

    from dreamseed.assessments.models import ExamSession
    from dreamseed.reports.models import Report, ReportKind, ReportStatus
    from dreamseed.reports.tasks import report_generate

    sessions = list(ExamSession.objects.filter(assignment__in=assignments).order_by("pk")[:count])
    reports = Report.objects.bulk_create(
        [
            Report(
                kind=ReportKind.STUDENT,
                session=session,
                requested_by=teacher,
                language="ko" if index % 3 == 0 else "en",
                paper="a4" if index % 2 else "letter",
                task_id=str(uuid.uuid4()),
            )
            for index, session in enumerate(sessions)
        ]
    )
    process = start_worker(url, concurrency)
    try:
        started = time.perf_counter()
        for report in reports:
            report_generate.apply_async(
                args=[report.pk],
                task_id=report.task_id,
                queue=QUEUE,
                headers={"_schema_name": connection.schema_name},
            )
        sent = time.perf_counter() - started
        pending = Report.objects.filter(pk__in=[r.pk for r in reports]).exclude(
            status__in=[ReportStatus.SUCCEEDED, ReportStatus.FAILED]
        )
        while pending.exists():
            time.sleep(0.25)
        wall = time.perf_counter() - started
        pool_cpu = _pool_cpu_seconds(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        # wait4: the worker's CPU time, its pool processes' included (it reaps them on exit).
        _, _, usage = os.wait4(process.pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
    done = Report.objects.filter(pk__in=[r.pk for r in reports])
    failed = done.filter(status=ReportStatus.FAILED).count()
    span = done.aggregate(first=Min("started_at"), last=Max("finished_at"))
    durations = [
        (r.finished_at - r.started_at).total_seconds()
        for r in done.only("started_at", "finished_at").order_by("started_at")
    ]
    early, late = durations[:200], durations[-200:]
    sizes = [r.file.size for r in done.filter(status=ReportStatus.SUCCEEDED)[:50]]
    print(
        f"(c) {len(reports)} student reports, {concurrency} worker processes: {wall:.1f} s wall "
        f"({len(reports) / wall:.1f} reports/s; sending took {sent:.1f} s), {failed} failed; "
        f"per report in the worker: median {statistics.median(durations) * 1000:.0f} ms, "
        f"p95 {sorted(durations)[int(len(durations) * 0.95)] * 1000:.0f} ms; "
        f"first start to last finish {(span['last'] - span['first']).total_seconds():.1f} s; "
        f"~{statistics.fmean(sizes) / 1024:.0f} KiB each"
    )
    print(
        f"    in the worker, first 200 reports: median {statistics.median(early) * 1000:.0f} ms; "
        f"last 200: {statistics.median(late) * 1000:.0f} ms; pool processes' CPU "
        f"{pool_cpu:.1f} s, main process {cpu - pool_cpu:.1f} s"
    )
    print(
        f"    worker CPU time (all processes, start-up included): {cpu:.1f} s = "
        f"{cpu / len(reports) * 1000:.0f} ms per report; at 2 free cores that is "
        f"{cpu / concurrency:.0f} s of wall time"
    )
    return wall, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="profile 30 student reports")
    args = parser.parse_args()
    classes = max(2, -(-args.reports // 25))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    url = create_database()
    try:
        school = setup_django(url)
        teacher, assignments = build(school, classes=1, per_class=30, prefix="a")
        class_seconds = bench_class_report(teacher, assignments[0])
        if args.profile:
            profile_student_reports(teacher, assignments)
            return
        _, more = build(school, classes=classes, per_class=25, prefix="b")
        wall, failed = bench_many_student_reports(
            teacher, more, count=args.reports, concurrency=args.concurrency, url=url
        )
        print(f"machine load average {os.getloadavg()[0]:.1f} at the end (other jobs share it)")
        print()
        met = "MET" if class_seconds < 3 else "MISSED"
        print(f"target: class report < 3 s worker time: {class_seconds:.2f} s {met}")
        met = "MET" if wall < 180 and not failed else "MISSED"
        print(
            f"target: {args.reports} student reports < 180 s with {args.concurrency} "
            f"processes: {wall:.1f} s {met}"
        )
        print(f"target: < 30 s per report: worst case above, {'MET' if not failed else 'MISSED'}")
    finally:
        from django.db import connections

        from dreamseed.reports import rendering

        rendering.reset()  # before interpreter shutdown, or WeasyPrint's __del__ complains
        connections.close_all()
        drop_database()
        shutil.rmtree(MEDIA, ignore_errors=True)


if __name__ == "__main__":
    main()
