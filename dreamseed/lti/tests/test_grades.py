"""Grade passback (AGS): the score a finished test sends, how it is sent, retried and recorded,
and the scopes that decide whether it is sent at all."""

from datetime import datetime

import pytest
from django.db import connection
from django.utils import timezone

from dreamseed.assessments.models import ExamSession, SessionStatus
from dreamseed.assessments.signals import session_finished
from dreamseed.assessments.tests.factories import make_assessment, make_assignment
from dreamseed.lti import grades
from dreamseed.lti.models import GradePassback, LtiContext, LtiResourceLink, PassbackStatus
from dreamseed.lti.tests.conftest import student, teacher
from dreamseed.lti.tests.platform import (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT,
    SCOPE_SCORE,
)


@pytest.mark.parametrize(
    ("theta", "score"),
    [(0.0, 50.0), (1.0, 84.1), (-1.0, 15.9), (2.0, 97.7), (-3.0, 0.1), (None, 0.0), (9.0, 100.0)],
)
def test_the_score_is_the_percentile_of_theta_in_the_calibration_population(theta, score):
    assert grades.score_given(theta) == pytest.approx(score)


def test_the_score_rises_with_theta():
    thetas = [x / 10 for x in range(-40, 41)]
    scores = [grades.score_given(theta) for theta in thetas]
    assert scores == sorted(scores)
    assert scores[0] >= 0 and scores[-1] <= 100


class Course:
    """A course with a deep-linked test, a student who launched it, and their finished session."""

    def __init__(self, lms, lti_client, course, personas, **claims):
        self.lms = lms
        self.course = course
        self.teacher = tool = lti_client(lms)
        tool.follow(tool.launch(teacher(lms.kind), course))
        self.assessment = make_assessment(author=personas["alpha_teacher"].user)
        self.assignment = make_assignment(
            assessment=self.assessment, school_class=LtiContext.objects.get().school_class
        )
        self.learner = lti_client(lms)
        self.relaunch(**claims)
        self.link = LtiResourceLink.objects.get(resource_link_id="rl-1")
        self.student = self.link.platform.identities.get(sub="s-200").user

    def relaunch(self, **claims) -> str:
        """The student opens the link (again) from the LMS."""
        custom = {"dreamseed_assignment": self.assignment.pk}
        return self.learner.follow(
            self.learner.launch(
                student(self.lms.kind), self.course, resource_link_id="rl-1", custom=custom,
                **claims,
            )
        )  # fmt: skip

    def finish(self, theta=0.75, se=0.31) -> ExamSession:
        return ExamSession.objects.create(
            assignment=self.assignment,
            student=self.student,
            status=SessionStatus.COMPLETED,
            theta=theta,
            standard_error=se,
            score=self.assessment.scale_score(theta),
            n_items=8,
            ended_at=timezone.now(),
        )


@pytest.fixture
def make_course(lti_client, course, personas):
    def build(lms, **claims):
        return Course(lms, lti_client, course, personas, **claims)

    return build


@pytest.mark.parametrize("kind", ["canvas", "moodle"])
def test_the_score_is_posted_to_the_line_item(kind, request, make_course, lms_platform):
    lms = request.getfixturevalue(kind)
    setup = make_course(lms)
    session = setup.finish(theta=0.75, se=0.31)

    assert grades.grade_passback_send(session_id=session.pk) is None

    [posted] = lms.scores
    lineitem = lms.lineitem_url("course-501", "7")
    if kind == "canvas":
        assert posted["url"] == lineitem + "/scores"
    else:  # Moodle's line item URLs carry a query string
        assert posted["url"] == lineitem.replace("/lineitem?", "/lineitem/scores?")
    assert posted["content_type"] == "application/vnd.ims.lis.v1.score+json"
    payload = posted["payload"]
    assert payload == {
        "scoreGiven": 77.3,
        "scoreMaximum": 100,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "userId": "s-200",
        "timestamp": payload["timestamp"],
        "comment": "Scale score: 208 (± 3)",
    }
    assert datetime.fromisoformat(payload["timestamp"]) == session.ended_at.replace(
        microsecond=session.ended_at.microsecond // 1000 * 1000
    )
    row = GradePassback.objects.get(session=session)
    assert (row.status, row.attempts, row.last_http_status) == (PassbackStatus.SENT, 1, 200)
    assert row.payload == payload
    assert [(a.number, a.outcome, a.http_status) for a in row.attempt_log.all()] == [
        (1, PassbackStatus.SENT, 200)
    ]
    # The token was asked for with our signed client assertion, for the granted scopes only.
    [token_request] = lms.token_requests
    assert set(token_request["scope"].split()) == {
        SCOPE_LINEITEM,
        SCOPE_LINEITEM_READONLY,
        SCOPE_RESULT,
        SCOPE_SCORE,
    }


