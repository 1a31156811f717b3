"""Report work for Celery. Each task runs in one school's schema (tenant-schemas-celery carries
it in the message headers); the `*_all_schools` entry points run from beat in the public schema
and queue the job's pass over every school (dreamseed/core/sweeps.py).

`report_generate` is acks_late with reject_on_worker_lost: the message stays in Redis until the
report is made, so a worker process killed mid-render (or a whole worker host lost) leads to
another worker rendering the report again, from scratch, into the same file name.
"""

from dreamseed.celery import app
from dreamseed.core.sweeps import sweep_dispatch
from dreamseed.reports import services

#: Large classes' bundles take tens of seconds; anything past this is stuck, not slow. Keep the
#: broker's visibility_timeout above the hard limit, or a slow bundle would be delivered twice.
SOFT_TIME_LIMIT = 600
HARD_TIME_LIMIT = 660


@app.task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def report_generate(report_id: int) -> str | None:
    report = services.report_render(report_id=report_id)
    return None if report is None else report.status


@app.task(ignore_result=True)
def report_files_cleanup_all_schools() -> int:
    """Beat entry point: remove expired and orphaned report files in every school."""
    return sweep_dispatch("report-files-cleanup")


@app.task(ignore_result=True)
def teacher_digest_send_all_schools() -> int:
    """Beat entry point: email every school's teachers last week's results."""
    return sweep_dispatch("teacher-digest")
