"""Stopping rules and the step API the web layer calls."""

import numpy as np
import pytest

from dreamseed.cat import CatSession, ItemPool, StoppingRule, cat_step, should_stop
from dreamseed.cat.estimation import estimate
from dreamseed.cat.simulation import simulate

from .conftest import random_bank


def test_should_stop_reasons_in_priority_order():
    rule = StoppingRule(max_items=10, min_items=3, se_target=0.3)
    assert should_stop(rule, n_administered=10, se=0.9, n_eligible=5) == (True, "max_items")
    assert should_stop(rule, n_administered=2, se=0.1, n_eligible=0) == (True, "pool_exhausted")
    assert should_stop(rule, n_administered=2, se=0.1, n_eligible=5) == (False, None)
    assert should_stop(rule, n_administered=3, se=0.3, n_eligible=5) == (True, "se_target")
    assert should_stop(rule, n_administered=3, se=0.31, n_eligible=5) == (False, None)


def test_se_target_never_stops_before_the_first_item():
    rule = StoppingRule(se_target=5.0)
    assert should_stop(rule, n_administered=0, se=1.0, n_eligible=5) == (False, None)


def test_fixed_length_test_gives_exactly_max_items(pool_3pl):
    result = simulate(pool_3pl, [-1.0, 0.0, 1.0], rules=StoppingRule(max_items=12), rng=0)
    assert result.n_items.tolist() == [12, 12, 12]
    assert set(result.reasons) == {"max_items"}


def test_se_target_with_min_and_max_items(pool_3pl):
    rules = StoppingRule(max_items=40, min_items=8, se_target=0.4)
    result = simulate(pool_3pl, np.linspace(-2, 2, 20), rules=rules, rng=0)
    assert result.n_items.min() >= 8 and result.n_items.max() <= 40
    for n, se, reason in zip(result.n_items, result.se, result.reasons, strict=True):
        assert (reason == "se_target" and se <= 0.4) or (reason == "max_items" and n == 40)


def test_an_exhausted_pool_ends_the_test_cleanly():
    pool = ItemPool(random_bank(5, model="2PL"))
    result = simulate(pool, [0.0, 2.0], rules=StoppingRule(max_items=10, min_items=8), rng=0)
    assert result.n_items.tolist() == [5, 5]
    assert set(result.reasons) == {"pool_exhausted"}
    step = cat_step(pool, [0, 1, 2, 3], [1, 0, 1, 0], rules=StoppingRule(), excluded=[4])
    assert step.stop and step.reason == "pool_exhausted" and step.next_item is None


def test_cat_step_rebuilds_the_same_state_as_a_session(pool_3pl):
    rules = StoppingRule(max_items=10)
    session = CatSession(pool_3pl, rules=rules, rng=0)
    rng = np.random.default_rng(1)
    step = session.next_step()
    while not step.stop:
        stateless = cat_step(pool_3pl, session.administered, session.responses, rules=rules)
        assert stateless.next_item == step.next_item
        assert stateless.theta == pytest.approx(step.theta, abs=1e-12)
        assert stateless.se == pytest.approx(step.se, abs=1e-12)
        session.record(step.next_item, int(rng.random() < 0.6))
        step = session.next_step()
    final = cat_step(pool_3pl, session.administered, session.responses, rules=rules)
    assert final.stop and final.reason == "max_items" and final.n_items == 10


@pytest.mark.parametrize("estimator", ["eap", "map", "mle", "wle"])
def test_cat_step_estimate_matches_the_estimator_on_the_answered_items(pool_3pl, estimator):
    items, answers = [3, 17, 42, 99, 150], [1, 0, 1, 1, 0]
    step = cat_step(pool_3pl, items, answers, rules=StoppingRule(max_items=20), estimator=estimator)
    theta, se = estimate(estimator, pool_3pl.params[items], answers)
    assert step.theta == pytest.approx(theta, abs=1e-3 if estimator == "eap" else 1e-9)
    assert step.se == pytest.approx(se, abs=1e-3 if estimator == "eap" else 1e-9)
    assert step.next_item not in items
    assert step.next_item_id == f"item-{step.next_item}"
    assert step.information > 0


def test_first_step_starts_at_the_prior(pool_3pl):
    step = cat_step(pool_3pl, [], [], rules=StoppingRule(max_items=5))
    assert step.theta == pytest.approx(0.0, abs=1e-9)
    assert step.se == pytest.approx(1.0, abs=1e-6)
    assert not step.stop and step.n_candidates == pool_3pl.n_items


def test_pool_ids_map_to_indices(pool_3pl):
    assert pool_3pl.indices_of(["item-5", "item-0"]).tolist() == [5, 0]


def test_cat_accuracy_beats_the_rasch_floor_on_average():
    # 2 / sqrt(L) is the SE of a Rasch test of L perfectly targeted items; a 2PL bank with
    # a ~ 1 and a N(0, 1) prior should do at least about as well.
    pool = ItemPool(random_bank(400, model="2PL", seed=9))
    thetas = np.random.default_rng(10).normal(size=150)
    result = simulate(pool, thetas, rules=StoppingRule(max_items=20), rng=11)
    assert result.rmse < 2 / np.sqrt(20) * 1.15
    assert abs(result.bias) < 0.1
