"""Assessment work for Celery: session expiry as a pass over the schools with sessions due
(dreamseed/core/sweeps.py), every minute, and over every school hourly as a safety net."""

from dreamseed.celery import app
from dreamseed.core.sweeps import sweep_dispatch


@app.task(ignore_result=True)
def sessions_expire_all_schools() -> int:
    """Beat entry point (every minute): end due sessions in the schools the index says."""
    return sweep_dispatch("sessions-expire")


@app.task(ignore_result=True)
def sessions_expire_every_school() -> int:
    """Beat entry point (hourly): the same in every school, rebuilding the index."""
    return sweep_dispatch("sessions-expire-full")
