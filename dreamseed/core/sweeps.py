"""Periodic work over every school as one pass, not one Celery task per school.

A beat job calls `sweep_dispatch(job)`: it reads, in the public schema, which schools the job
must visit (all real schools, or for an indexed job only those whose `SchoolDue` time has come)
and queues one `sweep_batch` task per batch of schools. A batch runs the job's per-school
function in each school in turn, on one connection (recycled every few hundred schools, so its
catalogue caches do not grow without bound), and stores no result. One school's failure is
logged and the batch goes on with the next.

At 5,000 schools the every-minute session expiry visits only schools with a session due, and the
nightly and weekly jobs cost one task per batch (bench/many_schools.py measures the passes).
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

from dreamseed.celery import app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepJob:
    """Work done in every school: `function` runs in the school's schema, takes `now` (keyword)
    and returns a count. An indexed job visits only schools whose `SchoolDue` row for `index` is
    due; its `next_due` function (run in the school after `function`) gives the school's next
    due time, or None when nothing is left to do there."""

    name: str
    function: str
    batch_size: int = 250
    index: str = ""  # the SchoolDue.job this job reads (and settles); "" visits every school
    next_due: str = ""
    visits_all: bool = True  # False: only the schools due in `index`


# The apps' jobs are listed in settings.SWEEP_JOBS (the project puts the apps together; core
# knows none of them).
JOBS = {job["name"]: SweepJob(**job) for job in settings.SWEEP_JOBS}


@dataclass
class SweepResult:
    schools: int = 0
    total: int = 0  # the sum of what the job's function returned
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- The due index -------------------------------------------------------------------------------


def school_due_mark(*, job: str, at: datetime, schema_name: str | None = None) -> None:
    """Record that `job` has work in this school (the connection's, by default) at `at`.

    Keeps the earlier of the recorded and the new time, and counts the mark, in one statement
    against the public table (whatever the connection's search_path).
    """
    schema_name = schema_name or connection.schema_name
    if not schema_name or schema_name == "public":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.core_schooldue (schema_name, job, due_at, version) "
            "VALUES (%s, %s, %s, 1) ON CONFLICT (job, schema_name) DO UPDATE SET "
            "due_at = LEAST(public.core_schooldue.due_at, EXCLUDED.due_at), "
            "version = public.core_schooldue.version + 1",
            [schema_name, job, at],
        )


def _due_read(*, job: str, schema_name: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version FROM public.core_schooldue WHERE job = %s AND schema_name = %s",
            [job, schema_name],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def _due_settle(*, job: str, schema_name: str, seen: int | None, next_due) -> None:
    """After a visit: record the school's next due time, or forget it if nothing is left;
    unless a mark came in since `seen` was read (then the row already holds a time no later
    than the new work's, and the next pass visits again)."""
    with connection.cursor() as cursor:
        if seen is None:
            if next_due is not None:
                school_due_mark(job=job, at=next_due, schema_name=schema_name)
        elif next_due is None:
            cursor.execute(
                "DELETE FROM public.core_schooldue WHERE job = %s AND schema_name = %s "
                "AND version = %s",
                [job, schema_name, seen],
            )
        else:
            cursor.execute(
                "UPDATE public.core_schooldue SET due_at = %s WHERE job = %s "
                "AND schema_name = %s AND version = %s",
                [next_due, job, schema_name, seen],
            )


# --- Passes --------------------------------------------------------------------------------------


def sweep_schools(job: SweepJob, *, now=None) -> list[str]:
    """The schema names `job` must visit now, read in the public schema."""
    from dreamseed.core.models import SchoolDue
    from dreamseed.core.tenancy import school_schemas_in_service

    connection.set_schema_to_public()
    if job.visits_all:  # broken schools (no tables of their own) are left out, and logged
        return sorted(school_schemas_in_service())
    due = SchoolDue.objects.filter(job=job.index, due_at__lte=now or timezone.now())
    return list(due.order_by("schema_name").values_list("schema_name", flat=True))


def sweep_run(job_name: str, schema_names: list[str], *, now=None) -> SweepResult:
    """Run the job in each of the schools named, in this process. Returns what it did."""
    from dreamseed.schools.models import School

    job = JOBS[job_name]
    function = import_string(job.function)
    next_due = import_string(job.next_due) if job.next_due else None
    started = time.perf_counter()
    result = SweepResult()
    connection.set_schema_to_public()
    schools = {s.schema_name: s for s in School.objects.filter(schema_name__in=schema_names)}
    for schema_name in schema_names:
        school = schools.get(schema_name)
        if school is None:  # deleted since it was marked due
            if job.index:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "DELETE FROM public.core_schooldue WHERE job = %s AND schema_name = %s",
                        [job.index, schema_name],
                    )
            continue
        try:
            seen = _due_read(job=job.index, schema_name=schema_name) if job.index else None
            connection.set_tenant(school)
            # Each function keeps its own transactions (a digest's emails are not undone).
            result.total += function(now=now) or 0
            upcoming = next_due(now=now) if next_due else None
            if job.index:
                _due_settle(job=job.index, schema_name=schema_name, seen=seen, next_due=upcoming)
        except Exception:
            log.exception("sweep %s failed in school %s", job.name, schema_name)
            result.failed.append(schema_name)
        result.schools += 1
        connection.set_schema_to_public()
        connection.recycle_if_spread()
    result.seconds = time.perf_counter() - started
    return result


@app.task(ignore_result=True, acks_late=True)
def sweep_batch(job_name: str, schema_names: list[str]) -> None:
    """One batch of a pass (queued by `sweep_dispatch`)."""
    result = sweep_run(job_name, schema_names)
    log.info(
        "sweep %s: %d schools in %.1f s, total %d, failed %s",
        job_name,
        result.schools,
        result.seconds,
        result.total,
        result.failed or "none",
    )


def sweep_dispatch(job_name: str, *, now=None) -> int:
    """Queue the pass of `job_name`: one `sweep_batch` per batch of schools. Returns the number
    of schools."""
    job = JOBS[job_name]
    schema_names = sweep_schools(job, now=now)
    for start in range(0, len(schema_names), job.batch_size):
        sweep_batch.apply_async(args=(job_name, schema_names[start : start + job.batch_size]))
    return len(schema_names)
