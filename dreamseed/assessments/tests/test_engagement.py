"""Engagement: rapid guesses by each item's own normative threshold, shown on the teacher's
live dashboard and on results with the share per sitting; person fit (lz*) on results."""

from django.db import connection
from django.utils import timezone

from dreamseed.assessments.engagement import (
    progress_with_engagement,
    session_engagement,
    sessions_rapid_counts,
)
from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.assessments.selectors import assignment_progress
from dreamseed.itembank.models import ItemStatistics


def _take(client, world, answers: int) -> int:
    response = client.post(f"/tests/take/{world.assignment.pk}/")
    session_id = int(response["Location"].rstrip("/").split("/")[-1])
    for _ in range(answers):
        connection.set_tenant(world.school)
        session = ExamSession.objects.get(pk=session_id)
        if session.is_finished:
            break
        client.post(
            f"/tests/session/{session_id}/", {"item": session.pending_item_id, "choice": "B"}
        )
    connection.set_tenant(world.school)
    return session_id


def _statistics(item, mean_ms):
    ItemStatistics.objects.update_or_create(
        item=item,
        defaults={"mean_response_time_ms": mean_ms, "period_start": timezone.now(),
                  "computed_at": timezone.now()},
    )  # fmt: skip


def test_rapid_guesses_use_each_items_own_threshold(client_for, alpha_student, make_world):
    world = make_world(max_items=6)
    session_id = _take(client_for(alpha_student), world, 6)
    attempts = list(Attempt.objects.filter(session_id=session_id).order_by("position"))
    assert len(attempts) == 6
    # 10 % of a 20 s mean is 2 s; 10 % of 300 s is capped at 10 s; no timing data: 3 s.
    timings = [(20_000, 1_500), (20_000, 2_500), (300_000, 9_000), (300_000, 11_000),
               (None, 2_900), (None, 3_100)]  # fmt: skip
    for attempt, (mean, taken) in zip(attempts, timings, strict=True):
        if mean is not None:
            _statistics(attempt.item, mean)
        else:
            ItemStatistics.objects.filter(item=attempt.item).delete()
        Attempt.objects.filter(pk=attempt.pk).update(response_time_ms=taken)
    engagement = session_engagement(session=ExamSession.objects.get(pk=session_id))
    rapid = [attempt.pk in engagement.rapid_attempt_ids for attempt in attempts]
    assert rapid == [True, False, True, False, True, False]
    assert engagement.rapid == 3 and engagement.answered == 6 and engagement.low_effort
    assert sessions_rapid_counts(session_ids=[session_id]) == {session_id: (3, 6)}


def test_the_live_dashboard_shows_rushed_answers(
    client_for, alpha_student, alpha_teacher, make_world
):
    world = make_world(max_items=10)
    # Answered instantly by the test client: every answer is far below 3 s.
    _take(client_for(alpha_student), world, 4)
    rows = progress_with_engagement(assignment_progress(assignment=world.assignment))
    rushed = [row for row in rows if row.session]
    assert rushed[0].rapid == 4 and rushed[0].answered == 4 and rushed[0].low_effort
    teacher = client_for(alpha_teacher)
    page = teacher.get(f"/tests/assignments/{world.assignment.pk}/progress/")
    assert "4 of 4 answers rushed" in page.text and "low effort: consider pausing" in page.text
    full = teacher.get(f"/tests/assignments/{world.assignment.pk}/")
    assert "4 of 4 answers rushed" in full.text and "Pause" in full.text


def test_results_show_the_share_of_rapid_guesses_and_person_fit(
    client_for, alpha_student, alpha_teacher, make_world
):
    world = make_world(max_items=12)
    session_id = _take(client_for(alpha_student), world, 12)
    attempts = list(Attempt.objects.filter(session_id=session_id).order_by("position"))
    for attempt in attempts[2:]:
        Attempt.objects.filter(pk=attempt.pk).update(response_time_ms=20_000)
    page = client_for(alpha_teacher).get(f"/tests/sessions/{session_id}/")
    assert page.status_code == 200
    assert "Engagement and fit" in page.text
    assert "2 of 12 answers" in page.text and "(17%)" in page.text
    assert "Low effort" in page.text
    assert page.text.count("rapid guess</span>") == 2
    assert "Person fit (lz*)" in page.text
    # The student's own result page does not show the teacher's engagement panel.
    own = client_for(alpha_student).get(f"/tests/session/{session_id}/result/")
    assert "Engagement and fit" not in own.text


def test_effort_moderated_scoring_leaves_rapid_guesses_unscored(
    client_for, alpha_student, make_world
):
    from dreamseed.assessments.pools import pool_cache_clear

    pool_cache_clear()
    world = make_world(max_items=8, effort_moderated=True)
    client = client_for(alpha_student)
    response = client.post(f"/tests/take/{world.assignment.pk}/")
    session_id = int(response["Location"].rstrip("/").split("/")[-1])
    # Alternate: a rushed answer (0.5 s) and a read one (4 s; no item has timing data: 3 s).
    for number in range(8):
        connection.set_tenant(world.school)
        session = ExamSession.objects.get(pk=session_id)
        if session.is_finished:
            break
        taken = "500" if number % 2 == 0 else "4000"
        client.post(
            f"/tests/session/{session_id}/",
            {"item": session.pending_item_id, "choice": "B", "response_time_ms": taken},
        )
    connection.set_tenant(world.school)
    session = ExamSession.objects.get(pk=session_id)
    attempts = Attempt.objects.filter(session=session)
    # The test keeps its stated length; only the four read answers were scored.
    assert session.is_finished and attempts.count() == 8
    assert session.n_items == 4
    assert [row[7:] for row in session.history] == [[1], [], [1], [], [1], [], [1], []]


def test_without_the_option_every_answer_is_scored(client_for, alpha_student, make_world):
    world = make_world(max_items=5)
    session_id = _take(client_for(alpha_student), world, 5)
    session = ExamSession.objects.get(pk=session_id)
    assert session.is_finished and session.n_items == 5
    assert all(len(row) == 7 for row in session.history)
