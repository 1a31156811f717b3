"""Item bank background work. Each task runs in one school's schema (tenant-schemas-celery
carries it in the message headers). The nightly jobs are passes over every school
(dreamseed/core/sweeps.py); the `*_all_schools` names are their beat entry points."""

from django.conf import settings

from dreamseed.celery import app
from dreamseed.core.sweeps import sweep_dispatch
from dreamseed.itembank import calibration_runs
from dreamseed.itembank.statistics import item_statistics_compute

#: A pilot item is calibrated automatically once it has this many responses.
PILOT_AUTO_MIN_RESPONSES = getattr(
    settings,
    "ITEMBANK_PILOT_MIN_RESPONSES",
    calibration_runs.DEFAULT_MIN_RESPONSES_BY_MODEL["3PL"],
)


@app.task(acks_late=True, ignore_result=True)
def item_statistics_refresh() -> int:
    """Recompute this school's item statistics (idempotent: a full recomputation)."""
    return item_statistics_compute()


@app.task(acks_late=True, ignore_result=True)
def calibration_run_execute(run_id: int) -> bool:
    return calibration_runs.calibration_run_execute(run_id=run_id)


@app.task(acks_late=True, ignore_result=True)
def pilot_calibration_check() -> int | None:
    """Start a pilot calibration if pilot items have enough responses and none is pending.

    Nothing changes in the bank until a teacher accepts the run.
    """
    from dreamseed.itembank.models import CalibrationKind, CalibrationRun, CalibrationStatus

    pending = CalibrationRun.objects.filter(
        kind=CalibrationKind.PILOT,
        status__in=(*CalibrationRun.OPEN_STATUSES, CalibrationStatus.SUCCEEDED),
    )
    if (
        pending.exists()
        or CalibrationRun.objects.filter(status__in=CalibrationRun.OPEN_STATUSES).exists()
    ):
        return None
    if not calibration_runs.pilot_items_ready(min_responses=PILOT_AUTO_MIN_RESPONSES).exists():
        return None
    run = calibration_runs.calibration_run_create(
        kind=CalibrationKind.PILOT,
        model="3PL",
        min_responses=PILOT_AUTO_MIN_RESPONSES,
        created_by=None,
    )
    return run.pk


def pilot_calibration_check_school(*, now=None) -> int | None:
    """The nightly pass's work in one school (dreamseed/core/sweeps.py)."""
    return pilot_calibration_check.run()


@app.task(ignore_result=True)
def item_statistics_refresh_all_schools() -> int:
    """Beat entry point: the item statistics pass over every school."""
    return sweep_dispatch("item-statistics")


@app.task(ignore_result=True)
def pilot_calibration_check_all_schools() -> int:
    """Beat entry point: the pilot calibration check in every school."""
    return sweep_dispatch("pilot-calibration-check")
