"""Reports made by real `celery worker` processes over Redis, including one killed mid-task."""

import io
import time

import pytest
from django.conf import settings
from pypdf import PdfReader

from dreamseed.reports import services
from dreamseed.reports.models import Report, ReportKind, ReportStatus
from dreamseed.reports.tests.conftest import ReportWorker, build_class, destroy_class, tenant
from dreamseed.reports.tests.pdfcheck import pdf_text, zip_members
from dreamseed.testing import in_schema, school_client, wait_for


@pytest.fixture
def committed_class(personas, committed_db):
    world = build_class(personas, students=12, prefix="wrk")
    yield world
    destroy_class(world)


def _report(world, pk) -> Report:
    with in_schema(world.schema):
        return Report.objects.get(pk=pk)


@pytest.mark.worker
def test_a_real_worker_makes_the_report_a_teacher_asked_for(
    committed_class, report_worker, reports_on, personas
):
    reports_on(report_worker.queue)
    # Not the client_for fixture: it wraps the test in a transaction the worker cannot see into.
    client = school_client("alpha.localhost", personas["alpha_teacher"])
    client.cookies["django_language"] = "ko"
    response = client.post(
        f"/reports/assignments/{committed_class.assignment.pk}/", {"kind": "class", "paper": "a4"}
    )
    assert response.status_code == 302
    report_id = int(response["Location"].rstrip("/").split("/")[-1])

    def ready():
        status = client.get(f"/reports/{report_id}/status/").json()
        assert status["status"] != "failed", status
        return status["ready"] and status

    status = wait_for(ready, timeout=60, interval=0.2, message="the worker never made the report")
    assert status["progress"] == 100
    download = client.get(status["download_url"])
    pdf = b"".join(download.streaming_content)
    text = pdf_text(pdf)
    assert "학급 보고서" in text and "김민준" in text and "Sam Student" in text
    report = _report(committed_class, report_id)
    assert report.runs == 1 and report.task_id
    # The worker wrote the file where the web process reads it, under the school's folder.
    assert report.file.name.startswith("reports/alpha/")


@pytest.mark.worker
def test_a_report_whose_worker_is_killed_mid_task_is_finished_by_another_worker(
    committed_class, reports_on
):
    """Worker A (concurrency 1) takes a bundle and is SIGKILLed, main process and pool child,
    half-way through. The task was acks_late, so its message is still unacknowledged in Redis;
    worker B restores it once the visibility timeout has passed, renders the whole bundle again
    (idempotent: same file name) and the report completes."""
    queue = f"reports-kill-{settings.TEST_RUN_ID}"
    reports_on(queue)
    worker_a = ReportWorker(queue=queue, name="kill-a").start()
    worker_b = None
    try:
        with tenant(committed_class):
            report = services.report_request(
                kind=ReportKind.CLASS_BUNDLE,
                assignment=committed_class.assignment,
                requested_by=committed_class.teacher,
            )

        def mid_bundle():
            row = _report(committed_class, report.pk)
            assert row.status != ReportStatus.SUCCEEDED, "worker A finished before the kill"
            return row.status == ReportStatus.RUNNING and row.progress > 1

        wait_for(mid_bundle, timeout=60, interval=0.05, message="worker A never started")
        worker_a.kill()
        killed = _report(committed_class, report.pk)
        assert killed.status == ReportStatus.RUNNING and killed.progress < 100
        assert worker_a.process.poll() is not None

        started = time.monotonic()
        worker_b = ReportWorker(queue=queue, name="kill-b").start()

        def finished():
            row = _report(committed_class, report.pk)
            assert row.status != ReportStatus.FAILED, row.error
            return row.status == ReportStatus.SUCCEEDED and row

        done = wait_for(finished, timeout=90, interval=0.2, message="nobody finished the report")
        print(f"redelivered and finished {time.monotonic() - started:.1f}s after B started")
        assert done.runs == 2  # A's run and B's
        assert report.task_id in worker_b.log_path.read_text()
        with in_schema(committed_class.schema), done.file.open("rb") as handle:
            members = zip_members(handle.read())
        assert len(members) == len(committed_class.sessions)
        for name, pdf in members.items():
            assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1, name
    finally:
        worker_a.stop()
        if worker_b is not None:
            worker_b.stop()
