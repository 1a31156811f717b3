"""Rubric items marked later by a teacher: the answer waits unscored, the class's teacher enters
points on the marking page, and the sitting's estimate is worked out again with them."""

import pytest

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.assessments.services import Answered, session_start
from dreamseed.assessments.tests.test_partial_credit_taking import (
    _answer,
    _engine_estimate,
    _make_partial,
)
from dreamseed.testing import in_schema

RUBRIC = {"kind": "text", "options": [], "correct_key": "",
          "answer": {"accepted": ["a model answer"], "case_sensitive": False,
                     "scoring": "rubric", "max_points": 2}}  # fmt: skip


def _sitting(world):
    """A finished sitting where every other item is a 0..2 rubric item (GPCM)."""
    _make_partial(world, every=2, stored=RUBRIC)
    student = world.students[0]
    with in_schema(world.school.schema_name):
        session = session_start(assignment=world.assignment, student=student)
        while not ExamSession.objects.get(pk=session.pk).is_finished:
            pending = ExamSession.objects.select_related("pending_version").get(pk=session.pk)
            text = "My explanation" if pending.pending_version.kind == "text" else "B"
            _answer(world, student, session.pk, text)
        session = ExamSession.objects.get(pk=session.pk)
        waiting = list(Attempt.objects.filter(session=session, score__isnull=True))
    return session, waiting


def _url(world):
    return f"/tests/assignments/{world.assignment.pk}/marking/"


@pytest.mark.django_db
def test_rubric_answers_wait_unscored(world):
    session, waiting = _sitting(world)
    assert waiting, "the test gave no rubric item"
    rows = [Answered.from_row(row) for row in session.history]
    assert sum(row.waiting for row in rows) == len(waiting)
    assert session.n_items == len(rows) - len(waiting)
    assert all(attempt.correct is False for attempt in waiting)


@pytest.mark.django_db
def test_the_teacher_marks_and_the_estimate_is_recomputed(world, client_for, alpha_teacher):
    session, waiting = _sitting(world)
    client = client_for(alpha_teacher)
    page = client.get(_url(world))
    assert page.status_code == 200
    text = page.content.decode()
    assert "My explanation" in text and "Points (0 to 2)" in text
    before = session.theta
    response = client.post(_url(world), {"attempt": waiting[0].pk, "points": "2"})
    assert response.status_code == 302
    with in_schema(world.school.schema_name):
        attempt = Attempt.objects.get(pk=waiting[0].pk)
        assert (attempt.score, attempt.correct, attempt.marked_by_id) == (
            2, True, alpha_teacher.user.pk
        )  # fmt: skip
        session = ExamSession.objects.get(pk=session.pk)
        assert session.theta != before
        assert session.n_items == len(session.history) - len(waiting) + 1
        # Engine agreement: the new estimate is the polytomous EAP of every scored answer.
        theta, _se = _engine_estimate(session.attempts.filter(score__isnull=False))
        assert session.theta == pytest.approx(theta, abs=1e-6)
        assert session.score == pytest.approx(world.assessment.scale_score(theta))
    page = client.get(_url(world))
    assert page.content.decode().count('name="points"') == len(waiting) - 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("5", "Give between 0 and 2 points."),
        ("-1", "Points cannot be negative."),
        ("two", "Enter the points as a whole number."),
        ("", "Enter the points for this answer."),
    ],
)
def test_bad_points_are_refused_with_a_message(world, client_for, alpha_teacher, points, message):
    session, waiting = _sitting(world)
    response = client_for(alpha_teacher).post(
        _url(world), {"attempt": waiting[0].pk, "points": points}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    with in_schema(world.school.schema_name):
        assert Attempt.objects.get(pk=waiting[0].pk).score is None
        assert ExamSession.objects.get(pk=session.pk).theta == session.theta


@pytest.mark.django_db
def test_an_automatically_marked_answer_has_no_rubric(world, client_for, alpha_teacher):
    session, _waiting = _sitting(world)
    with in_schema(world.school.schema_name):
        automatic = Attempt.objects.filter(session=session, score__isnull=False).first()
    response = client_for(alpha_teacher).post(_url(world), {"attempt": automatic.pk, "points": "1"})
    assert response.status_code == 400
    assert "This answer is marked automatically" in response.content.decode()


@pytest.mark.django_db
def test_only_staff_of_the_class_may_mark(
    world, client_for, alpha_teacher2, alpha_student, beta_teacher, beta_admin
):
    _session, waiting = _sitting(world)
    data = {"attempt": waiting[0].pk, "points": "1"}
    assert client_for(alpha_teacher2).get(_url(world)).status_code == 404
    assert client_for(alpha_teacher2).post(_url(world), data).status_code == 404
    assert client_for(alpha_student).post(_url(world), data).status_code in (302, 403)
    # Another school: the same numbers mean nothing there.
    assert client_for(beta_teacher).post(_url(world), data).status_code == 404
    assert client_for(beta_admin).post(_url(world), data).status_code == 404
    with in_schema(world.school.schema_name):
        assert Attempt.objects.get(pk=waiting[0].pk).score is None


@pytest.mark.django_db
def test_an_attempt_of_another_assignment_is_not_found(world, client_for, alpha_teacher):
    from dreamseed.assessments.tests.factories import make_assessment, make_assignment

    _session, waiting = _sitting(world)
    with in_schema(world.school.schema_name):
        other = make_assignment(
            assessment=make_assessment(author=world.teacher, name="Other"),
            school_class=world.school_class,
        )
    response = client_for(alpha_teacher).post(
        f"/tests/assignments/{other.pk}/marking/", {"attempt": waiting[0].pk, "points": "1"}
    )
    assert response.status_code == 404
