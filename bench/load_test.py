"""Load benchmark: students answering adaptive-test items against gunicorn + PostgreSQL.

    .venv/bin/python bench/load_test.py [--users 12] [--duration 60] [--workers 2] [--threads 3]
                                        [--port 8200] [--kill-at 30]
                                        [--fault redis|postgres|web --at 20 --for 15]

1. Creates (once) a `loadtest` school with students, a class, a 300-item bank and an open
   fixed-length test that may be retaken, in the dev database (start it with
   `python -m dreamseed.devstack up` and migrate it with `manage.py migrate_schemas`: the
   benchmark does not migrate, which over every school of a big database would take minutes).
2. Starts gunicorn on 127.0.0.1:--port (production-like: DEBUG off, persistent connections).
3. Runs locust headless (bench/locustfile.py, FastHttpUser, no think time); statistics are reset
   once every user has signed in, so the figures are for answering only.
4. Prints answers/s and p50/p95/p99 of the answer request, then checks that every answer the
   server acknowledged is in the database.
With --kill-at S, every gunicorn worker is killed with SIGKILL S seconds into the measured
run; the master starts new ones and the students carry on.

With --fault, a part fails --at S seconds into the measured run and comes back --for S later:
`redis` (redis-server killed with SIGKILL, restarted empty), `postgres` (the postmaster killed
with SIGKILL, restarted: crash recovery) or `web` (every gunicorn worker killed, as --kill-at).
It prints answers failed, other requests failed and acknowledged answers lost. Redis and
PostgreSQL faults kill the servers of DREAMSEED_DEV_DIR, so they need that variable set to a
stack of the benchmark's own (never one that others use), e.g.

    export DREAMSEED_DEV_DIR=$PWD/.dev-fault DREAMSEED_PG_PORT=54340 DREAMSEED_REDIS_PORT=63810
    .venv/bin/python -m dreamseed.devstack up && .venv/bin/python manage.py migrate_schemas
    .venv/bin/python bench/load_test.py --fault redis --at 20 --for 15 --duration 60
    .venv/bin/python -m dreamseed.devstack down

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
SUBDOMAIN = "loadtest"
PASSWORD = "load-test-password"


def setup_data(students: int) -> tuple[int, list[str]]:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from dreamseed.accounts.models import Role, User
    from dreamseed.assessments.models import Assignment
    from dreamseed.assessments.tests.factories import make_assessment, make_bank, make_class
    from dreamseed.schools.models import School
    from dreamseed.schools.services import platform_bootstrap, school_create

    _require_migrated()
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


def _require_migrated() -> None:
    """Stop with a clear message if the public schema lacks migrations (the benchmark does not
    migrate: over every school of a large database that would take minutes)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise SystemExit(
            "The database is not migrated: run `.venv/bin/python manage.py migrate_schemas` "
            "(with the same DREAMSEED_DEV_DIR / DATABASE_URL) first."
        )


def count_missing(ack_log: Path) -> tuple[int, int]:
    from django.db import connection
    from django_tenants.utils import schema_context

    from dreamseed.assessments.models import Attempt

    acks = {tuple(json.loads(line)) for line in ack_log.read_text().splitlines() if line.strip()}
    connection.close()  # opened before the run: a PostgreSQL fault has broken it
    with schema_context(SUBDOMAIN):
        del connection
        stored = set(
            Attempt.objects.filter(session_id__in={s for s, _ in acks}).values_list(
                "session_id", "item_id"
            )
        )
    return len(acks), len(acks - stored)


