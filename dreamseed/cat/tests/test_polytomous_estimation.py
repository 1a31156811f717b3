"""EAP, MAP, MLE and WLE on mixed banks: agreement with the dichotomous estimators and with
the estimating equations on hand-made patterns."""

import numpy as np
import pytest
from scipy.integrate import quad

from dreamseed.cat.estimation import THETA_BOUNDS, Prior, estimate
from dreamseed.cat.estimation_poly import estimate_poly, score_information
from dreamseed.cat.exceptions import ConfigurationError, InvalidResponsesError
from dreamseed.cat.polytomous import PolyBank, expected_score, log_likelihood, make_bank

from .conftest import random_bank

METHODS = ("eap", "map", "mle", "wle")


def gpcm_bank() -> PolyBank:
    return make_bank(
        [0.8, 1.3, 1.0, 1.7, 0.6],
        [[-1.5, -0.2, 1.0], [-0.5, 0.5], [0.0, 1.2, -0.3], [-1.0, 0.0, 1.0, 2.0], [0.4]],
        ["GPCM", "GPCM", "GPCM", "GPCM", "2PL"],
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model", ["2PL", "3PL"])
def test_all_dichotomous_bank_gives_the_dichotomous_estimates(method, model):
    params = random_bank(25, model=model, seed=7)
    rng = np.random.default_rng(11)
    bank = PolyBank.from_dichotomous(params)
    for _ in range(5):
        responses = rng.integers(0, 2, len(params))
        ours = estimate_poly(method, bank, responses)
        theirs = estimate(method, params, responses)
        np.testing.assert_allclose(ours, theirs, atol=1e-7)


@pytest.mark.parametrize("method", ["mle", "wle", "map"])
def test_two_category_gpcm_and_grm_give_the_2pl_estimates(method):
    params = random_bank(15, model="2PL", seed=8)
    responses = np.random.default_rng(3).integers(0, 2, 15)
    expected = estimate(method, params, responses)
    for model in ("GPCM", "GRM"):
        bank = make_bank(params[:, 0], params[:, 1:2], model)
        np.testing.assert_allclose(estimate_poly(method, bank, responses), expected, atol=1e-7)


def test_pcm_mle_depends_on_the_total_score_only():
    # Under the partial credit model the raw score is sufficient: the MLE solves
    # sum_i E_i(theta) = sum_i x_i whatever the pattern with that total.
    bank = make_bank(1.0, [[-1.0, 0.5], [0.0, 0.2, 1.0], [-0.7], [0.3, -0.3]], "PCM")
    first = estimate_poly("mle", bank, [2, 0, 1, 1])
    second = estimate_poly("mle", bank, [0, 3, 0, 1])
    np.testing.assert_allclose(first, second, atol=1e-7)
    np.testing.assert_allclose(expected_score(first[0], bank).sum(), 4.0, atol=1e-6)


def test_gpcm_mle_solves_the_weighted_score_equation():
    bank = gpcm_bank()
    scores = np.array([2, 1, 0, 3, 1])
    theta, se = estimate_poly("mle", bank, scores)
    # GPCM: d ln L / d theta = sum_i a_i (x_i - E_i(theta)).
    residual = (bank.a * (scores - expected_score(theta, bank))).sum()
    assert abs(residual) < 1e-6
    _, info, _ = score_information(np.array(theta), bank, scores)
    np.testing.assert_allclose(se, 1 / np.sqrt(info), rtol=1e-9)


def test_map_and_wle_solve_their_equations():
    bank = gpcm_bank()
    scores = np.array([1, 2, 2, 1, 0])
    prior = Prior(0.3, 1.2)
    theta, _ = estimate_poly("map", bank, scores, prior=prior)
    score, _, _ = score_information(np.array(theta), bank, scores)
    assert abs(score - (theta - 0.3) / 1.44) < 1e-6
    theta, _ = estimate_poly("wle", bank, scores)
    score, info, warm_j = score_information(np.array(theta), bank, scores)
    assert abs(score + warm_j / (2 * info)) < 1e-6


def test_eap_matches_adaptive_quadrature():
    bank = gpcm_bank()
    scores = np.array([3, 1, 2, 2, 1])

    def density(t, power):
        return t**power * np.exp(log_likelihood(t, bank, scores) - 0.5 * t * t)

    mass = quad(density, -6, 6, args=(0,))[0]
    mean = quad(density, -6, 6, args=(1,))[0] / mass
    sd = np.sqrt(quad(density, -6, 6, args=(2,))[0] / mass - mean * mean)
    theta, se = estimate_poly("eap", bank, scores)
    assert abs(theta - mean) < 1e-4
    assert abs(se - sd) < 1e-4


def test_higher_scores_give_higher_estimates():
    bank = gpcm_bank()
    low, high = np.array([1, 0, 1, 1, 0]), np.array([1, 1, 1, 2, 0])
    for method in METHODS:
        assert estimate_poly(method, bank, high)[0] > estimate_poly(method, bank, low)[0]


def test_extreme_patterns():
    bank = gpcm_bank()
    top = bank.n_categories - 1
    assert estimate_poly("mle", bank, top)[0] == THETA_BOUNDS[1]
    assert estimate_poly("mle", bank, np.zeros(5, dtype=int))[0] == THETA_BOUNDS[0]
    wle_top = estimate_poly("wle", bank, top)[0]
    assert 1.0 < wle_top < THETA_BOUNDS[1]
    eap_top, eap_se = estimate_poly("eap", bank, top)
    assert 0.5 < eap_top < wle_top and 0 < eap_se < 1


def test_no_responses_give_the_prior():
    prior = Prior(0.5, 0.8)
    for method in METHODS:
        theta, se = estimate_poly(method, np.empty((0, 4)), [], prior=prior)
        if method in ("eap", "map"):
            assert (theta, se) == pytest.approx((0.5, 0.8), abs=1e-3)
        else:
            assert (theta, se) == (0.0, 1.0)


def test_bad_input():
    bank = gpcm_bank()
    with pytest.raises(InvalidResponsesError, match="item 4 is scored 0 to 1"):
        estimate_poly("mle", bank, [0, 0, 0, 0, 2])
    with pytest.raises(ConfigurationError, match="unknown estimator"):
        estimate_poly("bayes", bank, [0] * 5)
