"""Public-schema bookkeeping for work that visits schools.

`SchoolDue` is a small index of which schools have periodic work due and from when, so that a
job running every minute visits the few schools with something to do instead of all of them.
"""

from django.db import models


class SchoolDue(models.Model):
    """School `schema_name` has work for `job` due at `due_at` at the latest.

    The time is a lower bound: a sweep may visit a school early (it then records the next time)
    but never late. `version` counts marks, so that a sweep that read the row before a new mark
    does not overwrite the newer, earlier time (dreamseed/core/sweeps.py).
    """

    schema_name = models.CharField(max_length=63)
    job = models.CharField(max_length=40)
    due_at = models.DateTimeField()
    version = models.BigIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "schema_name"], name="core_schooldue_job_school")
        ]
        indexes = [models.Index(fields=["job", "due_at"], name="core_schooldue_job_due")]

    def __str__(self) -> str:
        return f"{self.job} in {self.schema_name} at {self.due_at:%Y-%m-%d %H:%M}"
