"""Adaptive tests over pools with GPCM/GRM items: partial-credit answers are scored in points,
the estimate is the polytomous engine's, and a right/wrong pool records what it always did."""

import numpy as np
import pytest
from django.db import connection

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.assessments.pools import pool_cache_clear, pool_for
from dreamseed.assessments.services import session_answer, session_start
from dreamseed.cat import estimate, estimate_poly, make_bank
from dreamseed.itembank.models import BankRevision, Item, ItemVersion
from dreamseed.testing import in_schema

MULTIPLE = {"kind": "multiple", "correct_key": "", "answer": {"keys": ["B", "D"],
                                                             "scoring": "partial"}}  # fmt: skip
NUMERIC = {"kind": "numeric", "options": [], "correct_key": "",
           "answer": {"value": 10.0, "tolerance": 0.1, "units": [], "unit_required": False,
                      "partial_tolerance": 1.0}}  # fmt: skip


def _make_partial(world, every=2, model="GPCM", stored=MULTIPLE):
    """Every `every`-th item of the world's bank becomes a 0..2 item of `model`."""
    with in_schema(world.school.schema_name):
        for item in world.items[::every]:
            spread = 0.6 if model == "GPCM" else 0.8
            Item.objects.filter(pk=item.pk).update(
                model=model, c=0.0, d=1.0, steps=[item.b - spread, item.b + spread]
            )
            ItemVersion.objects.filter(item=item).update(**stored)
        BankRevision.bump()
    pool_cache_clear()


def _pending(session_id):
    session = ExamSession.objects.select_related("pending_version").get(pk=session_id)
    return session.pending_item_id, session.pending_version


def _answer(world, student, session_id, choice):
    item_id, _version = _pending(session_id)
    return session_answer(
        session_id=session_id, student=student, item_id=item_id, choice=choice,
        response_time_ms=4000,
    )  # fmt: skip


def _engine_estimate(attempts):
    """The estimate recomputed from scored attempts alone, with the engine's own functions."""
    attempts = list(attempts.select_related("item").order_by("position"))
    models = [a.item.model if a.item.steps else "4PL" for a in attempts]
    thresholds = [list(a.item.steps) or [a.b] for a in attempts]
    bank = make_bank([a.a for a in attempts], thresholds, models,
                     c=[a.c for a in attempts], d=[a.d for a in attempts])  # fmt: skip
    return estimate_poly("eap", bank, [a.score for a in attempts])


@pytest.mark.django_db
def test_a_mixed_pool_scores_partial_answers_in_points(world):
    _make_partial(world)
    student = world.students[0]
    with in_schema(world.school.schema_name):
        pool = pool_for(world.assessment)
        assert pool.polytomous and type(pool.engine).__name__ == "PolyItemPool"
        session = session_start(assignment=world.assignment, student=student)
        given = []
        while not ExamSession.objects.get(pk=session.pk).is_finished:
            _item, version = _pending(session.pk)
            if version.kind == "multiple":
                choice = ["B,D", "B", "A,B", "A,C"][len(given) % 4]
            else:
                choice = "B" if len(given) % 2 else "A"
            given.append((version.kind, choice))
            _answer(world, student, session.pk, choice)
        session = ExamSession.objects.get(pk=session.pk)
        attempts = list(session.attempts.order_by("position"))
        expected = {"B,D": 2, "B": 1, "A,B": 0, "A,C": 0}
        for attempt, (kind, choice) in zip(attempts, given, strict=True):
            if kind == "multiple":
                assert attempt.score == expected[choice]
                assert attempt.correct is (expected[choice] == 2)
            else:
                assert attempt.score == int(attempt.correct)
        assert any(kind == "multiple" for kind, _choice in given)
        rows = {row[0]: row for row in session.history}
        for attempt in attempts:
            if attempt.item_version.kind == "multiple":
                assert rows[attempt.item_id][8] == attempt.score
                assert rows[attempt.item_id][9] == "GPCM" and len(rows[attempt.item_id][10]) == 2
        # Engine agreement: the session's theta is the polytomous EAP of its answers.
        theta, se = _engine_estimate(session.attempts.all())
        assert session.theta == pytest.approx(theta, abs=1e-6)
        assert session.standard_error == pytest.approx(se, abs=1e-6)


