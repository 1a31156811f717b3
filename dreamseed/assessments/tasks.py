from dreamseed.assessments.services import sessions_expire_due
from dreamseed.celery import app
from dreamseed.core.tenancy import for_each_school


@app.task(acks_late=True)
def sessions_expire():
    """End the sessions of this school whose time or window ran out (students who left)."""
    return sessions_expire_due()


@app.task
def sessions_expire_all_schools():
    return for_each_school(sessions_expire)
