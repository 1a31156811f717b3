"""Load benchmark: students answering adaptive-test items against gunicorn + PostgreSQL.

    .venv/bin/python bench/load_test.py [--users 12] [--duration 60] [--workers 2] [--threads 3]
                                        [--kill-at 30]

1. Creates (once) a `loadtest` school with students, a class, a 300-item bank and an open
   fixed-length test that may be retaken, in the dev database (start it with
   `python -m dreamseed.devstack up`).
2. Starts gunicorn on 127.0.0.1:8200 (production-like: DEBUG off, persistent connections).
3. Runs locust headless (bench/locustfile.py, FastHttpUser, no think time); statistics are reset
   once every user has signed in, so the figures are for answering only.
4. Prints answers/s and p50/p95/p99 of the answer request, then checks that every answer the
   server acknowledged is in the database.
With --kill-at S, every gunicorn worker is killed with SIGKILL S seconds into the measured
run; the master starts new ones and the students carry on.

Needs requirements/bench.txt (locust, gunicorn): `make bench-load` installs and runs it.
"""

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")
PORT = 8200
SUBDOMAIN = "loadtest"
PASSWORD = "load-test-password"


def setup_data(students: int) -> tuple[int, list[str]]:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from dreamseed.accounts.models import Role, User
    from dreamseed.assessments.models import Assignment
    from dreamseed.assessments.tests.factories import make_assessment, make_bank, make_class
    from dreamseed.schools.models import School
    from dreamseed.schools.services import platform_bootstrap, school_create

    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_bootstrap()
    school = School.objects.filter(schema_name=SUBDOMAIN).first()
    if school is None:
        school = school_create(
            name="Load Test School", subdomain=SUBDOMAIN, admin_email="admin@load.example",
            admin_first_name="Load", admin_last_name="Admin", admin_password=PASSWORD,
        ).school  # fmt: skip
    with schema_context(school.schema_name):
        connection.set_tenant(school)
        school.seats = 100000
        password = make_password(PASSWORD)
        existing = set(User.objects.filter(role=Role.STUDENT).values_list("username", flat=True))
        User.objects.bulk_create([
            User(username=f"load{i:05d}", password=password, role=Role.STUDENT, first_name="Load",
                 last_name=f"{i}")
            for i in range(students) if f"load{i:05d}" not in existing
        ])  # fmt: skip
        teacher, _ = User.objects.get_or_create(
            username="teacher@load.example", defaults={"role": Role.TEACHER}
        )
        assignment = Assignment.objects.filter(assessment__name="Load test").first()
        if assignment is None:
            make_bank(n=300, seed=2026, areas=("Algebra", "Arithmetic", "Geometry"))
            school_class = make_class(teacher=teacher, students=[], name="Load class")
            assessment = make_assessment(
                author=teacher, name="Load test", max_items=20, min_items=20,
                exposure_control="randomesque",
            )  # fmt: skip
            assignment = Assignment.objects.create(
                assessment=assessment, school_class=school_class, attempts_allowed=10000,
                opens_at=timezone.now() - timezone.timedelta(hours=1),
                closes_at=timezone.now() + timezone.timedelta(days=365), created_by=teacher,
            )  # fmt: skip
        school_class = assignment.school_class
        school_class.students.add(*User.objects.filter(role=Role.STUDENT))
        names = list(
            User.objects.filter(role=Role.STUDENT)
            .order_by("username")
            .values_list("username", flat=True)
        )[:students]
        return assignment.pk, names


def count_missing(ack_log: Path) -> tuple[int, int]:
    from django.db import connection
    from django_tenants.utils import schema_context

    from dreamseed.assessments.models import Attempt

    acks = {tuple(json.loads(line)) for line in ack_log.read_text().splitlines() if line.strip()}
    with schema_context(SUBDOMAIN):
        del connection
        stored = set(
            Attempt.objects.filter(session_id__in={s for s, _ in acks}).values_list(
                "session_id", "item_id"
            )
        )
    return len(acks), len(acks - stored)


