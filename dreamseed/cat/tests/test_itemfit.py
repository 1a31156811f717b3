"""Item fit: S-X2 and mean squares catch misfitting items in complete data; the adaptive-data
check keeps its error rate on data the CAT itself produced, where S-X2 does not."""

import numpy as np
import pytest

from dreamseed.cat import ItemPool, StoppingRule, make_params, probability
from dreamseed.cat.itemfit import flag_mean_square, mean_squares, prequential_fit, s_x2
from dreamseed.cat.simulation import simulate


@pytest.fixture(scope="module")
def complete_data():
    """20 2PL items and 2,000 persons; items 0 (much steeper) and 1 (guessing) do not follow
    the parameters they are checked against."""
    rng = np.random.default_rng(1)
    truth = make_params(rng.normal(0, 1, 20), a=rng.lognormal(0, 0.25, 20))
    generating = truth.copy()
    generating[0, 0] = 4.0
    generating[1, 2] = 0.35
    theta = rng.normal(0, 1, 2000)
    answers = (rng.random((2000, 20)) < probability(theta, generating)).astype(np.int8)
    person, item = np.divmod(np.arange(2000 * 20), 20)
    return truth, theta, person, item, answers[person, item]


@pytest.fixture(scope="module")
def cat_data():
    rng = np.random.default_rng(7)
    pool = ItemPool(make_params(rng.normal(0, 1, 200), a=rng.lognormal(0, 0.25, 200)))
    result = simulate(
        pool, rng.normal(0, 1, 2000), rules=StoppingRule(max_items=25),
        selector="randomesque", randomesque_k=5, rng=rng,
    )  # fmt: skip
    person, item, answer = result.long_format()
    order = np.concatenate([np.arange(len(items)) for items in result.administered])
    return pool.params, person, item, answer, order


def test_s_x2_rejects_the_misfitting_items_of_a_fixed_form(complete_data):
    truth, _theta, person, item, answer = complete_data
    statistic, df, p_value = s_x2(person, item, answer, truth)
    assert p_value[0] < 1e-6 and p_value[1] < 1e-6
    assert np.all(df[2:] >= 10)  # summed scores 0-20, sparse ends merged
    assert np.median(p_value[2:]) > 0.1
    assert np.all(statistic >= 0)


def test_mean_squares_are_one_for_fitting_items_and_not_for_the_others(complete_data):
    truth, theta, person, item, answer = complete_data
    infit, outfit = mean_squares(theta, item, answer, truth, person_idx=person)
    assert infit[2:] == pytest.approx(np.ones(18), abs=0.1)
    assert outfit[2:] == pytest.approx(np.ones(18), abs=0.15)
    assert infit[0] < 0.8 and outfit[0] < 0.8  # steeper than the model: too predictable
    assert infit[1] > 1.3 and outfit[1] > 1.3  # lucky guesses: noisier than the model
    assert flag_mean_square(infit, outfit).tolist() == [True, True] + [False] * 18


def test_on_adaptive_data_the_prequential_check_keeps_its_error_rate(cat_data):
    params, person, item, answer, order = cat_data
    _, df, p_value = prequential_fit(person, item, answer, order, params)
    tested = np.isfinite(p_value)
    assert tested.sum() > 50 and np.all(df[tested] >= 1)
    assert (p_value[tested] < 0.05).mean() < 0.12
    # S-X2 conditions on the summed score as if the form were fixed: here it rejects most
    # items even though every answer follows the model (why the app does not flag on it).
    _, _, sx2_p = s_x2(person, item, answer, params)
    assert (sx2_p[np.isfinite(sx2_p)] < 0.05).mean() > 0.3


def test_on_adaptive_data_the_prequential_check_finds_wrong_difficulties(cat_data):
    params, person, item, answer, order = cat_data
    wrong = params.copy()
    wrong[:20, 1] += 0.8
    _, _, p_value = prequential_fit(person, item, answer, order, wrong)
    shifted = p_value[:20][np.isfinite(p_value[:20])]
    assert len(shifted) >= 5 and (shifted < 0.001).mean() > 0.8
