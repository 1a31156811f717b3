"""Fixed-anchor calibration puts new items on the bank's scale; mean/sigma linking."""

import numpy as np
import pytest

from dreamseed.cat import make_params, probability
from dreamseed.cat.calibration import calibrate
from dreamseed.cat.exceptions import (
    ConfigurationError,
    InvalidParametersError,
    InvalidResponsesError,
)
from dreamseed.cat.linking import (
    FLAG_NO_VARIANCE,
    FLAG_TOO_FEW,
    calibrate_with_anchors,
    mean_sigma,
    posterior_means,
    rescale,
)

N_ANCHORS = 40
N_PILOTS = 8


def rmse(estimate, truth):
    return float(np.sqrt(np.mean((estimate - truth) ** 2)))


def seeded_test_data(
    params, n_persons, *, anchors_each=15, pilots_each=2, mean=0.0, sd=1.0, seed=0
):
    """Like a CAT with seeded pilots: each person answers some anchors and a few pilot items.

    The first N_ANCHORS rows of ``params`` are anchors, the rest pilots.
    """
    rng = np.random.default_rng(seed)
    theta = rng.normal(mean, sd, n_persons)
    n_anchors = N_ANCHORS
    n_pilots = len(params) - n_anchors
    anchor_items = np.argsort(rng.random((n_persons, n_anchors)), axis=1)[:, :anchors_each]
    pilot_items = n_anchors + np.argsort(rng.random((n_persons, n_pilots)), axis=1)[:, :pilots_each]
    items = np.concatenate([anchor_items, pilot_items], axis=1)
    person = np.repeat(np.arange(n_persons), items.shape[1])
    item = items.ravel()
    p = probability(theta, params)[person, item]
    return person, item, (rng.random(len(p)) < p).astype(np.int8), theta


@pytest.fixture(scope="module")
def bank_2pl():
    rng = np.random.default_rng(7)
    b = rng.normal(0.0, 1.2, N_ANCHORS + N_PILOTS)
    a = rng.uniform(0.8, 2.0, N_ANCHORS + N_PILOTS)
    return make_params(b, a=a)


@pytest.fixture(scope="module")
def shifted_population_run(bank_2pl):
    """Test takers who are not N(0, 1) on the bank's scale: abler and more spread."""
    person, item, answer, theta = seeded_test_data(
        bank_2pl, 4000, anchors_each=15, pilots_each=2, mean=0.6, sd=1.3, seed=11
    )
    free = np.arange(len(bank_2pl)) >= N_ANCHORS
    given = bank_2pl.copy()
    given[free] = np.nan  # pilot parameters are unknown
    ticks = []
    result = calibrate_with_anchors(
        person,
        item,
        answer,
        params=given,
        free=free,
        model="2PL",
        progress=lambda iteration, total: ticks.append((iteration, total)),
    )
    return result, (person, item, answer, theta), ticks


def test_pilot_items_land_on_the_anchor_scale(bank_2pl, shifted_population_run):
    result, _, _ = shifted_population_run
    pilots = slice(N_ANCHORS, None)
    assert result.converged
    assert result.flags == ("",) * len(bank_2pl)
    # ~1000 responses per pilot item: difficulties and slopes recovered on the bank's scale.
    assert rmse(result.params[pilots, 1], bank_2pl[pilots, 1]) < 0.15
    assert rmse(result.params[pilots, 0], bank_2pl[pilots, 0]) < 0.2
    # The ability distribution was found, not assumed to be N(0, 1).
    assert result.population_mean == pytest.approx(0.6, abs=0.1)
    assert result.population_sd == pytest.approx(1.3, abs=0.1)


def test_anchors_are_returned_exactly_as_given(bank_2pl, shifted_population_run):
    result, _, _ = shifted_population_run
    np.testing.assert_array_equal(result.params[:N_ANCHORS], bank_2pl[:N_ANCHORS])
    assert np.all(np.isnan(result.se[:N_ANCHORS]))


def test_standard_errors_describe_the_estimation_error(bank_2pl, shifted_population_run):
    result, _, _ = shifted_population_run
    pilots = slice(N_ANCHORS, None)
    z = (result.params[pilots, 1] - bank_2pl[pilots, 1]) / result.se[pilots, 1]
    assert np.all(np.isfinite(result.se[pilots, :2]))
    assert np.all(np.isnan(result.se[pilots, 2]))  # the 2PL has no c
    assert 0.4 < float(np.sqrt(np.mean(z**2))) < 1.8


