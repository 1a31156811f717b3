"""Polytomous models (GPCM, PCM, GRM) and mixed banks: analytic values and derivatives."""

import math

import numpy as np
import pytest

from dreamseed.cat import irt
from dreamseed.cat.exceptions import (
    EmptyBankError,
    InvalidParametersError,
    InvalidResponsesError,
)
from dreamseed.cat.polytomous import (
    MODEL_DICHOTOMOUS,
    MODEL_GPCM,
    MODEL_GRM,
    PolyBank,
    category_probabilities,
    category_terms,
    expected_score,
    information,
    item_information_scalar,
    log_likelihood,
    make_bank,
    test_information,
)

from .conftest import random_bank

THETAS = np.linspace(-4.0, 4.0, 33)


def mixed_bank(seed: int = 0) -> PolyBank:
    """Dichotomous 1PL-4PL items, GPCM and GRM items with 3 to 5 categories, some PCM."""
    rng = np.random.default_rng(seed)
    rows, models, a, c, d = [], [], [], [], []
    for i in range(24):
        kind = ["2PL", "3PL", "4PL", "GPCM", "PCM", "GRM"][i % 6]
        m = 1 if kind.endswith("PL") else 2 + i % 3
        steps = np.sort(rng.normal(0.0, 1.0, m)) if kind == "GRM" else rng.normal(0.0, 1.0, m)
        rows.append(list(steps))
        models.append(kind)
        a.append(rng.lognormal(0.0, 0.3))
        c.append(0.2 if kind in ("3PL", "4PL") else 0.0)
        d.append(0.95 if kind == "4PL" else 1.0)
    return make_bank(a, rows, models, c=c, d=d)


def test_bank_layout():
    bank = make_bank(
        [1.2, 0.7, 2.0], [[-1.0, 0.5, 1.0], [0.3], [-0.5, 0.5]], ["GPCM", "2PL", "GRM"]
    )
    assert bank.model.tolist() == [MODEL_GPCM, MODEL_DICHOTOMOUS, MODEL_GRM]
    assert bank.n_categories.tolist() == [4, 2, 3]
    assert bank.max_categories == 4
    assert bank.row_offsets.tolist() == [0, 4, 6]
    assert bank.n_rows == 9
    assert np.isnan(bank.thresholds[1, 1:]).all()
    assert np.isnan(bank.thresholds[2, 2])
    sub = bank.subset([1, 2])
    assert sub.max_categories == 3 and sub.n_categories.tolist() == [2, 3]
    assert "1 GPCM" in repr(bank)


def test_pcm_fixes_the_slope_at_one():
    bank = make_bank(2.5, [[-1.0, 1.0]], "PCM")
    assert bank.a.tolist() == [1.0]


def test_probabilities_sum_to_one_and_vanish_beyond_each_item():
    bank = mixed_bank()
    p = category_probabilities(THETAS, bank)
    assert p.shape == (len(THETAS), bank.n_items, bank.max_categories)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-12)
    assert (p >= 0).all()
    beyond = np.arange(bank.max_categories) >= bank.n_categories[:, None]
    assert (p[:, beyond] == 0).all()


def test_hand_computed_gpcm_and_grm_values():
    # GPCM a=1, b=(-1, 1) at theta 0: exponents 0, 1, 0.
    bank = make_bank(1.0, [[-1.0, 1.0]], "GPCM")
    e = math.e
    np.testing.assert_allclose(
        category_probabilities(0.0, bank)[0], [1 / (2 + e), e / (2 + e), 1 / (2 + e)]
    )
    # GRM a=1.5, b=(-0.5, 0.8) at theta 0.2.
    bank = make_bank(1.5, [[-0.5, 0.8]], "GRM")
    star1 = 1 / (1 + math.exp(-1.5 * 0.7))
    star2 = 1 / (1 + math.exp(-1.5 * -0.6))
    np.testing.assert_allclose(
        category_probabilities(0.2, bank)[0], [1 - star1, star1 - star2, star2], rtol=1e-12
    )


def test_gpcm_information_is_slope_squared_times_score_variance():
    bank = make_bank(
        [0.6, 1.4, 2.2], [[-1.0, 0.0, 1.5], [0.5, -0.5], [-2.0, -1.0, 0.0, 1.0]], "GPCM"
    )
    p = category_probabilities(THETAS, bank)
    k = np.arange(bank.max_categories)
    mean = (p * k).sum(axis=-1)
    variance = (p * k * k).sum(axis=-1) - mean**2
    np.testing.assert_allclose(information(THETAS, bank), bank.a**2 * variance, rtol=1e-10)


@pytest.mark.parametrize("model", ["GPCM", "GRM"])
def test_two_category_models_are_the_2pl(model):
    params = random_bank(30, model="2PL", seed=3)
    bank = make_bank(params[:, 0], params[:, 1:2], model)
    p = category_probabilities(THETAS, bank)
    np.testing.assert_allclose(p[..., 1], irt.probability(THETAS, params), rtol=1e-12)
    np.testing.assert_allclose(
        information(THETAS, bank), irt.information(THETAS, params), rtol=1e-9
    )