def test_a_sent_score_is_not_sent_again(canvas, make_course):
    session = make_course(canvas).finish()
    grades.grade_passback_send(session_id=session.pk)
    grades.grade_passback_send(session_id=session.pk)
    assert len(canvas.scores) == 1
    assert GradePassback.objects.get().attempts == 1


def test_a_503_is_retried_and_every_attempt_recorded(canvas, make_course):
    session = make_course(canvas).finish()
    canvas.score_failures = [503]

    retry_in = grades.grade_passback_send(session_id=session.pk)
    assert retry_in is not None and retry_in >= 1
    row = GradePassback.objects.get()
    assert (row.status, row.attempts, row.last_http_status) == (PassbackStatus.RETRYING, 1, 503)
    assert canvas.scores == []

    assert grades.grade_passback_send(session_id=session.pk) is None
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_http_status) == (PassbackStatus.SENT, 2, 200)
    assert [(a.number, a.outcome, a.http_status) for a in row.attempt_log.all()] == [
        (1, PassbackStatus.RETRYING, 503),
        (2, PassbackStatus.SENT, 200),
    ]
    assert len(canvas.scores) == 1


def test_backoff_grows_exponentially(settings):
    settings.LTI_PASSBACK_BACKOFF_SECONDS = 30
    delays = [grades._backoff(attempt) for attempt in range(1, 6)]
    for attempt, delay in enumerate(delays, start=1):
        assert 0.75 * 30 * 2 ** (attempt - 1) <= delay <= 1.25 * 30 * 2 ** (attempt - 1)
    assert grades._backoff(30) <= grades.MAX_BACKOFF_SECONDS * 1.25


def test_a_network_error_is_retried(canvas, make_course):
    setup = make_course(canvas)
    LtiResourceLink.objects.filter(pk=setup.link.pk).update(
        lineitem_url="http://127.0.0.1:9/api/lti/courses/1/line_items/7"
    )
    session = setup.finish()
    assert grades.grade_passback_send(session_id=session.pk) is not None
    row = GradePassback.objects.get()
    assert row.status == PassbackStatus.RETRYING
    assert "ConnectionError" in row.last_error


def test_a_client_error_fails_without_retrying(canvas, make_course):
    session = make_course(canvas).finish()
    canvas.score_failures = [422]
    assert grades.grade_passback_send(session_id=session.pk) is None
    row = GradePassback.objects.get()
    assert (row.status, row.attempts, row.last_http_status) == (PassbackStatus.FAILED, 1, 422)


def test_it_gives_up_after_the_last_attempt(canvas, make_course, settings):
    settings.LTI_PASSBACK_MAX_ATTEMPTS = 2
    session = make_course(canvas).finish()
    canvas.score_failures = [503, 502, 503]
    assert grades.grade_passback_send(session_id=session.pk) is not None
    assert grades.grade_passback_send(session_id=session.pk) is None
    row = GradePassback.objects.get()
    assert (row.status, row.attempts, row.last_http_status) == (PassbackStatus.FAILED, 2, 502)
    assert grades.grade_passback_send(session_id=session.pk) is None  # stays failed
    assert canvas.scores == []


def test_without_the_score_scope_nothing_is_posted(canvas, make_course):
    session = make_course(canvas, ags_scopes=[SCOPE_LINEITEM_READONLY]).finish()
    assert grades.grade_passback_send(session_id=session.pk) is None
    row = GradePassback.objects.get()
    assert row.status == PassbackStatus.SKIPPED
    assert "score scope" in row.last_error
    assert canvas.scores == [] and canvas.token_requests == []


def test_a_missing_line_item_is_created_when_the_lms_allows_it(moodle, make_course):
    setup = make_course(moodle, lineitem_id=None)
    assert setup.link.lineitem_url == ""
    session = setup.finish()
    assert grades.grade_passback_send(session_id=session.pk) is None
    created = [item for item in moodle.lineitems.values() if item.get("tag") == "dreamseed"]
    assert len(created) == 1
    assert created[0]["resourceLinkId"] == "rl-1"
    assert created[0]["scoreMaximum"] == 100
    [posted] = moodle.scores
    assert posted["url"].startswith(created[0]["id"].split("?")[0] + "/scores")
    setup.link.refresh_from_db()
    assert setup.link.lineitem_url == created[0]["id"]


