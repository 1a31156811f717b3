"""A student takes an adaptive test: every rule of the flow, through the real views."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dreamseed.assessments.models import Accommodation, Attempt, ExamSession, SessionStatus
from dreamseed.assessments.services import session_pause, session_resume
from dreamseed.assessments.signals import session_finished
from dreamseed.testing import in_schema


def _start(client, world):
    response = client.post(f"/tests/take/{world.assignment.pk}/")
    assert response.status_code == 302, response
    return int(response["Location"].rstrip("/").split("/")[-1])


def _session(pk):
    return ExamSession.objects.get(pk=pk)


def _row_version(pk) -> str:
    """The session row's current version (its xmin), as the answer path reads it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT xmin::text FROM {ExamSession._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def _answer(client, session_id, item_id, choice="B", **extra):
    return client.post(
        f"/tests/session/{session_id}/",
        {"item": item_id, "choice": choice, **extra},
        **extra.pop("headers", {}),
    )


def _in_alpha(world):
    connection.set_tenant(world.school)


def test_start_shows_one_pending_item_and_reload_shows_the_same(client_for, alpha_student, world):
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    session = _session(session_id)
    assert session.status == SessionStatus.IN_PROGRESS and session.pending_item_id
    first = client.get(f"/tests/session/{session_id}/")
    again = client.get(f"/tests/session/{session_id}/")
    assert first.status_code == again.status_code == 200
    assert first.context["version"].pk == again.context["version"].pk == session.pending_version_id
    assert "Question 1 of up to 8" in first.text
    assert 'name="choice"' in first.text
    # The key is never in the page.
    assert "correct" not in first.text.lower()


def test_start_twice_resumes_the_same_session(client_for, alpha_student, world):
    client = client_for(alpha_student)
    assert _start(client, world) == _start(client, world)
    _in_alpha(world)
    assert ExamSession.objects.count() == 1


def test_answer_records_one_attempt_updates_theta_and_chooses_the_next_item(
    client_for, alpha_student, world
):
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    first_item = _session(session_id).pending_item_id
    response = _answer(client, session_id, first_item, "B")
    assert response.status_code == 302
    _in_alpha(world)
    session = _session(session_id)
    attempt = Attempt.objects.get(session=session)
    assert attempt.correct and attempt.position == 1 and attempt.item_id == first_item
    assert attempt.theta_before == pytest.approx(0, abs=1e-6)  # prior mean before any answer
    assert attempt.information > 0 and attempt.candidates == 60
    assert attempt.theta_after == pytest.approx(session.theta) and session.theta > 0
    assert attempt.a is not None and attempt.b is not None  # parameters snapshotted
    assert session.pending_item_id != first_item and session.n_items == 1


def test_a_double_submit_records_exactly_one_attempt(client_for, alpha_student, world):
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    item = _session(session_id).pending_item_id
    _answer(client, session_id, item, "B")
    repeat = _answer(client, session_id, item, "B")
    assert repeat.status_code == 400
    assert "already saved" in repeat.text
    _in_alpha(world)
    assert Attempt.objects.filter(session_id=session_id).count() == 1
    # The page shows the current (second) item, not the first.
    assert repeat.context["version"].item_id == _session(session_id).pending_item_id != item


def test_answering_an_item_that_is_not_pending_is_rejected(client_for, alpha_student, world):
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    pending = _session(session_id).pending_item_id
    other = next(item.pk for item in world.items if item.pk != pending)
    response = _answer(client, session_id, other, "B")
    assert response.status_code == 400
    _in_alpha(world)
    assert not Attempt.objects.filter(session_id=session_id).exists()
    assert response.context["version"].item_id == pending


@pytest.mark.parametrize("bad", [{"choice": ""}, {"choice": "Z"}, {"item": "not-a-number"}])
def test_bad_answers_get_a_message_and_record_nothing(client_for, alpha_student, world, bad):
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    data = {"item": _session(session_id).pending_item_id, "choice": "B", **bad}
    response = client.post(f"/tests/session/{session_id}/", data)
    assert response.status_code == 400
    assert response.context["error"]
    _in_alpha(world)
    assert not Attempt.objects.filter(session_id=session_id).exists()


def test_the_test_resumes_on_another_device(client_for, alpha_student, world):
    session_id = _start(client_for(alpha_student), world)
    other_device = client_for(alpha_student)
    response = other_device.get(f"/tests/take/{world.assignment.pk}/")
    assert response.status_code == 200
    resumed = other_device.post(f"/tests/take/{world.assignment.pk}/")
    assert resumed["Location"] == f"/tests/session/{session_id}/"


