"""LTI work for Celery, each task in one school's schema (tenant-schemas-celery carries it).

Tasks take ids and call one service; both are safe to run twice: a score that was sent is not
sent again, and a roster sync only adds what is missing.
"""

import logging

from dreamseed.celery import app
from dreamseed.core.sweeps import sweep_dispatch
from dreamseed.lti import grades, roster
from dreamseed.lti.models import LtiContext

log = logging.getLogger(__name__)


@app.task(
    bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=None
)
def grade_passback(self, session_id: int) -> None:
    """Post the session's score to its LMS line items; retry later on 5xx or network errors
    (the service counts attempts and decides when to give up)."""
    retry_in = grades.grade_passback_send(session_id=session_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@app.task(acks_late=True, ignore_result=True)
def roster_sync(context_id: int) -> str | None:
    context = LtiContext.objects.select_related("platform", "school_class").filter(pk=context_id)
    context = context.first()
    if context is None:
        return None
    try:
        return roster.roster_sync(context=context).summary()
    except roster.RosterSyncError as error:
        log.warning("roster sync of context %s: %s", context_id, error)
        return None


@app.task(ignore_result=True)
def grade_passback_sweep_all_schools() -> int:
    """Beat entry point: queue again, in every school, the passbacks that waited too long."""
    return sweep_dispatch("lti-passback-sweep")
