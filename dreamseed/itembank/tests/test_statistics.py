"""Item statistics from collected attempts: classical statistics, exposure, and the fit flag."""

import numpy as np
import pytest
from django.db import connection

from dreamseed.itembank import tasks
from dreamseed.itembank.models import ItemStatistics
from dreamseed.itembank.statistics import item_statistics_compute
from dreamseed.itembank.tests.conftest import make_bank, simulate_sessions
from dreamseed.testing import in_schema


@pytest.fixture
def answered_bank(alpha_teacher):
    """12 items; the last one's bank difficulty (-1.5) is far easier than its real one (+1)."""
    true = np.array([(1.2, b, 0.2, 1.0) for b in np.linspace(-2, 2, 12)])
    true[-1, 1] = 1.0
    stored = true.copy()
    stored[-1, 1] = -1.5
    items = make_bank(alpha_teacher, stored)
    simulated = simulate_sessions(
        alpha_teacher, items=items, true_params=true, n_sessions=400, per_session=6, seed=3
    )
    return items, simulated


def _expected_point_biserial(simulated, item_pk):
    """corr(u_item, session total - u_item) over the sessions that answered the item."""
    totals = {}
    for (session, _item), answer in simulated.answers.items():
        totals[session] = totals.get(session, 0) + answer
    u = np.array([a for (s, i), a in simulated.answers.items() if i == item_pk], dtype=float)
    rest = np.array(
        [totals[s] - a for (s, i), a in simulated.answers.items() if i == item_pk], dtype=float
    )
    return float(np.corrcoef(u, rest)[0, 1])


def test_statistics_match_the_attempts(alpha_teacher, answered_bank):
    items, simulated = answered_bank
    with in_schema(alpha_teacher.schema_name):
        assert item_statistics_compute() == 12
        first = ItemStatistics.objects.get(item=items[0])
        answers = [a for (s, i), a in simulated.answers.items() if i == items[0].pk]
        assert first.n_responses == len(answers)
        assert first.n_correct == sum(answers)
        assert first.p_value == pytest.approx(np.mean(answers))
        assert first.point_biserial == pytest.approx(
            _expected_point_biserial(simulated, items[0].pk)
        )
        assert 3000 <= first.mean_response_time_ms <= 30000
        assert first.n_sessions == len(answers)
        assert first.exposure_rate == pytest.approx(len(answers) / 400)
        assert 0 < first.expected_p < 1


def test_a_misfitting_item_is_flagged(alpha_teacher, answered_bank):
    items, _ = answered_bank
    with in_schema(alpha_teacher.schema_name):
        item_statistics_compute()
        misfits = set(ItemStatistics.objects.filter(misfit=True).values_list("item_id", flat=True))
        wrong = ItemStatistics.objects.get(item=items[-1])
    assert misfits == {items[-1].pk}
    assert wrong.expected_p - wrong.p_value > 0.3  # the model expects it to be much easier
    # Item fit: the adaptive-data check and the mean squares reject it; S-X2 is computed too.
    assert wrong.fit_p < 1e-6 and wrong.fit_rejected and wrong.fit_df >= 1
    assert wrong.infit > 1.5 and wrong.infit_flagged
    assert wrong.s_x2 is not None and wrong.s_x2_p < 0.001
    with in_schema(alpha_teacher.schema_name):
        fitting = ItemStatistics.objects.get(item=items[5])
    assert fitting.fit_p > 0.001 and 0.5 < fitting.infit < 1.5 and 0.5 < fitting.outfit < 1.5


