"""Adaptive tests on mixed pools: selection by polytomous information, exposure control and
content balancing through the dichotomous machinery, and the CAT step."""

import numpy as np
import pytest

from dreamseed.cat import ItemPool, StoppingRule, cat_step, select_item
from dreamseed.cat.adaptive_poly import (
    PolyCatSession,
    PolyItemPool,
    poly_cat_step,
    simulate_poly,
    simulate_scores,
)
from dreamseed.cat.estimation_poly import estimate_poly
from dreamseed.cat.exceptions import InvalidResponsesError
from dreamseed.cat.polytomous import information, make_bank
from dreamseed.cat.simulation import simulate, sympson_hetter_calibrate

from .conftest import random_bank


def mixed_pool_bank(n_items: int = 200, seed: int = 0):
    """Half GPCM items with 4 categories, a quarter GRM with 3, a quarter 2PL/3PL."""
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.0, 0.25, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    rows, models, c = [], [], []
    for i in range(n_items):
        if i % 2 == 0:
            rows.append(list(b[i] + rng.normal(0, 0.3, 3) + [-1.0, 0.0, 1.0]))
            models.append("GPCM")
        elif i % 4 == 1:
            rows.append([b[i] - 0.6, b[i] + 0.6])
            models.append("GRM")
        else:
            rows.append([b[i]])
            models.append("3PL" if i % 8 == 3 else "2PL")
        c.append(0.2 if models[-1] == "3PL" else 0.0)
    return make_bank(a, rows, models, c=c)


@pytest.fixture(scope="module")
def mixed_pool():
    bank = mixed_pool_bank()
    content = np.array(["number", "algebra", "data"])[np.arange(bank.n_items) % 3]
    return PolyItemPool(bank, ids=[f"q{i}" for i in range(bank.n_items)], content=content)


def test_dichotomous_pool_reproduces_the_dichotomous_engine():
    params = random_bank(150, model="3PL", seed=5)
    ours, theirs = PolyItemPool(params), ItemPool(params)
    np.testing.assert_array_equal(ours.selection_order, theirs.selection_order)
    np.testing.assert_allclose(ours.response_log_table, theirs.response_log_table)
    rules = StoppingRule(max_items=20)
    rng = np.random.default_rng(2)
    items = list(rng.choice(150, 12, replace=False))
    answers = list(rng.integers(0, 2, 12))
    for estimator in ("eap", "map", "mle", "wle"):
        for selector in ("mfi", "randomesque", "sympson-hetter"):
            a = poly_cat_step(
                ours, items, answers, rules=rules, estimator=estimator, selector=selector, rng=7
            )
            b = cat_step(
                theirs, items, answers, rules=rules, estimator=estimator, selector=selector, rng=7
            )
            assert a.next_item == b.next_item
            assert a.theta == pytest.approx(b.theta, abs=1e-7)
            assert a.se == pytest.approx(b.se, abs=1e-7)
            assert a.information == pytest.approx(b.information, rel=1e-7)


def test_table_rows_hold_each_category_of_each_item(mixed_pool):
    bank = mixed_pool.bank
    assert mixed_pool.response_log_table.shape == (bank.n_rows, len(mixed_pool.quadrature))
    for item in (0, 1, 3, 199):
        rows = mixed_pool.response_log_table[
            mixed_pool.row_offsets[item] : mixed_pool.row_offsets[item] + bank.n_categories[item]
        ]
        np.testing.assert_allclose(np.exp(rows).sum(axis=0), 1.0, atol=1e-9)


def test_step_estimate_equals_the_estimators(mixed_pool):
    rng = np.random.default_rng(4)
    items = rng.choice(mixed_pool.n_items, 15, replace=False)
    scores = [int(rng.integers(0, mixed_pool.max_score[i] + 1)) for i in items]
    sub = mixed_pool.bank.subset(items)
    for estimator in ("eap", "map", "mle", "wle"):
        step = poly_cat_step(
            mixed_pool, items, scores, rules=StoppingRule(max_items=30), estimator=estimator
        )
        expected = estimate_poly(estimator, sub, scores)
        assert (step.theta, step.se) == pytest.approx(expected, abs=1e-9)


def test_maximum_information_item_is_chosen(mixed_pool):
    administered = [0, 1, 2]
    step = poly_cat_step(mixed_pool, administered, [3, 1, 0], rules=StoppingRule(max_items=30))
    row = mixed_pool.grid_index(step.theta)
    info = information(mixed_pool.selection_grid[row], mixed_pool.bank)
    info[administered] = -np.inf
    assert step.next_item == int(np.argmax(info))
    assert step.next_item_id == f"q{step.next_item}"
    assert step.information == pytest.approx(
        information(step.theta, mixed_pool.bank)[step.next_item], rel=1e-9
    )
    # GPCM items with 4 categories carry more information than the dichotomous ones here.
    assert mixed_pool.bank.n_categories[step.next_item] == 4