def test_a_free_calibration_of_the_same_data_lands_elsewhere(bank_2pl, shifted_population_run):
    """Why anchoring matters: the engine's free calibration fixes ability ~ N(0, 1), so its
    difficulties are shifted by the population mean and shrunk by its spread."""
    _, (person, item, answer, _), _ = shifted_population_run
    free_run = calibrate(person, item, answer, model="2PL")
    pilots = slice(N_ANCHORS, None)
    assert rmse(free_run.params[pilots, 1], bank_2pl[pilots, 1]) > 0.35
    # Mean/sigma linking through the anchors repairs it.
    slope, intercept = mean_sigma(bank_2pl[:N_ANCHORS, 1], free_run.params[:N_ANCHORS, 1])
    assert slope == pytest.approx(1.3, abs=0.12)
    assert intercept == pytest.approx(0.6, abs=0.12)
    linked = rescale(free_run.params, slope=slope, intercept=intercept)
    assert rmse(linked[pilots, 1], bank_2pl[pilots, 1]) < 0.2


def test_person_abilities_are_recovered(shifted_population_run):
    result, (_, _, _, theta), _ = shifted_population_run
    assert np.corrcoef(result.theta, theta)[0, 1] > 0.9
    assert np.all(result.theta_sd > 0)


def test_progress_is_reported_every_cycle(shifted_population_run):
    result, _, ticks = shifted_population_run
    assert [iteration for iteration, _ in ticks] == list(range(1, result.iterations + 1))
    assert all(total == 500 for _, total in ticks)


def test_progress_callback_can_stop_the_run(bank_2pl):
    person, item, answer, _ = seeded_test_data(bank_2pl, 300, seed=3)
    free = np.arange(len(bank_2pl)) >= N_ANCHORS

    class Stop(Exception):
        pass

    def stop(iteration, total):
        if iteration == 2:
            raise Stop

    with pytest.raises(Stop):
        calibrate_with_anchors(
            person, item, answer, params=bank_2pl, free=free, model="2PL", progress=stop
        )


def test_3pl_pilots_with_a_guessing_prior():
    rng = np.random.default_rng(5)
    n = N_ANCHORS + 6
    truth = make_params(
        rng.normal(0, 1, n), a=rng.uniform(1.0, 2.0, n), c=rng.uniform(0.15, 0.25, n)
    )
    person, item, answer, _ = seeded_test_data(truth, 5000, anchors_each=15, pilots_each=2, seed=8)
    free = np.arange(n) >= N_ANCHORS
    result = calibrate_with_anchors(person, item, answer, params=truth, free=free, model="3PL")
    pilots = slice(N_ANCHORS, None)
    assert result.converged
    assert rmse(result.params[pilots, 1], truth[pilots, 1]) < 0.3
    assert np.all((result.params[pilots, 2] > 0.05) & (result.params[pilots, 2] < 0.35))
    assert np.all(np.isfinite(result.se[pilots]))


def test_1pl_pilots_share_the_anchors_slope():
    rng = np.random.default_rng(9)
    n = N_ANCHORS + 4
    truth = make_params(rng.normal(0, 1, n), a=1.0)
    person, item, answer, _ = seeded_test_data(truth, 3000, seed=4)
    free = np.arange(n) >= N_ANCHORS
    result = calibrate_with_anchors(person, item, answer, params=truth, free=free, model="1PL")
    assert np.all(result.params[N_ANCHORS:, 0] == 1.0)
    assert rmse(result.params[N_ANCHORS:, 1], truth[N_ANCHORS:, 1]) < 0.15
    assert np.all(np.isnan(result.se[N_ANCHORS:, 0]))
    assert np.all(np.isfinite(result.se[N_ANCHORS:, 1]))


