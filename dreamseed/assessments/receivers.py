"""Keep the public index of schools with sessions due (dreamseed/core/sweeps.py) up to date.

A session is due when its deadline or its assignment's window passes. Marks are made when that
time can move earlier: a session starts or resumes, or an assignment is saved. The answer path
writes sessions with its own SQL (dreamseed/core/hotpath.py) and marks nothing.
"""

from dreamseed.assessments.models import SessionStatus
from dreamseed.core.sweeps import school_due_mark

JOB = "sessions-expire"


def session_saved(sender, instance, created=False, update_fields=None, **kwargs):
    if instance.status != SessionStatus.IN_PROGRESS:
        return
    if not created and update_fields is not None and "status" not in update_fields:
        return
    times = [instance.deadline_at, instance.assignment.closes_at]
    school_due_mark(job=JOB, at=min(moment for moment in times if moment is not None))


def assignment_saved(sender, instance, **kwargs):
    if instance.closes_at is not None:
        school_due_mark(job=JOB, at=instance.closes_at)
