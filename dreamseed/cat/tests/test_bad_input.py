"""Every bad input raises an engine exception whose message names the problem."""

import numpy as np
import pytest

from dreamseed.cat import (
    CatError,
    ConfigurationError,
    EmptyBankError,
    InvalidParametersError,
    InvalidResponsesError,
    ItemPool,
    Prior,
    StoppingRule,
    cat_step,
    estimate,
    estimate_eap,
    log_likelihood,
    make_params,
    select_item,
    validate_params,
)
from dreamseed.cat.calibration import calibrate


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([[1.0, 0.0, 0.0, 1.0], [np.nan, 0.0, 0.0, 1.0]], r"item 1: a = nan: is not a finite"),
        ([[1.0, np.inf, 0.0, 1.0]], r"item 0: b = inf: is not a finite"),
        (
            [[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]],
            r"item 1: a = 0.0: discrimination a must be > 0",
        ),
        ([[-0.5, 0.0, 0.0, 1.0]], r"item 0: a = -0.5: discrimination a must be > 0"),
        ([[1.0, 0.0, 1.0, 1.0]], r"item 0: c = 1.0: guessing c must be in \[0, 1\)"),
        ([[1.0, 0.0, -0.1, 1.0]], r"item 0: c = -0.1: guessing c must be in \[0, 1\)"),
        ([[1.0, 0.0, 0.3, 0.2]], r"item 0: d = 0.2: upper asymptote d must be in \(c, 1\]"),
        ([[1.0, 0.0, 0.0, 1.2]], r"item 0: d = 1.2: upper asymptote d must be in \(c, 1\]"),
        (
            [[1.0, 0.0, 0.0, 1.0, 9.0]],
            r"must have shape \(n, 4\) with columns \[a, b, c, d\]; got \(1, 5\)",
        ),
        ([["x", 0, 0, 1]], r"item parameters must be numbers"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(InvalidParametersError, match=message):
        validate_params(params)


def test_bad_parameter_error_knows_item_and_column():
    with pytest.raises(InvalidParametersError) as caught:
        validate_params([[1, 0, 0, 1], [1, 0, 0, 1], [1, 0, 2, 1]])
    assert (caught.value.item, caught.value.column) == (2, "c")


def test_several_bad_items_are_counted():
    with pytest.raises(InvalidParametersError, match=r"item 0: .* \(2 more item\(s\)"):
        validate_params([[0, 0, 0, 1], [-1, 0, 0, 1], [-2, 0, 0, 1]])


def test_empty_bank_is_refused():
    with pytest.raises(EmptyBankError, match="item bank is empty"):
        validate_params(np.empty((0, 4)))
    with pytest.raises(EmptyBankError):
        ItemPool(np.empty((0, 4)))
    with pytest.raises(EmptyBankError):
        ItemPool.from_arrays(b=[])


def test_engine_errors_are_value_errors():
    assert issubclass(CatError, ValueError)
    assert issubclass(InvalidParametersError, CatError)


def test_mismatched_column_lengths_are_named():
    with pytest.raises(InvalidParametersError, match="a has 2 values but b has 3"):
        make_params([0, 1, 2], a=[1, 1])


def test_pool_extras_must_match_the_items():
    params = make_params([0.0, 1.0])
    with pytest.raises(InvalidParametersError, match="3 item ids for 2 items"):
        ItemPool(params, ids=["a", "b", "c"])
    with pytest.raises(InvalidParametersError, match="item id 'a' appears more than once"):
        ItemPool(params, ids=["a", "a"])
    with pytest.raises(InvalidParametersError, match="1 content labels for 2 items"):
        ItemPool(params, content=["x"])
    with pytest.raises(InvalidParametersError, match=r"item 1: exposure_k = 1.5: .* in \[0, 1\]"):
        ItemPool(params, exposure_k=[1.0, 1.5])


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ([1, 0], "2 responses for 3 items: lengths must match"),
        ([1, 0, 2], "responses must be 0 or 1; response 2 is 2"),
        ([[1, 0, 1]], "responses must be one-dimensional"),
    ],
)
def test_bad_responses_are_named(responses, message):
    params = make_params([0.0, 0.5, 1.0])
    with pytest.raises(InvalidResponsesError, match=message):
        estimate_eap(params, responses)
    with pytest.raises(InvalidResponsesError, match=message):
        log_likelihood(0.0, params, responses)