def test_dichotomous_items_match_the_dichotomous_engine():
    params = random_bank(40, model="3PL", seed=4)
    params[::3, 3] = 0.9  # some 4PL items
    bank = PolyBank.from_dichotomous(params)
    responses = np.random.default_rng(0).integers(0, 2, 40)
    np.testing.assert_allclose(
        category_probabilities(THETAS, bank)[..., 1], irt.probability(THETAS, params), rtol=1e-12
    )
    np.testing.assert_allclose(
        information(THETAS, bank), irt.information(THETAS, params), rtol=1e-9
    )
    np.testing.assert_allclose(
        log_likelihood(THETAS, bank, responses),
        irt.log_likelihood(THETAS, params, responses),
        rtol=1e-12,
    )
    np.testing.assert_allclose(bank.dichotomous_params(), params)


def test_derivatives_match_finite_differences():
    bank = mixed_bank(1)
    h = 1e-5
    _p, first, second = category_terms(THETAS, bank, order=2)
    p_up, first_up = category_terms(THETAS + h, bank, order=1)
    p_down, first_down = category_terms(THETAS - h, bank, order=1)
    np.testing.assert_allclose(first, (p_up - p_down) / (2 * h), atol=1e-8)
    np.testing.assert_allclose(second, (first_up - first_down) / (2 * h), atol=1e-7)


def test_information_equals_expected_squared_score_and_log_likelihood_slope():
    bank = mixed_bank(2)
    p, first = category_terms(THETAS, bank, order=1)
    # Fisher information = E[(d ln P_x / d theta)^2] computed from the definition.
    definition = (p * (first / np.clip(p, 1e-300, None)) ** 2).sum(axis=-1)
    np.testing.assert_allclose(information(THETAS, bank), definition, rtol=1e-10)
    np.testing.assert_allclose(test_information(THETAS, bank), definition.sum(axis=-1), rtol=1e-10)
    # d/dtheta of the log-likelihood of a pattern = sum P'_x / P_x.
    scores = np.minimum(np.arange(bank.n_items) % 4, bank.n_categories - 1)
    h = 1e-5
    slope = (
        log_likelihood(THETAS + h, bank, scores) - log_likelihood(THETAS - h, bank, scores)
    ) / (2 * h)
    picked = np.take_along_axis(
        first / np.where(p > 0, p, 1.0), np.broadcast_to(scores[:, None], (*p.shape[:-1], 1)), -1
    )
    np.testing.assert_allclose(slope, picked[..., 0].sum(axis=-1), rtol=1e-6, atol=1e-6)


def test_expected_score_increases_with_ability():
    bank = mixed_bank(3)
    score = expected_score(THETAS, bank)
    assert (np.diff(score, axis=0) > 0).all()
    assert (score >= 0).all() and (score <= bank.n_categories - 1).all()


def test_scalar_information_matches_the_vectorised_one():
    bank = mixed_bank(4)
    for theta in (-2.7, 0.0, 1.3):
        vector = information(theta, bank)
        scalar = [item_information_scalar(theta, *bank.item_row(i)) for i in range(bank.n_items)]
        np.testing.assert_allclose(scalar, vector, rtol=1e-9)


def test_probabilities_stay_finite_far_from_the_thresholds():
    bank = mixed_bank(5)
    p = category_probabilities(np.array([-40.0, 40.0]), bank)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    assert np.isfinite(log_likelihood(np.array([-40.0, 40.0]), bank, np.zeros(bank.n_items))).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a": [1.0], "thresholds": [[1.0, 0.0]], "model": "GRM"}, "strictly increasing"),
        ({"a": [1.0], "thresholds": [[0.0, 1.0]], "model": "2PL"}, "exactly one threshold"),
        ({"a": [0.0], "thresholds": [[0.0, 1.0]], "model": "GPCM"}, "a must be > 0"),
        ({"a": [1.0], "thresholds": [[None, 1.0]], "model": "GPCM"}, "padding"),
        ({"a": [1.0], "thresholds": [[float("inf"), 1.0]], "model": "GPCM"}, "finite"),
        ({"a": [1.0], "thresholds": [[0.0, 1.0]], "model": "GPCM", "c": 0.2}, "c = 0"),
        ({"a": [1.0], "thresholds": [[0.0]], "model": "3PL", "c": 1.2}, "guessing"),
        ({"a": [1.0], "thresholds": [[0.0]], "model": "Rasch"}, "unknown model"),
        ({"a": [1.0, 2.0], "thresholds": [[0.0]], "model": "GPCM"}, "lengths must match"),
    ],
)
def test_bad_parameters_name_the_item(kwargs, message):
    with pytest.raises(InvalidParametersError, match=message) as info:
        make_bank(**kwargs)
    assert "item 0" in str(info.value) or "lengths" in message


def test_empty_bank_is_refused():
    with pytest.raises(EmptyBankError):
        make_bank([], [], "GPCM")


def test_scores_out_of_range_are_refused():
    bank = make_bank([1.0, 1.0], [[0.0, 1.0], [0.5]], ["GPCM", "2PL"])
    with pytest.raises(InvalidResponsesError, match="item 1 is scored 0 to 1"):
        log_likelihood(0.0, bank, [2, 2])
    with pytest.raises(InvalidResponsesError, match="lengths must match"):
        log_likelihood(0.0, bank, [1])
    with pytest.raises(InvalidResponsesError, match=r"is 0\.5"):
        log_likelihood(0.0, bank, [0.5, 1])
