"""Item response functions against their closed forms."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from dreamseed.cat import information, information_peak, log_likelihood, make_params, probability
from dreamseed.cat.irt import test_information as total_information


def test_probability_at_difficulty_is_midway_between_asymptotes():
    params = make_params(
        [-1.0, 0.5, 2.0], a=[0.7, 1.5, 2.2], c=[0.0, 0.2, 0.25], d=[1.0, 0.95, 0.9]
    )
    at_b = np.array([probability(b, params)[i] for i, b in enumerate(params[:, 1])])
    assert at_b == pytest.approx((params[:, 2] + params[:, 3]) / 2)


def test_probability_follows_the_4pl_formula():
    params = make_params([0.3], a=1.7, c=0.15, d=0.92)
    theta = 1.1
    expected = 0.15 + (0.92 - 0.15) / (1 + np.exp(-1.7 * (theta - 0.3)))
    assert probability(theta, params)[0] == pytest.approx(expected)


def test_probability_broadcasts_abilities_against_items():
    params = make_params(np.zeros(4))
    assert probability(np.zeros((2, 3)), params).shape == (2, 3, 4)
    assert probability(0.0, params).shape == (4,)


def test_1pl_defaults_and_2_or_3_column_banks_are_completed():
    params = make_params([0.0, 1.0])
    assert params.tolist() == [[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 0.0, 1.0]]
    from dreamseed.cat import validate_params

    assert validate_params([[1.2, 0.5]]).tolist() == [[1.2, 0.5, 0.0, 1.0]]
    assert validate_params([[1.2, 0.5, 0.2]]).tolist() == [[1.2, 0.5, 0.2, 1.0]]


def test_2pl_information_is_a_squared_pq_and_peaks_at_b():
    params = make_params([0.4], a=1.3)
    p = probability(-0.2, params)[0]
    assert information(-0.2, params)[0] == pytest.approx(1.3**2 * p * (1 - p))
    assert information_peak(params)[0] == pytest.approx(0.4)
    assert information(0.4, params)[0] == pytest.approx(1.3**2 / 4)


@pytest.mark.parametrize(("a", "b", "c"), [(1.0, 0.0, 0.2), (1.8, -0.7, 0.25), (0.6, 1.5, 0.1)])
def test_3pl_information_peak_matches_birnbaum_closed_form(a, b, c):
    params = make_params([b], a=a, c=c)
    expected = b + np.log((1 + np.sqrt(1 + 8 * c)) / 2) / a
    found = minimize_scalar(
        lambda t: -information(t, params)[0],
        bounds=(b - 4, b + 4),
        method="bounded",
        options={"xatol": 1e-10},
    ).x
    assert information_peak(params)[0] == pytest.approx(expected)
    assert found == pytest.approx(expected, abs=1e-5)


def test_4pl_information_peak_is_the_numeric_maximum():
    params = make_params([0.5, -1.0], a=[1.4, 0.9], c=[0.2, 0.1], d=[0.9, 0.97])
    grid = np.linspace(-6, 6, 240_001)
    brute = grid[np.argmax(information(grid, params), axis=0)]
    assert information_peak(params) == pytest.approx(brute, abs=1e-4)


def test_information_equals_squared_slope_over_pq_numerically():
    params = make_params([0.2, -0.3], a=[1.1, 2.0], c=[0.2, 0.0], d=[0.95, 1.0])
    theta, h = 0.35, 1e-6
    slope = (probability(theta + h, params) - probability(theta - h, params)) / (2 * h)
    p = probability(theta, params)
    assert information(theta, params) == pytest.approx(slope**2 / (p * (1 - p)), rel=1e-6)
    assert total_information(theta, params) == pytest.approx((slope**2 / (p * (1 - p))).sum())


def test_log_likelihood_sums_log_p_and_log_q():
    params = make_params([-0.5, 0.0, 0.5], a=[1.0, 1.5, 0.8], c=[0.2, 0.0, 0.1])
    responses = [1, 0, 1]
    p = probability(0.3, params)
    expected = np.log(p[0]) + np.log(1 - p[1]) + np.log(p[2])
    assert log_likelihood(0.3, params, responses) == pytest.approx(expected)
    assert log_likelihood(np.array([0.3, 0.3]), params, responses) == pytest.approx([expected] * 2)


def test_log_likelihood_stays_finite_when_the_model_says_impossible():
    params = make_params([0.0], a=1.0, d=1.0)
    assert np.isfinite(log_likelihood(60.0, params, [0]))


def test_scalar_item_information_matches_the_vectorised_formula():
    from dreamseed.cat.irt import item_information

    params = make_params([0.2, -0.3, 1.0], a=[1.1, 2.0, 0.7], c=[0.2, 0.0, 0.1], d=[0.95, 1.0, 1.0])
    for theta in (-30.0, -1.0, 0.4, 2.5, 30.0):
        expected = information(theta, params)
        found = [item_information(theta, *row) for row in params.tolist()]
        assert found == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_scalar_item_probability_matches_the_vectorised_and_the_former_inline_formulas():
    import math

    from dreamseed.cat.irt import item_probability

    items = [(1.3, -0.4, 0.2, 0.97), (0.6, 1.1, 0.0, 1.0), (2.2, 0.3, 0.15, 0.9)]
    params = np.array(items)  # columns a, b, c, d
    for theta in np.linspace(-4.0, 4.0, 33).tolist():
        vectorised = probability(theta, params)
        for index, (a, b, c, d) in enumerate(items):
            scalar = item_probability(theta, a, b, c, d)
            assert scalar == pytest.approx(vectorised[index], rel=1e-12)
            # bit for bit the formula the simulator and the ICC chart used before sharing it
            assert scalar == c + (d - c) / (1.0 + math.exp(-a * (theta - b)))
            assert scalar == c + (d - c) / (1.0 + math.exp(-max(-35.0, min(35.0, a * (theta - b)))))


def test_scalar_item_probability_reaches_its_asymptotes_without_overflow():
    from dreamseed.cat.irt import item_probability

    assert item_probability(-1000.0, 2.0, 0.0, 0.2, 0.95) == pytest.approx(0.2)
    assert item_probability(1000.0, 2.0, 0.0, 0.2, 0.95) == pytest.approx(0.95)