def test_unknown_estimator_and_bad_prior():
    with pytest.raises(ConfigurationError, match="unknown estimator 'ml': choose one of eap"):
        estimate("ml", make_params([0.0]), [1])
    with pytest.raises(ConfigurationError, match="prior sd must be > 0"):
        Prior(sd=0)
    with pytest.raises(ConfigurationError, match="prior mean and sd must be finite"):
        Prior(mean=np.nan)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_items": 0}, "max_items must be a positive integer"),
        ({"min_items": -1}, "min_items must be a non-negative integer"),
        ({"max_items": 5, "min_items": 6}, r"min_items \(6\) cannot exceed max_items \(5\)"),
        ({"se_target": 0}, "se_target must be a positive number"),
        ({"se_target": float("nan")}, "se_target must be a positive number"),
    ],
)
def test_bad_stopping_rules_are_named(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        StoppingRule(**kwargs)


@pytest.fixture(scope="module")
def small_pool():
    return ItemPool(make_params(np.linspace(-1, 1, 6)), content=list("xxyyzz"))


@pytest.mark.parametrize(
    ("administered", "responses", "message"),
    [
        ([0, 1], [1], "2 administered items but 1 responses"),
        ([0, 9], [1, 0], "item index 9 is outside the pool of 6 items"),
        ([-1], [1], "item index -1 is outside the pool"),
        ([0, 1], [1, 3], "responses must be 0 or 1; response 1 is 3"),
        ([2, 3, 2], [1, 0, 1], "item 2 was administered more than once"),
        (["a"], [1], "must be integers"),
    ],
)
def test_cat_step_rejects_a_bad_history(small_pool, administered, responses, message):
    with pytest.raises(InvalidResponsesError, match=message):
        cat_step(small_pool, administered, responses, rules=StoppingRule(max_items=5))


def test_cat_step_rejects_bad_options(small_pool):
    rules = StoppingRule(max_items=5)
    with pytest.raises(ConfigurationError, match="unknown selector 'best'"):
        cat_step(small_pool, [], [], rules=rules, selector="best")
    with pytest.raises(ConfigurationError, match="randomesque_k must be a positive integer"):
        cat_step(small_pool, [], [], rules=rules, selector="randomesque", randomesque_k=0)
    with pytest.raises(InvalidResponsesError, match="excluded item index 7 is outside"):
        cat_step(small_pool, [], [], rules=rules, excluded=[7])


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"x": 0.5, "w": 0.5}, "content area 'w' is not in the pool"),
        ({"x": 0.5, "y": 0.4}, "content targets must sum to 1; they sum to 0.9"),
        ({"x": 1.5, "y": -0.5}, "content target for 'y' must be a proportion >= 0"),
    ],
)
def test_bad_content_targets_are_named(small_pool, targets, message):
    with pytest.raises(ConfigurationError, match=message):
        select_item(small_pool, 0.0, content_targets=targets)


def test_content_targets_need_content_labels():
    pool = ItemPool(make_params([0.0, 1.0]))
    with pytest.raises(ConfigurationError, match="pool has no content labels"):
        select_item(pool, 0.0, content_targets={"x": 1.0})


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([0, 1], [0], [1, 0]), {}, "lengths 2, 1 and 2: they must match"),
        (([0, 0], [0, 0], [1, 0]), {}, "person 0 answered item 0 more than once"),
        (([0, 1], [0, 0], [1, 2]), {}, "responses must be 0 or 1; entry 1 is 2"),
        (([0, -1], [0, 0], [1, 0]), {}, "person_idx must be >= 0; entry 1 is -1"),
        (([0, 1], [0, 0.5], [1, 0]), {}, "item_idx must hold integers; entry 1 is 0.5"),
        (([], [], []), {}, "no responses to calibrate from"),
        (([0], [3], [1]), {"n_items": 2}, "item index 3 is >= n_items = 2"),
    ],
)
def test_bad_calibration_data_is_named(args, kwargs, message):
    with pytest.raises(InvalidResponsesError, match=message):
        calibrate(*args, **kwargs)


def test_bad_calibration_options_are_named():
    data = ([0, 1], [0, 0], [1, 0])
    with pytest.raises(ConfigurationError, match="unknown model '4PL'"):
        calibrate(*data, model="4PL")
    with pytest.raises(ConfigurationError, match=r"c_prior \(alpha, beta\) must both be >= 1"):
        calibrate(*data, model="3PL", c_prior=(0.5, 2))
    with pytest.raises(ConfigurationError, match="min_responses must be a positive integer"):
        calibrate(*data, min_responses=0)