def test_items_with_too_few_or_uniform_answers_are_flagged_not_estimated(bank_2pl):
    person, item, answer, _ = seeded_test_data(bank_2pl, 600, seed=6)
    # A pilot item nobody answered, and one everyone who saw it answered correctly.
    keep = item != N_ANCHORS
    person, item, answer = person[keep], item[keep], answer[keep]
    answer = np.where(item == N_ANCHORS + 1, 1, answer)
    free = np.arange(len(bank_2pl)) >= N_ANCHORS
    result = calibrate_with_anchors(
        person, item, answer, params=bank_2pl, free=free, model="2PL", min_responses=20
    )
    assert result.flags[N_ANCHORS] == FLAG_TOO_FEW
    assert result.flags[N_ANCHORS + 1] == FLAG_NO_VARIANCE
    assert np.all(np.isnan(result.params[N_ANCHORS : N_ANCHORS + 2]))
    assert np.all(np.isfinite(result.params[N_ANCHORS + 2 :]))


def test_posterior_means_score_people_with_known_items(bank_2pl):
    person, item, answer, theta = seeded_test_data(bank_2pl, 500, seed=12)
    estimate, _sd = posterior_means(person, item, answer, params=bank_2pl)
    assert np.corrcoef(estimate, theta)[0, 1] > 0.85
    # Unknown rows are skipped rather than poisoning the estimates.
    partly_unknown = bank_2pl.copy()
    partly_unknown[N_ANCHORS:] = np.nan
    estimate2, _ = posterior_means(person, item, answer, params=partly_unknown)
    assert np.all(np.isfinite(estimate2))


def test_mean_sigma_recovers_an_exact_linear_transformation():
    b_new = np.array([-1.0, 0.0, 0.5, 2.0])
    b_reference = 1.5 * b_new - 0.4
    slope, intercept = mean_sigma(b_reference, b_new)
    assert slope == pytest.approx(1.5)
    assert intercept == pytest.approx(-0.4)
    params = make_params(b_new, a=[1.5, 3.0, 1.5, 0.75], c=0.2)
    linked, linked_se = rescale(params, np.full((4, 3), 0.1), slope=slope, intercept=intercept)
    np.testing.assert_allclose(linked[:, 1], b_reference)
    np.testing.assert_allclose(linked[:, 0], [1.0, 2.0, 1.0, 0.5])
    np.testing.assert_allclose(linked[:, 2:], params[:, 2:])
    np.testing.assert_allclose(linked_se[:, :2], [[0.1 / 1.5, 0.15]] * 4)


@pytest.mark.parametrize(
    ("reference", "new", "message"),
    [
        ([0.0], [0.0], "at least two"),
        ([0.0, 1.0], [1.0, 1.0], "must not all be equal"),
        ([0.0, np.nan], [0.0, 1.0], "finite"),
        ([0.0, 1.0], [0.0, 1.0, 2.0], "same length"),
    ],
)
def test_mean_sigma_refuses_what_it_cannot_link(reference, new, message):
    with pytest.raises(ConfigurationError, match=message):
        mean_sigma(reference, new)


def test_bad_input_is_named():
    params = make_params([0.0, 1.0, 0.5], a=1.0)
    free = np.array([False, False, True])
    person, item, answer = [0, 0, 1, 1], [0, 2, 1, 2], [1, 0, 1, 1]
    bad_anchor = params.copy()
    bad_anchor[1, 0] = -1.0
    with pytest.raises(InvalidParametersError, match="anchor item 1: a"):
        calibrate_with_anchors(person, item, answer, params=bad_anchor, free=free, model="2PL")
    with pytest.raises(ConfigurationError, match="no anchor item"):
        calibrate_with_anchors(person, item, answer, params=params, free=[True] * 3)
    with pytest.raises(ConfigurationError, match="no free item"):
        calibrate_with_anchors(person, item, answer, params=params, free=[False] * 3)
    with pytest.raises(ConfigurationError, match="one entry per item"):
        calibrate_with_anchors(person, item, answer, params=params, free=[True, False])
    with pytest.raises(ConfigurationError, match="unknown model"):
        calibrate_with_anchors(person, item, answer, params=params, free=free, model="5PL")
    with pytest.raises(InvalidResponsesError, match="lengths"):
        calibrate_with_anchors(person, item[:3], answer, params=params, free=free)
    with pytest.raises(InvalidResponsesError, match="0 or 1"):
        calibrate_with_anchors(person, item, [1, 0, 2, 1], params=params, free=free)
    with pytest.raises(InvalidResponsesError, match="more than once"):
        calibrate_with_anchors([0, 0], [2, 2], [1, 0], params=params, free=free)
    with pytest.raises(InvalidResponsesError, match="item index 5"):
        calibrate_with_anchors([0], [5], [1], params=params, free=free)
