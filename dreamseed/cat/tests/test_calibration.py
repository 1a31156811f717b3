"""MML/EM calibration recovers known parameters from simulated data, complete and sparse."""

import numpy as np
import pytest

from dreamseed.cat import make_params, probability
from dreamseed.cat.calibration import calibrate


def simulate_responses(params, n_persons, *, per_person=None, seed=0):
    """Long-format responses; each person answers ``per_person`` random items (all if None)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n_persons)
    n_items = len(params)
    answers = (rng.random((n_persons, n_items)) < probability(theta, params)).astype(np.int8)
    if per_person is None:
        person, item = np.divmod(np.arange(n_persons * n_items), n_items)
    else:
        item = np.argsort(rng.random((n_persons, n_items)), axis=1)[:, :per_person].ravel()
        person = np.repeat(np.arange(n_persons), per_person)
    return person, item, answers[person, item]


def rmse(estimate, truth):
    return float(np.sqrt(np.mean((estimate - truth) ** 2)))


@pytest.fixture(scope="module")
def true_2pl():
    rng = np.random.default_rng(21)
    return make_params(rng.normal(0, 1, 30), a=rng.lognormal(0, 0.25, 30))


def test_2pl_complete_data_recovers_parameters(true_2pl):
    person, item, response = simulate_responses(true_2pl, 2000, seed=1)
    result = calibrate(person, item, response, model="2PL")
    assert result.converged and result.flags == ("",) * 30
    assert rmse(result.params[:, 0], true_2pl[:, 0]) < 0.1
    assert rmse(result.params[:, 1], true_2pl[:, 1]) < 0.1
    assert np.all(result.params[:, 2] == 0) and np.all(result.params[:, 3] == 1)
    # Standard errors describe the actual estimation error.
    ratio = np.mean(result.se[:, 1]) / rmse(result.params[:, 1], true_2pl[:, 1])
    assert 0.6 < ratio < 1.6
    assert np.all(np.isnan(result.se[:, 2]))
    # EM never lowers the marginal likelihood.
    assert np.all(np.diff(result.history) > -1e-6 * abs(result.history[-1]))


def test_2pl_sparse_data_as_cat_produces(true_2pl):
    person, item, response = simulate_responses(true_2pl, 4000, per_person=10, seed=2)
    result = calibrate(person, item, response, model="2PL")
    assert result.converged
    assert rmse(result.params[:, 0], true_2pl[:, 0]) < 0.15
    assert rmse(result.params[:, 1], true_2pl[:, 1]) < 0.15


def test_1pl_recovers_difficulties_and_the_common_slope():
    truth = make_params(np.linspace(-2, 2, 25), a=1.3)
    person, item, response = simulate_responses(truth, 1500, seed=3)
    result = calibrate(person, item, response, model="1PL")
    assert np.ptp(result.params[:, 0]) == 0  # one slope for all items
    assert result.params[0, 0] == pytest.approx(1.3, abs=0.08)
    assert rmse(result.params[:, 1], truth[:, 1]) < 0.1
    assert np.all(result.se[:, 0] > 0) and np.all(result.se[:, 1] > 0)


def test_3pl_recovers_parameters_with_a_prior_on_c():
    rng = np.random.default_rng(4)
    truth = make_params(
        rng.normal(0, 1, 25), a=rng.lognormal(0.2, 0.2, 25), c=rng.uniform(0.1, 0.3, 25)
    )
    person, item, response = simulate_responses(truth, 5000, seed=5)
    result = calibrate(person, item, response, model="3PL")
    assert rmse(result.params[:, 0], truth[:, 0]) < 0.25
    assert rmse(result.params[:, 1], truth[:, 1]) < 0.2
    assert rmse(result.params[:, 2], truth[:, 2]) < 0.06
    assert np.all((result.se[:, 2] > 0) & (result.se[:, 2] < 0.2))


def test_items_that_cannot_be_estimated_are_flagged_not_fatal(true_2pl):
    person, item, response = simulate_responses(true_2pl, 800, seed=6)
    response = response.copy()
    response[item == 0] = 1  # nobody gets item 0 wrong
    keep = (item != 1) | (person < 5)  # only five people answered item 1
    result = calibrate(person[keep], item[keep], response[keep], model="2PL", n_items=31)
    assert result.flags[0] == "no_variance"
    assert result.flags[1] == "too_few_responses"
    assert result.flags[30] == "too_few_responses"  # never answered at all
    assert result.n_responses[1] == 5 and result.n_responses[30] == 0
    assert np.all(np.isnan(result.params[[0, 1, 30]]))
    assert np.all(np.isfinite(result.params[2:30]))
    assert result.flagged.tolist() == [0, 1, 30]


def test_an_unidentified_item_is_flagged_at_bound():
    # Item 0 is answered correctly by exactly the people who are above a cut on the others:
    # perfect discrimination, so a runs to its upper limit.
    truth = make_params(np.linspace(-1, 1, 10))
    person, item, response = simulate_responses(truth, 600, seed=7)
    rest = np.bincount(person, weights=response * (item != 0), minlength=600)
    response = np.where(item == 0, (rest[person] >= 5).astype(np.int8), response)
    result = calibrate(person, item, response, model="2PL")
    assert result.flags[0] == "at_bound"
    assert result.flags[1:] == ("",) * 9


def test_nothing_estimable_returns_all_flags():
    result = calibrate([0, 1], [0, 0], [1, 0], model="2PL")
    assert result.flags == ("too_few_responses",)
    assert result.iterations == 0 and not result.converged