def test_no_line_item_is_created_without_the_lineitem_scope(canvas, make_course):
    setup = make_course(canvas, lineitem_id=None, ags_scopes=[SCOPE_SCORE])
    session = setup.finish()
    assert grades.grade_passback_send(session_id=session.pk) is None
    row = GradePassback.objects.get()
    assert row.status == PassbackStatus.SKIPPED
    assert "did not let DreamSeed make one" in row.last_error
    assert canvas.scores == []
    assert not [item for item in canvas.lineitems.values() if item.get("tag") == "dreamseed"]
    assert not [r for r in canvas.platform.requests if r[0] == "POST" and "line_items" in r[1]]


def _capture_published(monkeypatch, task):
    """The args of each publication of `task` (tasks are sent through the outbox, which publishes
    with apply_async once the transaction commits)."""
    queued = []
    monkeypatch.setattr(
        task, "apply_async", lambda args=(), kwargs=None, **options: queued.append(tuple(args))
    )
    return queued


def test_finishing_a_test_queues_the_passback(
    canvas, make_course, monkeypatch, django_capture_on_commit_callbacks
):
    from dreamseed.lti import tasks

    queued = _capture_published(monkeypatch, tasks.grade_passback)
    session = make_course(canvas).finish()
    with django_capture_on_commit_callbacks(execute=True):
        session_finished.send(sender=ExamSession, session_id=session.pk)
    assert queued == [(session.pk,)]
    assert GradePassback.objects.get().status == PassbackStatus.PENDING


def test_a_test_not_taken_through_the_lms_queues_nothing(
    canvas, make_course, monkeypatch, personas, django_capture_on_commit_callbacks
):
    from dreamseed.lti import tasks

    queued = []
    monkeypatch.setattr(tasks.grade_passback, "delay", lambda *args: queued.append(args))
    setup = make_course(canvas)
    other = ExamSession.objects.create(
        assignment=setup.assignment,
        student=personas["alpha_student"].user,  # no LMS identity
        status=SessionStatus.COMPLETED,
        theta=0.1,
        ended_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        session_finished.send(sender=ExamSession, session_id=other.pk)
    assert queued == [] and not GradePassback.objects.exists()


def test_the_teacher_sees_waiting_grades_and_can_send_them_again(
    canvas, make_course, lti_client, course, monkeypatch, django_capture_on_commit_callbacks
):
    from dreamseed.lti import tasks

    queued = _capture_published(monkeypatch, tasks.grade_passback)
    session = make_course(canvas).finish()
    canvas.score_failures = [400]
    grades.grade_passback_send(session_id=session.pk)
    row = GradePassback.objects.get()
    assert row.status == PassbackStatus.FAILED

    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    page = tool.client.get("/lti/courses/")
    assert page.status_code == 200
    assert b"Grades not sent yet" in page.content
    assert b"HTTP 400" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = tool.client.post(f"/lti/passbacks/{row.pk}/retry/")
    assert response.status_code == 302
    assert queued == [(session.pk,)]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (PassbackStatus.PENDING, 0)
    assert grades.grade_passback_send(session_id=session.pk) is None
    assert len(canvas.scores) == 1


def test_stale_passbacks_are_found_for_the_sweep(canvas, make_course):
    session = make_course(canvas).finish()
    grades.passbacks_prepare(session_id=session.pk)
    assert grades.passbacks_stale() == []
    later = timezone.now() + grades.STALE_AFTER * 2
    assert grades.passbacks_stale(now=later) == [session.pk]
    assert connection.schema_name != "public"


def test_the_task_asks_celery_to_retry_when_the_lms_is_down(canvas, make_course):
    from celery.exceptions import Retry

    from dreamseed.lti import tasks

    session = make_course(canvas).finish()
    canvas.score_failures = [503]
    with pytest.raises(Retry):
        tasks.grade_passback.run(session.pk)
    tasks.grade_passback.run(session.pk)
    assert GradePassback.objects.get().status == PassbackStatus.SENT
    assert len(canvas.scores) == 1


def test_the_sweep_queues_passbacks_that_waited_too_long(canvas, make_course, monkeypatch):
    from dreamseed.lti import tasks

    queued = []
    monkeypatch.setattr(tasks.grade_passback, "delay", lambda *args: queued.append(args))
    session = make_course(canvas).finish()
    grades.passbacks_prepare(session_id=session.pk)
    assert grades.passbacks_requeue_stale() == 0
    GradePassback.objects.update(updated=timezone.now() - grades.STALE_AFTER * 2)
    assert grades.passbacks_requeue_stale() == 1
    assert queued == [(session.pk,)]