def test_content_balancing_and_exposure_control_work_on_mixed_pools(mixed_pool):
    targets = {"number": 0.5, "algebra": 0.25, "data": 0.25}
    selection = select_item(
        mixed_pool,
        0.0,
        administered=[0, 3, 6],
        content_targets=targets,  # all "number"
    )
    assert selection.content_area == "algebra"
    assert mixed_pool.content_labels[mixed_pool.content[selection.item]] == "algebra"
    # Sympson-Hetter with exposure 0 on the best items: they are passed over.
    best = mixed_pool.selection_order[mixed_pool.grid_index(0.0)][:5]
    k = np.ones(mixed_pool.n_items)
    k[best] = 0.0
    limited = mixed_pool.with_exposure_k(k)
    chosen = select_item(limited, 0.0, selector="sympson-hetter", rng=1)
    assert chosen.item not in best and set(best) <= set(chosen.skipped)


def test_session_follows_the_stateless_step(mixed_pool):
    rules = StoppingRule(max_items=12)
    rng = np.random.default_rng(9)
    for estimator in ("eap", "wle"):
        session = PolyCatSession(
            mixed_pool, rules=rules, estimator=estimator, selector="randomesque", rng=3
        )
        stateless_rng = np.random.default_rng(3)
        step = session.next_step()
        while not step.stop:
            again = poly_cat_step(
                mixed_pool,
                session.administered,
                session.responses,
                rules=rules,
                estimator=estimator,
                selector="randomesque",
                rng=stateless_rng,
            )
            assert again.next_item == step.next_item
            score = simulate_scores(mixed_pool.bank.subset([step.next_item]), [0.7], rng)[0, 0]
            session.record(step.next_item, score)
            step = session.next_step()
        assert step.reason == "max_items" and len(session.administered) == 12


def test_simulated_scores_follow_the_category_probabilities():
    bank = make_bank([1.0], [[-0.5, 0.5, 1.5]], "GRM")
    scores = simulate_scores(bank, np.zeros(40_000), np.random.default_rng(0))[:, 0]
    frequencies = np.bincount(scores, minlength=4) / len(scores)
    from dreamseed.cat.polytomous import category_probabilities

    np.testing.assert_allclose(frequencies, category_probabilities(0.0, bank)[0], atol=0.01)


def test_bad_history_is_refused(mixed_pool):
    rules = StoppingRule(max_items=5)
    with pytest.raises(InvalidResponsesError, match="item 1 is scored 0 to 2"):
        poly_cat_step(mixed_pool, [0, 1], [3, 3], rules=rules)
    with pytest.raises(InvalidResponsesError, match="more than once"):
        poly_cat_step(mixed_pool, [0, 0], [1, 1], rules=rules)
    with pytest.raises(InvalidResponsesError, match="outside the pool"):
        poly_cat_step(mixed_pool, [500], [1], rules=rules)
    with pytest.raises(InvalidResponsesError, match="lengths must match"):
        poly_cat_step(mixed_pool, [0, 1], [1], rules=rules)
    session = PolyCatSession(mixed_pool, rules=rules)
    with pytest.raises(InvalidResponsesError, match="scored 0 to 1"):
        session.record(3, 2)


def test_simulation_on_a_mixed_pool_feeds_calibration_and_exposure_control(mixed_pool):
    rules = StoppingRule(max_items=10)
    thetas = np.random.default_rng(21).normal(0, 1, 150)
    result = simulate(mixed_pool, thetas, rules=rules, rng=5)  # dispatches to simulate_poly
    again = simulate_poly(mixed_pool, thetas, rules=rules, rng=5)
    np.testing.assert_array_equal(result.theta, again.theta)
    person, item, score = result.long_format()
    assert len(person) == 1500 and score.max() == 3
    assert (score <= mixed_pool.max_score[item]).all()
    assert result.rmse < 0.45
    # Sympson-Hetter parameters for a 30 % exposure cap, calibrated on the mixed pool.
    k = sympson_hetter_calibrate(mixed_pool, thetas, rules=rules, r_max=0.3, rounds=6, rng=2)
    assert (k < 1).any()
    capped = simulate(
        mixed_pool.with_exposure_k(k), thetas, rules=rules, selector="sympson-hetter", rng=3
    )
    assert capped.exposure.max() < result.exposure.max()
