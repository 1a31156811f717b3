"""lz*: about standard normal for patterns that follow the model; strongly negative for
aberrant ones (an able student who rushes the end, a guesser)."""

import numpy as np

from dreamseed.cat import make_params, probability
from dreamseed.cat.personfit import LZ_FLAG, lz_star


def test_lz_star_is_about_standard_normal_for_model_patterns():
    rng = np.random.default_rng(3)
    params = make_params(rng.normal(0, 1, 30), a=rng.lognormal(0, 0.25, 30))
    values = []
    for theta in rng.normal(0, 1, 400):
        u = (rng.random(30) < probability(theta, params)).astype(int)
        value = lz_star(params, u)
        if value is not None:
            values.append(value)
    values = np.array(values)
    assert len(values) > 380
    assert abs(values.mean()) < 0.2 and 0.8 < values.std() < 1.2
    assert (values < LZ_FLAG).mean() < 0.09


def test_aberrant_patterns_are_flagged():
    params = make_params(np.linspace(-2, 2, 20), a=1.5)
    # Right on every hard item, wrong on every easy one: the reverse of what the model expects.
    reversed_pattern = (np.linspace(-2, 2, 20) > 0).astype(int)
    assert lz_star(params, reversed_pattern) < -3
    # A plausible pattern: right on the easy half, wrong on the hard half.
    assert lz_star(params, 1 - reversed_pattern) > LZ_FLAG


def test_too_short_a_test_or_all_answers_alike_give_no_value():
    params = make_params(np.zeros(5))
    assert lz_star(params, [1, 0, 1, 0, 1]) is None
    # All wrong: the estimate is on its bound, where every pattern looks predictable.
    assert lz_star(make_params(np.linspace(-2, 2, 12)), np.zeros(12, dtype=int)) is None