@pytest.mark.django_db
def test_a_hand_made_gpcm_case_agrees_with_the_engine(world):
    """One 0..2 item answered with 1 point: the session's estimate is the engine's EAP of that
    single category."""
    with in_schema(world.school.schema_name):
        Item.objects.exclude(pk=world.items[0].pk).update(status="retired")
        Item.objects.filter(pk=world.items[0].pk).update(
            model="GPCM", a=1.3, c=0.0, d=1.0, b=0.25, steps=[-0.5, 1.0]
        )
        ItemVersion.objects.filter(item=world.items[0]).update(**MULTIPLE)
        BankRevision.bump()
        pool_cache_clear()
        world.assessment.min_items = 1
        world.assessment.max_items = 1
        world.assessment.save()
        student = world.students[0]
        session = session_start(assignment=world.assignment, student=student)
        _answer(world, student, session.pk, "B")
        session = ExamSession.objects.get(pk=session.pk)
        attempt = Attempt.objects.get(session=session)
    theta, se = estimate_poly("eap", make_bank([1.3], [[-0.5, 1.0]], "GPCM"), [1])
    # By hand: the posterior of N(0, 1) times P_1(theta) of the GPCM.
    grid = np.linspace(-6, 6, 4001)
    numerators = np.exp(np.stack([0 * grid, 1.3 * (grid + 0.5), 1.3 * (2 * grid - 0.5)]))
    likelihood = numerators[1] / numerators.sum(axis=0)
    posterior = likelihood * np.exp(-(grid**2) / 2)
    by_hand = (grid * posterior).sum() / posterior.sum()
    assert session.is_finished and session.n_items == 1
    assert session.theta == pytest.approx(theta) == pytest.approx(by_hand, abs=2e-3)
    assert session.standard_error == pytest.approx(se)
    assert (attempt.score, attempt.correct) == (1, False)


@pytest.mark.django_db
def test_numeric_partial_tolerance_in_a_grm_pool(world):
    _make_partial(world, every=1, model="GRM", stored=NUMERIC)
    student = world.students[0]
    with in_schema(world.school.schema_name):
        session = session_start(assignment=world.assignment, student=student)
        for typed in ("10.05", "10.7", "13"):
            _answer(world, student, session.pk, typed)
        scores = list(
            Attempt.objects.filter(session=session).order_by("position").values_list(
                "score", "correct"
            )
        )  # fmt: skip
    assert scores == [(2, True), (1, False), (0, False)]


@pytest.mark.django_db
def test_a_right_wrong_pool_records_as_before(world):
    student = world.students[0]
    with in_schema(world.school.schema_name):
        pool = pool_for(world.assessment)
        assert pool.polytomous == {} and type(pool.engine).__name__ == "ItemPool"
        session = session_start(assignment=world.assignment, student=student)
        for choice in ("B", "A", "B"):
            _answer(world, student, session.pk, choice)
        session = ExamSession.objects.get(pk=session.pk)
        assert [len(row) for row in session.history] == [7, 7, 7]
        assert [row[1] for row in session.history] == [1, 0, 1]
        attempts = session.attempts.order_by("position")
        assert [a.score for a in attempts] == [1, 0, 1]
        params = np.array([[a.a, a.b, a.c, a.d] for a in attempts])
        theta, _se = estimate("eap", params, np.array([1, 0, 1]))
        assert session.theta == pytest.approx(theta)
    connection.set_schema_to_public()


def test_history_rows_round_trip_and_give_the_engine_its_response():
    from dreamseed.assessments.services import Answered

    plain = Answered(5, True, False, 1.0, 0.2, 0.2, 1.0)
    assert plain.as_row() == [5, 1, 0, 1.0, 0.2, 0.2, 1.0] and plain.response == 1
    gpcm = Answered(6, False, False, 1.2, 0.1, 0.0, 1.0, False, 1, "GPCM", (-0.5, 0.7), True)
    assert Answered.from_row(gpcm.as_row()) == gpcm and gpcm.response == 1
    waiting = Answered(7, False, False, 1.0, 0.0, 0.0, 1.0, False, None, "GRM", (0.0, 1.0), True)
    assert Answered.from_row(waiting.as_row()).waiting
    # Points on an item that is right/wrong in the model now: full credit or nothing.
    stepless = Answered(8, True, False, 1.0, 0.0, 0.0, 1.0, False, 2, "", (), True)
    assert stepless.response == 1
