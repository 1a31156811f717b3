"""A deploy stops a worker with SIGTERM (warm shutdown): the task it is running finishes, once,
before the process exits (docs/operations.md, "Deploys without dropping answers")."""

import signal

import pytest
from django.conf import settings

from dreamseed.reports import services
from dreamseed.reports.models import Report, ReportKind, ReportStatus
from dreamseed.reports.tests.conftest import ReportWorker, build_class, destroy_class, tenant
from dreamseed.testing import in_schema, wait_for


@pytest.fixture
def committed_class(personas, committed_db):
    world = build_class(personas, students=12, prefix="warm")
    yield world
    destroy_class(world)


@pytest.mark.worker
def test_a_worker_stopped_for_a_deploy_finishes_its_running_task_first(committed_class, reports_on):
    queue = f"reports-warm-{settings.TEST_RUN_ID}"
    reports_on(queue)
    worker = ReportWorker(queue=queue, name="warm").start()
    try:
        with tenant(committed_class):
            report = services.report_request(
                kind=ReportKind.CLASS_BUNDLE,
                assignment=committed_class.assignment,
                requested_by=committed_class.teacher,
            )

        def row():
            with in_schema(committed_class.schema):
                return Report.objects.get(pk=report.pk)

        def mid_bundle():
            current = row()
            assert current.status != ReportStatus.SUCCEEDED, "finished before the stop"
            return current.status == ReportStatus.RUNNING and current.progress > 1

        wait_for(mid_bundle, timeout=60, interval=0.05, message="the worker never started")
        worker.process.send_signal(signal.SIGTERM)  # what `docker compose stop` sends
        assert worker.process.wait(timeout=120) == 0
        done = row()
        assert done.status == ReportStatus.SUCCEEDED and done.progress == 100
        assert done.runs == 1  # finished by the stopping worker, not redelivered
        log = worker.log_path.read_text()
        assert "Warm shutdown" in log or "warm shutdown" in log
    finally:
        worker.stop()
