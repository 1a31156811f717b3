"""Fixtures for report tests: a class with finished sittings (Korean names among them), media in a
folder of this test run, and Celery workers that render reports for real."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from dreamseed.assessments.models import ExamSession
from dreamseed.assessments.tests.factories import (
    make_assessment,
    make_assignment,
    make_bank,
    make_class,
)
from dreamseed.itembank.models import Item
from dreamseed.reports.models import Report
from dreamseed.reports.tests.factories import (
    KOREAN_STUDENTS,
    make_finished_sessions,
    make_students,
)
from dreamseed.testing import BASE_DIR, CeleryWorker, in_schema


def _compile_stale_catalogues():
    """Plain `pytest` after a catalogue changed would read a stale .mo (`make test` compiles
    first; this does the same for the catalogues the reports print from). Atomic replace, so a
    parallel test run never reads half a file."""
    for po in (BASE_DIR / "locale").glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        partial = mo.with_suffix(f".mo.{os.getpid()}")
        subprocess.run(["msgfmt", "--check-format", "-o", str(partial), str(po)], check=True)
        os.replace(partial, mo)


_compile_stale_catalogues()

MEDIA_ROOT = BASE_DIR / ".dev" / f"test-media-{settings.TEST_RUN_ID}"


@pytest.fixture(scope="session", autouse=True)
def _report_media_root():
    yield
    shutil.rmtree(MEDIA_ROOT, ignore_errors=True)
    # Before interpreter shutdown, or WeasyPrint's FontConfiguration.__del__ prints an error.
    from dreamseed.reports import rendering

    rendering.reset()


@pytest.fixture(autouse=True)
def _media_of_this_run(settings):
    # Report files of parallel test runs would share names (same schemas, same ids).
    settings.MEDIA_ROOT = MEDIA_ROOT


def build_class(personas, *, students=6, korean=True, name="Math 7", prefix="rep"):
    """In alpha: a bank with two content areas and pilots, a class of alpha_teacher with sam,
    sara and more students (the first ones Korean), a test and finished sittings for all."""
    alpha = personas["alpha_admin"]
    school = alpha.school
    with in_schema(alpha.schema_name):
        connection.set_tenant(school)
        teacher = personas["alpha_teacher"].user
        sam, sara = personas["alpha_student"].user, personas["alpha_student2"].user
        extra = make_students(
            prefix=f"{prefix}{uuid.uuid4().hex[:6]}",
            count=students,
            names=KOREAN_STUDENTS if korean else None,
        )
        items = make_bank(n=60, seed=11, pilots=2)
        scored = [item for item in items if item.b is not None]
        pilots = [item for item in items if item.b is None]
        school_class = make_class(teacher=teacher, students=[sam, sara, *extra], name=name)
        assessment = make_assessment(author=teacher, name="Fractions check-in", max_items=12)
        assignment = make_assignment(assessment=assessment, school_class=school_class)
        sessions = make_finished_sessions(
            assignment=assignment,
            students=[sam, sara, *extra],
            items=scored,
            pilot_items=pilots[:1],
        )
    connection.set_schema_to_public()
    return SimpleNamespace(
        school=school,
        schema=alpha.schema_name,
        teacher=teacher,
        sam=sam,
        sara=sara,
        extra=extra,
        items=items,
        school_class=school_class,
        assessment=assessment,
        assignment=assignment,
        sessions=sessions,
        session_of={s.student_id: s for s in sessions},
    )


def destroy_class(world):
    """Clean up what `build_class` committed (for tests without a wrapping transaction)."""
    with in_schema(world.schema):
        Report.objects.filter(assignment=world.assignment).delete()
        Report.objects.filter(session__assignment=world.assignment).delete()
        ExamSession.objects.filter(assignment=world.assignment).delete()
        world.assignment.delete()
        world.assessment.delete()
        world.school_class.delete()
        for user in world.extra:
            user.delete()
        Item.objects.filter(pk__in=[item.pk for item in world.items]).update(current_version=None)
        for item in world.items:
            item.versions.all().delete()
            item.delete()


@pytest.fixture
def class_world(personas, db):
    return build_class(personas)


def tenant(world):
    """Enter the world's school with connection.tenant set, as a worker does (nests)."""
    return tenant_context(world.school)


# --- Real workers ---------------------------------------------------------------------------------


class ReportWorker(CeleryWorker):
    """A `celery worker` that consumes only `queue`, writes media where the tests read it, and
    runs in its own process group (so a test can SIGKILL the worker and its pool children).

    Its settings module (worker_settings.py) gives Redis a short visibility timeout and keys of
    their own for unacknowledged messages, so a killed worker's task is redelivered in seconds
    and no other test run's messages are touched."""

    def __init__(self, *, queue: str, concurrency: int = 1, name: str = "reports"):
        super().__init__(concurrency=concurrency, name=name)
        self.queue = queue

    def env(self) -> dict:
        return {
            **super().env(),
            "MEDIA_ROOT": str(MEDIA_ROOT),
            "DJANGO_SETTINGS_MODULE": "dreamseed.reports.tests.worker_settings",
            "REPORTS_TEST_UNACKED_PREFIX": f"reports-test-{settings.TEST_RUN_ID}",
        }

    def start(self, timeout: float = 60):
        from dreamseed.celery import app

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        hostname = f"{self.name}-{os.getpid()}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "dreamseed", "worker", "--loglevel", "INFO",
             "--concurrency", str(self.concurrency), "--hostname", f"{hostname}@%h",
             "--queues", self.queue, "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=BASE_DIR, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            replies = app.control.ping(timeout=0.5) or []
            if any(f"{hostname}@" in next(iter(reply)) for reply in replies):
                return self
        self.kill()
        raise RuntimeError(f"worker did not answer in {timeout}s:\n{self.log_path.read_text()}")

    def kill(self):
        """SIGKILL the worker's whole process group: the main process and its pool children."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        super().stop()
        self.kill()  # any pool child left behind


@pytest.fixture(scope="session")
def report_worker(django_db_setup):
    queue = f"reports-test-{settings.TEST_RUN_ID}"
    worker = ReportWorker(queue=queue, name="reports").start()
    worker.queue = queue
    yield worker
    worker.stop()


@pytest.fixture
def reports_on(settings):
    """Route report tasks to `queue` for this test."""

    def route(queue: str):
        settings.REPORTS_QUEUE = queue

    return route
