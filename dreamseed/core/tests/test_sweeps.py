"""Periodic work as one pass over the schools (dreamseed/core/sweeps.py)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dreamseed.assessments.models import ExamSession, SessionStatus
from dreamseed.assessments.services import session_start
from dreamseed.assessments.tests.factories import (
    make_assessment,
    make_assignment,
    make_bank,
    make_class,
)
from dreamseed.core import sweeps
from dreamseed.core.models import SchoolDue
from dreamseed.testing import in_schema


def _sessions(persona, teacher, students, *, time_limits):
    """Start one session per time limit (minutes) for `students` in the persona's school."""
    with in_schema(persona.schema_name):
        connection.set_tenant(persona.school)
        make_bank(n=30)
        school_class = make_class(teacher=teacher.user, students=[s.user for s in students])
        ids = []
        for minutes in time_limits:
            assessment = make_assessment(author=teacher.user, time_limit_minutes=minutes)
            assignment = make_assignment(assessment=assessment, school_class=school_class)
            for student in students:
                ids.append(session_start(assignment=assignment, student=student.user).pk)
        return ids


def _statuses(persona, ids):
    with in_schema(persona.schema_name):
        return dict(ExamSession.objects.filter(pk__in=ids).values_list("pk", "status"))


@pytest.fixture
def two_schools(personas, db):
    """In alpha and beta: sessions with a 5-minute and a 60-minute time limit."""
    return {
        "alpha": (
            personas["alpha_admin"],
            _sessions(
                personas["alpha_admin"],
                personas["alpha_teacher"],
                [personas["alpha_student"], personas["alpha_student2"]],
                time_limits=[5, 60],
            ),
        ),
        "beta": (
            personas["beta_admin"],
            _sessions(
                personas["beta_admin"],
                personas["beta_teacher"],
                [personas["beta_student"]],
                time_limits=[5, 60],
            ),
        ),
    }


def test_starting_a_session_marks_its_school_due_at_its_deadline(two_schools):
    due = dict(SchoolDue.objects.filter(job="sessions-expire").values_list("schema_name", "due_at"))
    assert set(due) == {"alpha", "beta"}
    for schema_name, (_persona, ids) in two_schools.items():
        with in_schema(schema_name):
            first = min(
                ExamSession.objects.filter(pk__in=ids).values_list("deadline_at", flat=True)
            )
        assert due[schema_name] == first


def test_the_sweep_expires_due_sessions_in_every_school_and_only_those(two_schools):
    later = timezone.now() + timedelta(minutes=10)  # the 5-minute sessions are due
    schemas = sweeps.sweep_schools(sweeps.JOBS["sessions-expire"], now=later)
    assert schemas == ["alpha", "beta"]
    result = sweeps.sweep_run("sessions-expire", schemas, now=later)
    assert (result.schools, result.total, result.failed) == (2, 3, [])
    for persona, ids in two_schools.values():
        statuses = _statuses(persona, ids)
        half = len(ids) // 2  # the first half of each school's sessions had 5 minutes
        assert [statuses[pk] for pk in ids[:half]] == [SessionStatus.TIMED_OUT] * half
        assert [statuses[pk] for pk in ids[half:]] == [SessionStatus.IN_PROGRESS] * half
    # Each school's next visit is when its 60-minute sessions run out; none is due now.
    assert sweeps.sweep_schools(sweeps.JOBS["sessions-expire"], now=later) == []
    for schema_name, (_persona, ids) in two_schools.items():
        with in_schema(schema_name):
            deadline = min(
                ExamSession.objects.filter(pk__in=ids[len(ids) // 2 :]).values_list(
                    "deadline_at", flat=True
                )
            )
        assert SchoolDue.objects.get(job="sessions-expire", schema_name=schema_name).due_at == (
            deadline
        )


def test_a_school_with_nothing_due_is_not_visited(two_schools):
    now = timezone.now()
    assert sweeps.sweep_schools(sweeps.JOBS["sessions-expire"], now=now) == []
    dispatched = []
    sweeps.sweep_batch.apply_async = lambda args, **kw: dispatched.append(args)
    try:
        assert sweeps.sweep_dispatch("sessions-expire", now=now) == 0
    finally:
        del sweeps.sweep_batch.apply_async
    assert dispatched == []


def test_the_hourly_sweep_finds_sessions_the_index_missed_and_rebuilds_it(two_schools):
    SchoolDue.objects.all().delete()  # as before the index existed
    later = timezone.now() + timedelta(minutes=10)
    job = sweeps.JOBS["sessions-expire-full"]
    schemas = sweeps.sweep_schools(job, now=later)
    assert {"alpha", "beta"} <= set(schemas) and "template_school" not in schemas
    assert sweeps.sweep_run(job.name, schemas, now=later).total == 3
    assert set(SchoolDue.objects.values_list("schema_name", flat=True)) == {"alpha", "beta"}


def test_a_mark_made_during_a_visit_is_not_lost(two_schools):
    """A session that starts while the sweep is in its school (after the sweep read the index)
    keeps its mark: the sweep's settling sees the changed version and leaves the row alone."""
    seen = sweeps._due_read(job="sessions-expire", schema_name="beta")
    soon = timezone.now() + timedelta(minutes=1)
    sweeps.school_due_mark(job="sessions-expire", at=soon, schema_name="beta")
    sweeps._due_settle(
        job="sessions-expire", schema_name="beta", seen=seen, next_due=soon + timedelta(hours=1)
    )
    assert SchoolDue.objects.get(job="sessions-expire", schema_name="beta").due_at == soon


def test_a_school_that_fails_does_not_stop_the_pass(two_schools, monkeypatch):
    from dreamseed.assessments import services

    real = services.sessions_expire_due

    def failing_in_alpha(*, now=None):
        if connection.schema_name == "alpha":
            raise RuntimeError("boom")
        return real(now=now)

    monkeypatch.setattr(services, "sessions_expire_due", failing_in_alpha)
    later = timezone.now() + timedelta(minutes=10)
    result = sweeps.sweep_run("sessions-expire", ["alpha", "beta"], now=later)
    assert result.failed == ["alpha"] and result.total == 1
    beta, beta_ids = two_schools["beta"]
    assert _statuses(beta, beta_ids)[beta_ids[0]] == SessionStatus.TIMED_OUT
    # alpha stays due: the next pass tries again.
    assert sweeps.sweep_schools(sweeps.JOBS["sessions-expire"], now=later) == ["alpha"]


def test_every_beat_job_is_a_registered_task_storing_no_result():
    from django.conf import settings

    from dreamseed.celery import app

    app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        task = app.tasks[entry["task"]]
        assert task.ignore_result is True, entry["task"]
    assert app.tasks["dreamseed.core.sweeps.sweep_batch"].ignore_result is True