def test_a_miskeyed_item_has_a_negative_point_biserial_and_is_shown_flagged(
    client_for, alpha_teacher
):
    # The stored key is wrong: students answer "correctly" exactly when they would have failed.
    params = np.array([(1.2, b, 0.0, 1.0) for b in np.linspace(-1.5, 1.5, 8)])
    items = make_bank(alpha_teacher, params, model="2PL")
    simulated = simulate_sessions(
        alpha_teacher, items=items, true_params=params, n_sessions=300, per_session=8, seed=11
    )
    from dreamseed.assessments.models import Attempt

    with in_schema(alpha_teacher.schema_name):
        for attempt in Attempt.objects.filter(item=items[3]):
            attempt.correct = not simulated.answers[(attempt.session_id, items[3].pk)]
            attempt.save(update_fields=["correct"])
        item_statistics_compute()
        miskeyed = ItemStatistics.objects.get(item=items[3])
    assert miskeyed.point_biserial < 0 and miskeyed.negative_point_biserial
    page = client_for(alpha_teacher).get(f"/items/{items[3].pk}/")
    assert "Negative: check the key" in page.text
    assert "Fit on adaptive data" in page.text and "S-X²" in page.text
    listing = client_for(alpha_teacher).get("/items/")
    assert "Negative r" in listing.text


def test_recomputing_replaces_the_rows_and_forgets_old_attempts(alpha_teacher, answered_bank):
    from django.utils import timezone

    _items, _ = answered_bank
    with in_schema(alpha_teacher.schema_name):
        item_statistics_compute()
        item_statistics_compute()
        assert ItemStatistics.objects.count() == 12
        # Two years later, with no new attempts, the period is empty.
        later = timezone.now() + timezone.timedelta(days=730)
        assert item_statistics_compute(now=later) == 0
        assert not ItemStatistics.objects.exists()


def test_the_query_count_does_not_depend_on_the_number_of_items(
    alpha_teacher, answered_bank, django_assert_max_num_queries
):
    with in_schema(alpha_teacher.schema_name), django_assert_max_num_queries(8):
        item_statistics_compute()


def test_pilot_attempts_do_not_count_toward_session_totals(alpha_teacher):
    items = make_bank(alpha_teacher, [(1, 0, 0.2, 1)] * 4)
    pilots = make_bank(alpha_teacher, [(1, np.nan, 0.2, 1)], prefix="P", status="pilot")
    simulate_sessions(
        alpha_teacher, items=items, true_params=[(1, 0, 0.2, 1)] * 4, n_sessions=60,
        per_session=4, pilot_items=pilots, pilot_true_params=[(1, 0, 0.2, 1)],
        pilots_per_session=1, seed=5,
    )  # fmt: skip
    with in_schema(alpha_teacher.schema_name):
        item_statistics_compute()
        pilot = ItemStatistics.objects.get(item=pilots[0])
        assert pilot.n_responses == 60
        assert pilot.expected_p is None and not pilot.misfit  # b unknown: no fit check
        assert pilot.point_biserial is not None


def test_recompute_now_queues_the_task_after_commit(
    client_for, alpha_teacher, answered_bank, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(alpha_teacher).post(
            "/items/statistics/refresh/", {"next": "/items/?status=active"}
        )
    assert response.status_code == 302 and response["Location"] == "/items/?status=active"
    assert len(callbacks) == 1
    # What the worker then does, here in the school's schema:
    with in_schema(alpha_teacher.schema_name):
        connection.set_tenant(alpha_teacher.school)
        assert tasks.item_statistics_refresh.run() == 12
    page = client_for(alpha_teacher).get("/items/?sort=n")
    assert "Statistics computed" in page.text and "Misfit" in page.text


def test_refresh_redirects_only_within_the_item_bank(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/statistics/refresh/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/items/"


def test_the_beat_entry_point_queues_one_pass_over_every_school(personas, db, monkeypatch):
    from dreamseed.core import sweeps

    sent = []
    monkeypatch.setattr(
        sweeps.sweep_batch, "apply_async", lambda args, **options: sent.append(args)
    )
    assert tasks.item_statistics_refresh_all_schools.run() == sum(len(s) for _, s in sent)
    assert [job for job, _ in sent] == ["item-statistics"]  # one batch for a few schools
    assert {"alpha", "beta"} <= set(sent[0][1])
    assert "public" not in sent[0][1] and "template_school" not in sent[0][1]