def test_fetch_answers_get_the_next_question_as_json(client_for, alpha_student, world):
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    item = _session(session_id).pending_item_id
    response = client.post(
        f"/tests/session/{session_id}/",
        {"item": item, "choice": "A"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert response.status_code == 200
    body = response.json()
    assert (
        body["done"] is False
        and "Question 2" in body["html"]
        and 'id="answer-form"' in body["html"]
    )


def test_a_full_test_ends_at_max_items_with_a_scaled_score(client_for, alpha_student, world):
    client = client_for(alpha_student)
    session_id = _start(client, world)
    finished = []
    session_finished.connect(
        lambda **kw: finished.append(kw["session_id"]), weak=False, dispatch_uid="t"
    )
    try:
        for _ in range(8):
            _in_alpha(world)
            session = _session(session_id)
            if session.is_finished:
                break
            _answer(client, session_id, session.pending_item_id, "B")
    finally:
        session_finished.disconnect(dispatch_uid="t")
    _in_alpha(world)
    session = _session(session_id)
    assert session.status == SessionStatus.COMPLETED and session.stop_reason == "max_items"
    assert session.n_items == 8 and session.pending_item_id is None and session.ended_at
    assert session.theta > 1  # all correct
    assert session.score == pytest.approx(200 + 10 * session.theta)
    result = client.get(f"/tests/session/{session_id}/")
    assert (
        result.status_code == 302 and result["Location"] == f"/tests/session/{session_id}/result/"
    )
    page = client.get(result["Location"])
    assert page.status_code == 200 and f"{session.score:.0f}" in page.text


def test_se_target_stops_early(client_for, alpha_student, make_world):
    world = make_world(max_items=30, min_items=2, se_target=0.9)
    client = client_for(alpha_student)
    session_id = _start(client, world)
    for _ in range(30):
        _in_alpha(world)
        session = _session(session_id)
        if session.is_finished:
            break
        _answer(client, session_id, session.pending_item_id, "B" if session.n_items % 2 else "A")
    _in_alpha(world)
    session = _session(session_id)
    assert session.stop_reason == "se_target" and session.standard_error <= 0.9
    assert 2 <= session.n_items < 30


def test_an_exhausted_pool_ends_the_test_cleanly(client_for, alpha_student, make_world):
    world = make_world(bank_size=3, max_items=10, min_items=1)
    client = client_for(alpha_student)
    session_id = _start(client, world)
    for _ in range(3):
        _in_alpha(world)
        _answer(client, session_id, _session(session_id).pending_item_id, "B")
    _in_alpha(world)
    session = _session(session_id)
    assert session.status == SessionStatus.COMPLETED and session.stop_reason == "pool_exhausted"
    assert session.n_items == 3


def test_time_limit_is_enforced_on_the_server(client_for, alpha_student, make_world):
    world = make_world(time_limit_minutes=10)
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    session = _session(session_id)
    assert session.deadline_at is not None
    item = session.pending_item_id
    ExamSession.objects.filter(pk=session_id).update(
        deadline_at=timezone.now() - timedelta(seconds=1)
    )
    late = _answer(client, session_id, item, "B")
    assert late.status_code == 302 and late["Location"].endswith("/result/")
    _in_alpha(world)
    session = _session(session_id)
    assert session.status == SessionStatus.TIMED_OUT and session.stop_reason == "time_up"
    assert not Attempt.objects.filter(session=session).exists()


def test_extra_time_accommodation_lengthens_the_deadline(client_for, alpha_student, make_world):
    world = make_world(time_limit_minutes=20)
    with in_schema(world.school.schema_name):
        Accommodation.objects.create(
            assignment=world.assignment, student=world.students[0], extra_time_multiplier=1.5
        )
    session_id = _start(client_for(alpha_student), world)
    _in_alpha(world)
    session = _session(session_id)
    minutes = (session.deadline_at - session.started_at).total_seconds() / 60
    assert minutes == pytest.approx(30, abs=0.1)


def test_a_closed_window_refuses_to_start(client_for, alpha_student, world):
    with in_schema(world.school.schema_name):
        world.assignment.opens_at = timezone.now() - timedelta(days=2)
        world.assignment.closes_at = timezone.now() - timedelta(days=1)
        world.assignment.save()
    client = client_for(alpha_student)
    response = client.post(f"/tests/take/{world.assignment.pk}/", follow=True)
    assert "This test is closed." in response.text
    _in_alpha(world)
    assert not ExamSession.objects.exists()


def test_not_yet_open_refuses_to_start(client_for, alpha_student, world):
    with in_schema(world.school.schema_name):
        world.assignment.opens_at = timezone.now() + timedelta(days=1)
        world.assignment.closes_at = timezone.now() + timedelta(days=2)
        world.assignment.save()
    response = client_for(alpha_student).post(f"/tests/take/{world.assignment.pk}/", follow=True)
    assert "has not opened yet" in response.text


def test_closing_the_window_ends_a_running_session(client_for, alpha_student, world):
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    world.assignment.closes_at = timezone.now() - timedelta(seconds=1)
    world.assignment.opens_at = timezone.now() - timedelta(hours=2)
    world.assignment.save()
    response = client.get(f"/tests/session/{session_id}/")
    assert response.status_code == 302
    _in_alpha(world)
    assert _session(session_id).stop_reason == "window_closed"


def test_a_paused_session_rejects_answers_until_resumed(client_for, alpha_student, make_world):
    world = make_world(time_limit_minutes=30)
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    session = _session(session_id)
    deadline = session.deadline_at
    session_pause(session=session, now=timezone.now())
    page = client.get(f"/tests/session/{session_id}/")
    assert "paused the test" in page.text and 'id="answer-form"' not in page.text
    response = _answer(client, session_id, session.pending_item_id, "B")
    assert response.status_code == 400 and "paused" in response.text
    _in_alpha(world)
    assert not Attempt.objects.exists()
    session_resume(session=_session(session_id), now=timezone.now() + timedelta(minutes=5))
    _in_alpha(world)
    resumed = _session(session_id)
    assert resumed.status == SessionStatus.IN_PROGRESS
    assert resumed.deadline_at - deadline >= timedelta(minutes=4, seconds=59)  # pause not counted
    assert _answer(client, session_id, resumed.pending_item_id, "B").status_code == 302


def test_attempts_are_limited_and_an_accommodation_adds_one(client_for, alpha_student, make_world):
    world = make_world(max_items=1, min_items=1)
    client = client_for(alpha_student)
    first = _start(client, world)
    _in_alpha(world)
    _answer(client, first, _session(first).pending_item_id, "B")
    again = client.post(f"/tests/take/{world.assignment.pk}/", follow=True)
    assert "used all your attempts" in again.text
    with in_schema(world.school.schema_name):
        Accommodation.objects.create(
            assignment=world.assignment, student=world.students[0], extra_attempts=1
        )
    second = _start(client, world)
    assert second != first
    _in_alpha(world)
    assert _session(second).attempt_number == 2


def test_pilot_items_are_given_but_not_scored(client_for, alpha_student, make_world):
    # Whether a pilot is seeded is drawn from the session's id: at rate 0.5, one id in 128 gets
    # none in 8 items (and ids depend on what other tests created); at 0.9, one in 10 million.
    world = make_world(pilots=10, pilot_rate=0.9, max_items=8)
    client = client_for(alpha_student)
    session_id = _start(client, world)
    for _ in range(30):
        _in_alpha(world)
        session = _session(session_id)
        if session.is_finished:
            break
        _answer(client, session_id, session.pending_item_id, "B")
    _in_alpha(world)
    session = _session(session_id)
    pilots = Attempt.objects.filter(session=session, is_pilot=True)
    assert pilots.exists()
    assert all(attempt.b is None for attempt in pilots)
    # Pilots take places in the test: never more than its stated maximum in all.
    assert Attempt.objects.filter(session=session).count() == 8
    assert session.n_items == 8 - pilots.count()
    # And never after the last scored item.
    assert not Attempt.objects.filter(session=session).order_by("-position").first().is_pilot


def test_answer_request_runs_a_fixed_number_of_queries(
    client_for, alpha_student, world, django_assert_num_queries, settings
):
    """The answer request once the process is warm (school host, pool and item versions cached):
    the user, the session row (with its version) joined to its assignment and stamps, then one
    statement that updates the session and inserts the attempt if the row is still that version.
    No transaction (no BEGIN/COMMIT or savepoint round trips), no lock, and no read of the
    assessment, the item version, the pool or the bank revision of its own. The school's
    search_path is set only when the connection last served another school."""
    from dreamseed.assessments.pools import pool_for, version_for_display
    from dreamseed.schools.models import School

    settings.TENANT_HOST_CACHE_SECONDS = 30
    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    for version_id in pool_for(world.assessment).version_ids:
        version_for_display(int(version_id))
    _answer(client, session_id, _session(session_id).pending_item_id, "B")
    _in_alpha(world)
    session = _session(session_id)
    with django_assert_num_queries(3) as captured:
        response = client.post(
            f"/tests/session/{session_id}/",
            {"item": session.pending_item_id, "choice": "B"},
            HTTP_X_REQUESTED_WITH="fetch",
        )
    assert response.status_code == 200
    assert response.json()["done"] is False
    statements = [" ".join(query["sql"].split()[:2]) for query in captured.captured_queries]
    assert statements[0].startswith("SELECT") and "accounts_user" in captured[0]["sql"]
    assert "itembank_bankrevision" in captured[1]["sql"] and "xmin" in captured[1]["sql"]
    assert "FOR UPDATE" not in captured[1]["sql"]
    assert statements[2] == "WITH updated"
    assert 'UPDATE "assessments_examsession"' in captured[2]["sql"]
    assert "xmin" in captured[2]["sql"]
    assert 'INSERT INTO "assessments_attempt"' in captured[2]["sql"]
    attempts = Attempt.objects.filter(session_id=session_id).order_by("position")
    assert [a.position for a in attempts] == [1, 2]
    session.refresh_from_db()
    assert session.pending_item_id not in {a.item_id for a in attempts}
    assert attempts[1].theta_after == session.theta

    # The connection last used for another school: the same request plus one SET.
    connection.set_tenant(School.objects.get(schema_name="beta"))
    assert not ExamSession.objects.filter(pk=session_id).exists()
    _in_alpha(world)
    pending = _session(session_id).pending_item_id
    connection.set_tenant(School.objects.get(schema_name="beta"))
    ExamSession.objects.count()
    with django_assert_num_queries(4) as captured:
        response = client.post(
            f"/tests/session/{session_id}/", {"item": pending, "choice": "B"},
            HTTP_X_REQUESTED_WITH="fetch",
        )  # fmt: skip
    assert response.status_code == 200
    assert captured[0]["sql"].startswith('SET search_path = "alpha"')


def test_answering_with_script_uses_the_pages_csrf_token_throughout(alpha_student, world):
    """The page carries the CSRF token; swapped-in questions carry none (no new masked token or
    cookie on every answer) and the script keeps sending the page's token, which stays valid."""
    import re

    from dreamseed.testing import school_client

    client = school_client(alpha_student.host, alpha_student)
    client.handler.enforce_csrf_checks = True
    page = client.get(f"/tests/take/{world.assignment.pk}/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    started = client.post(f"/tests/take/{world.assignment.pk}/", {"csrfmiddlewaretoken": token})
    assert started.status_code == 302
    session_id = int(started["Location"].rstrip("/").split("/")[-1])
    question = client.get(f"/tests/session/{session_id}/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', question.text).group(1)
    item = int(re.search(r'name="item" value="(\d+)"', question.text).group(1))
    for _ in range(3):
        response = client.post(
            f"/tests/session/{session_id}/", {"item": item, "choice": "B"},
            HTTP_X_REQUESTED_WITH="fetch", HTTP_X_CSRFTOKEN=token,
        )  # fmt: skip
        assert response.status_code == 200
        html = response.json()["html"]
        assert "csrfmiddlewaretoken" not in html
        assert "csrftoken" not in response.cookies
        item = int(re.search(r'name="item" value="(\d+)"', html).group(1))
    forged = client.post(
        f"/tests/session/{session_id}/", {"item": item, "choice": "B"},
        HTTP_X_REQUESTED_WITH="fetch",
    )  # fmt: skip
    assert forged.status_code == 403
    _in_alpha(world)
    assert Attempt.objects.filter(session_id=session_id).count() == 3


def test_starting_and_showing_the_question_run_a_fixed_number_of_queries(
    client_for, alpha_student, world, django_assert_num_queries, settings
):
    """Start (on a connection that last served this school, so no SET): the user, the
    assignment, one read for the unfinished session and the attempts used,
    the class membership, the accommodation, the bank revision, then the new session (INSERT, the
    mark in the public index of sessions due, and first-item UPDATE). The question page: the user and one read of the session (with its
    assignment and stamps); the assessment and the item version come from the process caches and
    the position from the session's history (no COUNT)."""
    from dreamseed.assessments.pools import assessment_at, pool_for, version_for_display

    settings.TENANT_HOST_CACHE_SECONDS = 30
    client = client_for(alpha_student)
    client.get("/")  # warms the school host cache
    _in_alpha(world)
    for version_id in pool_for(world.assessment).version_ids:
        version_for_display(int(version_id))
    assessment_at(world.assessment.pk, world.assessment.updated)
    with django_assert_num_queries(11):
        session_id = _start(client, world)
    with django_assert_num_queries(2) as captured:
        page = client.get(f"/tests/session/{session_id}/")
    assert page.status_code == 200 and "Question 1 of up to 8" in page.text
    assert "COUNT" not in " ".join(q["sql"] for q in captured.captured_queries)
    _in_alpha(world)
    _answer(client, session_id, _session(session_id).pending_item_id, "B")
    page = client.get(f"/tests/session/{session_id}/")
    assert "Question 2 of up to 8" in page.text


def test_a_lost_race_saves_neither_the_session_nor_the_attempt(client_for, alpha_student, world):
    """The session UPDATE and the attempt INSERT are one statement: when the INSERT breaks a
    unique constraint (a second request recorded this position first), the UPDATE is undone."""
    from django.db import IntegrityError, transaction

    from dreamseed.core import hotpath

    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    _answer(client, session_id, _session(session_id).pending_item_id, "B")
    _in_alpha(world)
    session = _session(session_id)
    before = (session.theta, session.pending_item_id, session.history)
    recorded = Attempt.objects.get(session=session)
    duplicate = Attempt(
        session=session, position=recorded.position, item_id=session.pending_item_id,
        item_version_id=session.pending_version_id, selected_choice="A", correct=False,
    )  # fmt: skip
    session.theta = 3.5
    session.history = [*session.history, [session.pending_item_id, 0, 0, 1, 0, 0, 1]]
    with pytest.raises(IntegrityError), transaction.atomic():
        hotpath.update_and_insert(
            session, ("theta", "history"), duplicate, row_version=_row_version(session_id)
        )
    session.refresh_from_db()
    assert (session.theta, session.pending_item_id, session.history) == before
    assert Attempt.objects.filter(session=session).count() == 1


def test_the_periodic_job_closes_sessions_whose_time_ran_out(client_for, alpha_student, make_world):
    from dreamseed.assessments.services import sessions_expire_due

    world = make_world(time_limit_minutes=5)
    session_id = _start(client_for(alpha_student), world)
    _in_alpha(world)
    assert sessions_expire_due() == 0
    ExamSession.objects.filter(pk=session_id).update(
        deadline_at=timezone.now() - timedelta(minutes=1)
    )
    assert sessions_expire_due() == 1
    assert _session(session_id).status == SessionStatus.TIMED_OUT


def test_a_recalibration_during_a_session_does_not_change_its_scoring(
    client_for, alpha_student, world
):
    from dreamseed.itembank.models import BankRevision, Item

    client = client_for(alpha_student)
    session_id = _start(client, world)
    _in_alpha(world)
    first = _session(session_id).pending_item_id
    _answer(client, session_id, first, "B")
    _in_alpha(world)
    theta_before = _session(session_id).theta
    # Someone accepts a calibration that makes every item much harder.
    Item.objects.update(b=3.0)
    BankRevision.bump()
    second = _session(session_id).pending_item_id
    _answer(client, session_id, second, "A")  # wrong
    _in_alpha(world)
    attempts = list(Attempt.objects.filter(session_id=session_id).order_by("position"))
    assert attempts[0].b != 3.0  # the first answer keeps the parameters it was given under
    assert _session(session_id).theta < theta_before  # and scoring used those snapshots
    # A new session starts on the new revision.
    assert _session(session_id).bank_revision < BankRevision.current()


def test_sympson_hetter_tests_get_exposure_parameters_that_cap_the_best_items(make_world):
    import time

    from dreamseed.assessments.pools import pool_for

    world = make_world(exposure_control="sympson-hetter", max_items=10, min_items=10, bank_size=60)
    _in_alpha(world)
    started = time.perf_counter()
    pool = pool_for(world.assessment)
    assert time.perf_counter() - started < 10
    k = pool.engine.exposure_k
    assert k.min() < 1  # the most informative items are held back sometimes
    assert k.max() == 1