def start_gunicorn(workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "DATABASE_CONN_MAX_AGE": "600",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "dreamseed.wsgi:application",
         "-c", "dreamseed/gunicorn_conf.py"],
        cwd=BASE, env=env, start_new_session=True,
    )  # fmt: skip
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def _cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """CPU seconds of a process (plus, optionally, of its children that have exited: gunicorn
    workers recycled or killed during the run)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(server: subprocess.Popen, locust: subprocess.Popen) -> dict[str, float]:
    """CPU seconds used so far by the web workers, PostgreSQL and the load generator."""
    # PostgreSQL's own processes and the backends of the dev database (not test databases).
    listing = subprocess.run(["pgrep", "-a", "-f", "^postgres"], capture_output=True, text=True)
    postgres = [
        int(line.split()[0])
        for line in listing.stdout.splitlines()
        if line.strip() and "test_" not in line
    ]
    return {
        "web": _cpu_seconds(server.pid, reaped_children=True)
        + sum(_cpu_seconds(pid) for pid in gunicorn_workers(server)),
        "postgres": sum(_cpu_seconds(pid) for pid in postgres),
        "locust": _cpu_seconds(locust.pid),
    }


def gunicorn_workers(master: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--duration", type=int, default=60, help="measured seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=3, help="threads per worker (1: sync)")
    parser.add_argument("--kill-at", type=int, default=0, help="SIGKILL the web workers after S s")
    args = parser.parse_args()

    assignment, students = setup_data(max(args.users, 50))
    out = BASE / "bench" / "out"
    out.mkdir(exist_ok=True)
    ack_log = out / "acks.jsonl"
    ack_log.unlink(missing_ok=True)
    server = start_gunicorn(args.workers, args.threads)
    spawn_rate = max(5, args.users // 4)
    ramp = args.users / spawn_rate + 3
    env = {
        **os.environ,
        "LOAD_ASSIGNMENT": str(assignment),
        "LOAD_STUDENTS": ",".join(students),
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_ACK_LOG": str(ack_log),
    }
    prefix = out / ("kill" if args.kill_at else "steady")
    locust = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(BASE / "bench" / "locustfile.py"), "--headless",
         "-u", str(args.users), "-r", str(spawn_rate), "-t", f"{int(args.duration + ramp)}s",
         "--host", f"http://127.0.0.1:{PORT}", "--reset-stats", "--csv", str(prefix),
         "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"],
        cwd=BASE, env=env,
    )  # fmt: skip
    killed = []
    time.sleep(ramp)
    cpu_start, measured_start = cpu_snapshot(server, locust), time.monotonic()
    cpu_end = None
    try:
        if args.kill_at:
            time.sleep(args.kill_at)
            killed = gunicorn_workers(server)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            print(
                f"[load] SIGKILL sent to {len(killed)} gunicorn workers at +{args.kill_at}s",
                flush=True,
            )
        else:
            time.sleep(max(0.0, args.duration - 2))
            cpu_end, measured = cpu_snapshot(server, locust), time.monotonic() - measured_start
        locust.wait(timeout=args.duration + 120)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    with open(f"{prefix}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    answer = rows["answer"]
    total_failures = sum(
        int(row["Failure Count"]) for row in rows.values() if row["Name"] != "Aggregated"
    )
    acknowledged, missing = count_missing(ack_log)
    print()
    print(
        f"users {args.users}, gunicorn {args.workers} workers x {args.threads} threads, "
        f"measured {args.duration}s"
        + (f", {len(killed)} workers killed with SIGKILL at +{args.kill_at}s" if killed else "")
    )
    print(
        f"answers: {answer['Request Count']} ok-or-failed, {answer['Failure Count']} failed, "
        f"{float(answer['Requests/s']):.0f} answers/s"
    )
    print(
        f"answer latency ms: p50 {answer['50%']}  p95 {answer['95%']}  p99 {answer['99%']}  "
        f"max {float(answer['Max Response Time']):.0f}"
    )
    print(f"all requests failed: {total_failures}")
    if cpu_end is not None:
        answers_per_s = float(answer["Requests/s"])
        used = {name: cpu_end[name] - cpu_start[name] for name in cpu_end}
        print(
            "CPU per answer (ms), over the measured window: "
            + "  ".join(
                f"{name} {seconds / measured / answers_per_s * 1000:.1f}"
                for name, seconds in used.items()
            )
            + f"  (machine: {os.cpu_count()} cores, busy {sum(used.values()) / measured:.2f})"
        )
    print(f"acknowledged answers {acknowledged}, missing from the database {missing}")
    print("targets: >= 300 answers/s for 60 s, p95 < 100 ms, zero errors, zero lost")


if __name__ == "__main__":
    main()