def start_gunicorn(workers: int, threads: int, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
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
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
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


class Fault:
    """Kill one part of the stack and bring it back (Redis and PostgreSQL of DREAMSEED_DEV_DIR,
    or the gunicorn workers)."""

    def __init__(self, kind: str, server: subprocess.Popen):
        self.kind = kind
        self.server = server
        self.killed: list[int] = []

    @staticmethod
    def check(kind: str) -> None:
        if kind in ("redis", "postgres") and not os.environ.get("DREAMSEED_DEV_DIR"):
            raise SystemExit(
                f"--fault {kind} kills the server of DREAMSEED_DEV_DIR: set it (and the ports) "
                "to a stack of the benchmark's own, never a shared one (see --help)."
            )

    def inject(self) -> str:
        from dreamseed import devstack

        if self.kind == "web":
            self.killed = gunicorn_workers(self.server)
            for pid in self.killed:
                os.kill(pid, signal.SIGKILL)
            return f"SIGKILL to {len(self.killed)} gunicorn workers"
        if self.kind == "redis":
            pidfile = devstack.REDIS_DIR / "redis.pid"
        else:
            pidfile = devstack.PGDATA / "postmaster.pid"
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        return f"SIGKILL to {self.kind} (pid {pid}, {pidfile.parent})"

    def restore(self) -> str:
        from dreamseed import devstack

        if self.kind == "web":
            return "gunicorn's master starts new workers by itself"
        if self.kind == "redis":
            (devstack.REDIS_DIR / "redis.pid").unlink(missing_ok=True)
            devstack.redis_start()
            return "redis-server started again (empty)"
        # The postmaster's children notice its death and exit; wait for the port to free.
        for _ in range(100):
            if not devstack._port_open(devstack.PG_PORT):
                break
            time.sleep(0.1)
        devstack.postgres_start()
        return "PostgreSQL started again (crash recovery)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--duration", type=int, default=60, help="measured seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=3, help="threads per worker (1: sync)")
    parser.add_argument("--port", type=int, default=8200, help="gunicorn's port on 127.0.0.1")
    parser.add_argument("--kill-at", type=int, default=0, help="SIGKILL the web workers after S s")
    parser.add_argument("--fault", choices=["redis", "postgres", "web"], help="part to fail")
    parser.add_argument("--at", type=float, default=20, help="seconds into the run of the fault")
    parser.add_argument("--for", dest="fault_for", type=float, default=15, help="outage seconds")
    args = parser.parse_args()
    if args.kill_at and not args.fault:
        args.fault, args.at = "web", args.kill_at
    if args.fault:
        Fault.check(args.fault)

    assignment, students = setup_data(max(args.users, 50))
    out = BASE / "bench" / "out"
    out.mkdir(exist_ok=True)
    ack_log = out / "acks.jsonl"
    ack_log.unlink(missing_ok=True)
    server = start_gunicorn(args.workers, args.threads, args.port)
    spawn_rate = max(5, args.users // 4)
    ramp = args.users / spawn_rate + 3
    env = {
        **os.environ,
        "LOAD_ASSIGNMENT": str(assignment),
        "LOAD_STUDENTS": ",".join(students),
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_ACK_LOG": str(ack_log),
    }
    prefix = out / (f"fault-{args.fault}" if args.fault else "steady")
    locust = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(BASE / "bench" / "locustfile.py"), "--headless",
         "-u", str(args.users), "-r", str(spawn_rate), "-t", f"{int(args.duration + ramp)}s",
         "--host", f"http://127.0.0.1:{args.port}", "--reset-stats", "--csv", str(prefix),
         "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"],
        cwd=BASE, env=env,
    )  # fmt: skip
    fault = Fault(args.fault, server) if args.fault else None
    time.sleep(ramp)
    cpu_start, measured_start = cpu_snapshot(server, locust), time.monotonic()
    cpu_end = None
    try:
        if fault:
            time.sleep(args.at)
            print(f"[load] +{args.at:.0f}s: {fault.inject()}", flush=True)
            if args.fault != "web":
                time.sleep(args.fault_for)
            back = fault.restore()
            print(f"[load] +{time.monotonic() - measured_start:.0f}s: {back}", flush=True)
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
    answer_failures = int(answer["Failure Count"])
    total_failures = sum(
        int(row["Failure Count"]) for row in rows.values() if row["Name"] != "Aggregated"
    )
    acknowledged, missing = count_missing(ack_log)
    print()
    print(
        f"users {args.users}, gunicorn {args.workers} workers x {args.threads} threads, "
        f"measured {args.duration}s"
        + (f", fault {args.fault} at +{args.at:.0f}s" if fault else "")
        + (f" for {args.fault_for:.0f}s" if fault and args.fault != "web" else "")
    )
    print(
        f"answers: {answer['Request Count']} ok-or-failed, {answer_failures} failed "
        f"({answer_failures / max(1, int(answer['Request Count'])):.2%}), "
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
    if fault:
        print()
        print("| fault, mid-run | answers failed | other requests failed | acknowledged lost |")
        print("|---|---|---|---|")
        print(
            f"| {args.fault} at +{args.at:.0f}s"
            + (f" for {args.fault_for:.0f}s" if args.fault != "web" else "")
            + f" | {answer_failures} of {answer['Request Count']} "
            f"| {total_failures - answer_failures} | {missing} of {acknowledged} |"
        )
        print("targets: 0 acknowledged answers lost; Redis 15 s: under 2% of answers fail")
    else:
        print("targets: >= 300 answers/s for 60 s, p95 < 100 ms, zero errors, zero lost")


if __name__ == "__main__":
    main()
