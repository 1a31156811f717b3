"""Ability estimators against brute-force numerics."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import norm

from dreamseed.cat import (
    Prior,
    estimate,
    estimate_eap,
    estimate_map,
    estimate_mle,
    estimate_wle,
    information,
    log_likelihood,
    make_params,
)
from dreamseed.cat.estimation import THETA_BOUNDS

PARAMS = make_params(
    [-1.2, -0.4, 0.0, 0.6, 1.3, 0.2], a=[0.8, 1.4, 1.0, 1.9, 1.2, 0.7], c=[0, 0.2, 0.1, 0, 0.25, 0]
)
RESPONSES = np.array([1, 1, 0, 1, 0, 0])


def _integral(f):
    return quad(f, -10, 10, points=[-2, 0, 2], limit=200, epsabs=1e-13)[0]


@pytest.mark.parametrize("prior", [Prior(), Prior(mean=0.5, sd=0.8)])
def test_eap_matches_adaptive_numerical_integration(prior):
    def posterior(t):
        return np.exp(log_likelihood(t, PARAMS, RESPONSES)) * norm.pdf(t, prior.mean, prior.sd)

    mass = _integral(posterior)
    mean = _integral(lambda t: t * posterior(t)) / mass
    sd = np.sqrt(_integral(lambda t: (t - mean) ** 2 * posterior(t)) / mass)
    theta, se = estimate_eap(PARAMS, RESPONSES, prior=prior)
    assert theta == pytest.approx(mean, abs=1e-6)
    assert se == pytest.approx(sd, abs=1e-6)


def test_mle_matches_scipy_maximisation_and_se_is_inverse_root_information():
    expected = minimize_scalar(
        lambda t: -log_likelihood(t, PARAMS, RESPONSES),
        bounds=(-4, 4),
        method="bounded",
        options={"xatol": 1e-10},
    ).x
    theta, se = estimate_mle(PARAMS, RESPONSES)
    assert theta == pytest.approx(expected, abs=1e-6)
    assert se == pytest.approx(1 / np.sqrt(information(theta, PARAMS).sum()))


def test_map_maximises_the_posterior_and_adds_prior_precision_to_information():
    prior = Prior(mean=-0.3, sd=0.9)
    expected = minimize_scalar(
        lambda t: -(log_likelihood(t, PARAMS, RESPONSES) + prior.log_density(t)),
        bounds=(-4, 4),
        method="bounded",
        options={"xatol": 1e-10},
    ).x
    theta, se = estimate_map(PARAMS, RESPONSES, prior=prior)
    assert theta == pytest.approx(expected, abs=1e-6)
    assert se == pytest.approx(1 / np.sqrt(information(theta, PARAMS).sum() + 1 / 0.81))


def test_wle_for_2pl_maximises_likelihood_times_root_information():
    # For the 1PL/2PL, Warm's estimator is the mode of L(theta) * sqrt(I(theta)).
    params = make_params([-1.0, -0.2, 0.4, 1.1], a=[1.2, 0.8, 1.5, 1.0])
    responses = [1, 1, 0, 0]

    def weighted(t):
        return log_likelihood(t, params, responses) + 0.5 * np.log(information(t, params).sum())

    expected = minimize_scalar(
        lambda t: -weighted(t), bounds=(-4, 4), method="bounded", options={"xatol": 1e-10}
    ).x
    assert estimate_wle(params, responses)[0] == pytest.approx(expected, abs=1e-6)


def test_wle_solves_warms_equation_for_3pl():
    def warm(t, h=1e-5):
        # score + J / (2 I), J = sum P' P'' / (P Q), with finite-difference derivatives
        from dreamseed.cat import probability

        p = probability(t, PARAMS)
        d1 = (probability(t + h, PARAMS) - probability(t - h, PARAMS)) / (2 * h)
        d2 = (probability(t + h, PARAMS) - 2 * p + probability(t - h, PARAMS)) / h**2
        pq = p * (1 - p)
        score = ((RESPONSES - p) * d1 / pq).sum()
        return score + (d1 * d2 / pq).sum() / (2 * (d1**2 / pq).sum())

    theta, se = estimate_wle(PARAMS, RESPONSES)
    assert theta == pytest.approx(brentq(warm, -3, 3, xtol=1e-10), abs=1e-4)
    assert se == pytest.approx(1 / np.sqrt(information(theta, PARAMS).sum()))


@pytest.mark.parametrize("model", ["1PL", "2PL", "3PL"])
@pytest.mark.parametrize("answer", [0, 1])
def test_constant_patterns_give_finite_sane_estimates(model, answer):
    b = np.linspace(-1, 1, 8)
    params = {
        "1PL": make_params(b),
        "2PL": make_params(b, a=np.linspace(0.8, 1.6, 8)),
        "3PL": make_params(b, a=1.2, c=0.2),
    }[model]
    responses = np.full(8, answer)
    low, high = THETA_BOUNDS
    sign = 1 if answer else -1
    for method in ("eap", "map", "mle", "wle"):
        theta, se = estimate(method, params, responses)
        assert np.isfinite(theta) and np.isfinite(se) and se > 0, method
        assert low <= theta <= high, method
        assert sign * theta > 1.0, method  # all right is high ability, all wrong is low
    theta_mle, _ = estimate_mle(params, responses)
    assert theta_mle == (high if answer else low)  # the likelihood climbs to the bound
    if model != "3PL":
        theta_wle, _ = estimate_wle(params, responses)
        assert low < theta_wle < high  # Warm's correction gives an interior estimate


def test_no_responses_start_at_the_prior():
    empty = np.empty((0, 4))
    assert estimate_eap(empty, [], prior=Prior(0.4, 0.7)) == pytest.approx((0.4, 0.7), abs=1e-6)
    assert estimate_map(empty, [], prior=Prior(0.4, 0.7)) == (0.4, 0.7)
    assert estimate_mle(empty, []) == (0.0, 1.0)


def test_estimators_agree_on_a_long_informative_test():
    rng = np.random.default_rng(7)
    params = make_params(rng.normal(size=200), a=rng.lognormal(0, 0.2, 200))
    from dreamseed.cat import probability

    responses = (rng.random(200) < probability(0.8, params)).astype(int)
    estimates = [estimate(m, params, responses)[0] for m in ("eap", "map", "mle", "wle")]
    assert max(estimates) - min(estimates) < 0.1
    assert np.mean(estimates) == pytest.approx(0.8, abs=0.3)
