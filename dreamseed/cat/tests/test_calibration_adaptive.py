"""Calibration on data the adaptive test itself produced: sparse, and dependent on ability.

Each data set is a 200-item 2PL bank given to 3,000 simulees as a 25-item CAT with randomesque
5 (the app's default) by the engine's own simulator, so every item was chosen from the answers
before it. Some items are seen by thousands, many by a handful: the case where a fit that
clips its Newton steps component by component left items at their starting values and
called them fine.
"""

import numpy as np
import pytest

from dreamseed.cat import ItemPool, StoppingRule, make_params
from dreamseed.cat.calibration import (
    FLAG_AT_BOUND,
    FLAG_LARGE_SE,
    FLAG_NOT_CONVERGED,
    calibrate,
    item_convergence,
    scaled_step,
)
from dreamseed.cat.linking import calibrate_with_anchors
from dreamseed.cat.simulation import simulate

N_ITEMS = 200
N_SIMULEES = 3000
TEST_LENGTH = 25


def adaptive_data(seed: int):
    """(truth, person, item, response) from running the CAT on N(0, 1) simulees."""
    rng = np.random.default_rng(seed)
    truth = make_params(rng.normal(0, 1, N_ITEMS), a=rng.lognormal(0, 0.25, N_ITEMS))
    result = simulate(
        ItemPool(truth),
        rng.normal(0, 1, N_SIMULEES),
        rules=StoppingRule(max_items=TEST_LENGTH),
        selector="randomesque",
        randomesque_k=5,
        rng=rng,
    )
    return (truth, *result.long_format())


@pytest.fixture(scope="module")
def data_sets():
    return {seed: adaptive_data(seed) for seed in (0, 1, 3, 8, 9)}


def usable(flags):
    return np.array([flag == "" for flag in flags])


def test_the_simulated_data_is_sparse_and_adaptive(data_sets):
    _truth, _person, item, response = data_sets[0]
    assert len(response) == N_SIMULEES * TEST_LENGTH
    counts = np.bincount(item, minlength=N_ITEMS)
    # Exposure is very uneven: some items in most tests, others in a handful.
    assert counts.max() > 1000 and (counts < 50).sum() > 50


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_free_fit_on_adaptive_data_recovers_every_item_it_calls_usable(data_sets, seed):
    truth, person, item, response = data_sets[seed]
    result = calibrate(person, item, response, n_items=N_ITEMS, model="2PL")
    ok = usable(result.flags)
    assert ok.sum() >= 50
    error_b = np.abs(result.params[ok, 1] - truth[ok, 1])
    assert np.sqrt(np.mean(error_b**2)) < 0.15
    assert np.sqrt(np.mean((result.params[ok, 0] - truth[ok, 0]) ** 2)) < 0.3
    assert error_b.max() < 1.0
    # A usable item has left its starting slope and has reached the likelihood's maximum.
    assert not np.any(result.params[ok, 0] == 1.0)
    assert np.all(result.remaining_step[ok] <= 0.05)


@pytest.mark.parametrize("seed", [3, 8, 9])
def test_anchored_fit_on_adaptive_data_leaves_no_stuck_item_marked_usable(data_sets, seed):
    truth, person, item, response = data_sets[seed]
    free = np.zeros(N_ITEMS, dtype=bool)
    free[np.random.default_rng(seed).choice(N_ITEMS, 40, replace=False)] = True
    bank = truth.copy()
    bank[free] = np.nan
    result = calibrate_with_anchors(person, item, response, params=bank, free=free, model="2PL")
    ok = free & usable(result.flags)
    assert ok.sum() >= 8
    assert not np.any(result.params[ok, 0] == 1.0)  # the starting slope
    assert np.all(np.abs(result.params[ok, 1]) < 5)
    assert np.all(np.abs(result.params[ok, 1] - truth[ok, 1]) < 1.0)
    assert np.sqrt(np.mean((result.params[ok, 1] - truth[ok, 1]) ** 2)) < 0.25
    estimated = free & np.isfinite(result.params[:, 1])
    flagged = estimated & ~ok
    assert set(np.array(result.flags, dtype=object)[flagged]) <= {
        FLAG_AT_BOUND,
        FLAG_NOT_CONVERGED,
        FLAG_LARGE_SE,
    }


def test_a_long_step_is_shrunk_as_a_whole_keeping_its_direction():
    step = np.array([[3.0, -0.5], [0.2, 0.1], [-4.0, 8.0]])
    shrunk = scaled_step(step)
    assert np.abs(shrunk).max(axis=1) == pytest.approx([1.0, 0.2, 1.0])
    # Same direction: a positive multiple of the original step.
    assert shrunk[0] == pytest.approx(step[0] / 3.0)
    assert shrunk[1] == pytest.approx(step[1])
    assert shrunk[2] == pytest.approx(step[2] / 8.0)


def test_convergence_rule_flags_stuck_unfinished_imprecise_and_bound_items():
    start = np.array([[1.0, 0.5, 0.0]] * 5)
    estimates = np.array(
        [
            [1.2, -0.3, 0.0],  # fine
            [1.0, 0.5, 0.0],  # never moved from its start
            [1.1, 0.2, 0.0],  # moved, but the gradient is not near zero
            [0.4, 2.5, 0.0],  # imprecise
            [0.05, 9.0, 0.0],  # slope on its lower bound
        ]
    )
    se = np.array(
        [[0.1, 0.1, np.nan], [0.1, 0.1, np.nan], [0.1, 0.1, np.nan], [0.2, 1.8, np.nan],
         [0.3, 40.0, np.nan]]
    )  # fmt: skip
    remaining = np.array([1e-5, 0.0, 0.4, 1e-5, 1e-5])
    flags = item_convergence(start=start, estimates=estimates, se=se, remaining_step=remaining)
    assert flags.tolist() == ["", FLAG_NOT_CONVERGED, FLAG_NOT_CONVERGED, FLAG_LARGE_SE,
                              FLAG_AT_BOUND]  # fmt: skip
    # A missing standard error is no evidence of precision.
    se[0, 1] = np.nan
    assert (
        item_convergence(start=start, estimates=estimates, se=se, remaining_step=remaining)[0]
        == FLAG_LARGE_SE
    )
    # The limits can be turned off.
    relaxed = item_convergence(
        start=start, estimates=estimates, se=se, remaining_step=remaining, max_se=None
    )
    assert relaxed[3] == ""
