"""MML-EM calibration of mixed banks (GPCM, PCM, GRM with 1-3PL items): recovery of known
parameters, agreement with the dichotomous calibration, flags, and the anchored mode."""

import numpy as np
import pytest

from dreamseed.cat import StoppingRule
from dreamseed.cat.adaptive_poly import PolyCatSession, PolyItemPool, simulate_scores
from dreamseed.cat.calibration import FLAG_LARGE_SE, FLAG_NOT_CONVERGED, STEP_TOLERANCE, calibrate
from dreamseed.cat.calibration_poly import FLAG_EMPTY_CATEGORY, _Group, calibrate_poly
from dreamseed.cat.exceptions import (
    ConfigurationError,
    EmptyBankError,
    InvalidParametersError,
    InvalidResponsesError,
)
from dreamseed.cat.polytomous import make_bank


def true_bank(n_items: int, kinds, seed: int):
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.0, 0.25, n_items)
    b = rng.normal(0.0, 0.8, n_items)
    rows, models = [], []
    for i in range(n_items):
        kind = kinds[i % len(kinds)]
        if kind in ("GPCM", "PCM"):
            rows.append(list(b[i] + np.array([-1.0, 0.0, 1.0]) + rng.normal(0, 0.2, 3)))
        elif kind == "GRM":
            rows.append(sorted(b[i] + np.array([-1.0, 0.0, 1.0]) + rng.normal(0, 0.2, 3)))
        else:
            rows.append([b[i]])
        models.append(kind)
    c = np.where(np.array(models) == "3PL", 0.2, 0.0)
    return make_bank(a, rows, models, c=c), models


def complete_data(bank, thetas, rng):
    scores = simulate_scores(bank, thetas, rng)
    person, item = np.nonzero(np.ones_like(scores, dtype=bool))
    return person, item, scores[person, item]


def errors(result, bank, items):
    a_error = result.a[items] - bank.a[items]
    b_error = result.thresholds[items, : bank.thresholds.shape[1]] - bank.thresholds[items]
    return a_error, b_error[np.isfinite(b_error)]


def test_recovers_a_mixed_bank_from_complete_data():
    bank, models = true_bank(16, ["GPCM", "GRM", "2PL", "GPCM"], seed=1)
    rng = np.random.default_rng(2)
    person, item, score = complete_data(bank, rng.normal(0, 1, 1500), rng)
    result = calibrate_poly(person, item, score, models=models)
    assert result.converged
    assert result.flags == ("",) * 16
    a_error, b_error = errors(result, bank, np.arange(16))
    assert np.sqrt(np.mean(a_error**2)) < 0.12
    assert np.sqrt(np.mean(b_error**2)) < 0.2
    assert abs(b_error.mean()) < 0.1
    # Standard errors are of the size of the actual errors.
    ratio = np.sqrt(np.mean(a_error**2)) / np.nanmean(result.se_a)
    assert 0.5 < ratio < 2.0
    has_threshold = np.isfinite(bank.thresholds)
    assert np.isfinite(result.se_thresholds[:, :3][has_threshold]).all()
    assert np.isnan(result.se_thresholds[:, :3][~has_threshold]).all()
    # EM never lowers the marginal likelihood (to the float32 precision of its E steps).
    assert (np.diff(result.history) > -1e-3).all()
    assert result.history[-1] > result.history[0] + 100
    # The estimates make a bank the CAT can use.
    pool = PolyItemPool(result.bank())
    assert pool.n_items == 16


def test_two_parameter_items_agree_with_the_dichotomous_calibration():
    params_bank, _ = true_bank(12, ["2PL"], seed=3)
    rng = np.random.default_rng(4)
    person, item, score = complete_data(params_bank, rng.normal(0, 1, 1000), rng)
    ours = calibrate_poly(person, item, score, models="2PL", tolerance=1e-6)
    theirs = calibrate(person, item, score, model="2PL", tolerance=1e-6)
    np.testing.assert_allclose(ours.a, theirs.params[:, 0], atol=2e-3)
    np.testing.assert_allclose(ours.thresholds[:, 0], theirs.params[:, 1], atol=2e-3)
    np.testing.assert_allclose(ours.se_a, theirs.se[:, 0], rtol=0.02)
    assert ours.loglik == pytest.approx(theirs.loglik, abs=0.05)


def test_gpcm_and_grm_with_two_categories_are_the_same_2pl():
    bank, _ = true_bank(10, ["2PL"], seed=5)
    rng = np.random.default_rng(6)
    person, item, score = complete_data(bank, rng.normal(0, 1, 800), rng)
    fits = [calibrate_poly(person, item, score, models=m, tolerance=1e-6) for m in ("GPCM", "GRM")]
    np.testing.assert_allclose(fits[0].a, fits[1].a, atol=1e-3)
    np.testing.assert_allclose(fits[0].thresholds, fits[1].thresholds, atol=1e-3)


def test_pcm_keeps_the_slope_at_one():
    bank, models = true_bank(8, ["PCM"], seed=7)
    rng = np.random.default_rng(8)
    person, item, score = complete_data(bank, rng.normal(0, 1, 800), rng)
    result = calibrate_poly(person, item, score, models=models)
    assert (result.a == 1.0).all() and np.isnan(result.se_a).all()
    _, b_error = errors(result, bank, np.arange(8))
    assert np.sqrt(np.mean(b_error**2)) < 0.2


def test_three_pl_items_with_the_guessing_prior():
    bank, models = true_bank(12, ["3PL", "GPCM"], seed=9)
    rng = np.random.default_rng(10)
    person, item, score = complete_data(bank, rng.normal(0, 1, 2000), rng)
    result = calibrate_poly(person, item, score, models=models)
    three = np.arange(0, 12, 2)
    assert np.all(np.abs(result.c[three] - 0.2) < 0.12)
    assert np.isfinite(result.se_c[three]).all() and np.isnan(result.se_c[1::2]).all()


def test_sparse_adaptive_data():
    """Data collected by the engine's own CAT (randomesque), as a live pool produces it."""
    bank, models = true_bank(30, ["GPCM", "GRM", "2PL"], seed=11)
    pool = PolyItemPool(bank)
    rng = np.random.default_rng(12)
    person, item, score = [], [], []
    for p, theta in enumerate(rng.normal(0, 1, 1500)):
        answers = simulate_scores(bank, [theta], rng)[0]  # this person's score on every item
        session = PolyCatSession(
            pool, rules=StoppingRule(max_items=10), selector="randomesque", rng=rng
        )
        step = session.next_step()
        while not step.stop:
            session.record(step.next_item, answers[step.next_item])
            person.append(p)
            item.append(step.next_item)
            score.append(answers[step.next_item])
            step = session.next_step()
    result = calibrate_poly(person, item, score, models=models, n_items=30)
    ok = np.array([f == "" for f in result.flags])
    assert ok.sum() >= 15  # the CAT rarely gives the least informative items
    assert all(
        result.flags[i] == "too_few_responses" for i in np.flatnonzero(result.n_responses < 20)
    )
    assert (result.se_a[ok] <= 1.0).all() and (np.abs(result.thresholds[ok]) < 10).all(
        where=np.isfinite(result.thresholds[ok])
    )
    a_error, b_error = errors(result, bank, np.flatnonzero(ok))
    assert np.sqrt(np.mean(a_error**2)) < 0.3
    assert np.sqrt(np.mean(b_error**2)) < 0.35
    assert not np.isnan(result.a[ok]).any()


def test_anchored_mode_puts_pilot_items_on_the_anchor_scale():
    bank, models = true_bank(20, ["GPCM", "2PL", "GRM", "GPCM"], seed=13)
    rng = np.random.default_rng(14)
    thetas = rng.normal(0.6, 1.3, 2000)  # not N(0, 1): only the anchors give the scale
    person, item, score = complete_data(bank, thetas, rng)
    fixed = np.arange(20) >= 6  # items 0-5 are pilot items
    result = calibrate_poly(person, item, score, models=models, anchors=bank, fixed=fixed)
    np.testing.assert_array_equal(result.a[fixed], bank.a[fixed])
    assert all(result.flags[i] == "" for i in range(20))
    assert result.population_mean == pytest.approx(0.6, abs=0.1)
    assert result.population_sd == pytest.approx(1.3, abs=0.1)
    a_error, b_error = errors(result, bank, np.arange(6))
    assert np.sqrt(np.mean(a_error**2)) < 0.15
    assert np.sqrt(np.mean(b_error**2)) < 0.2
    assert np.isnan(result.se_a[fixed]).all()


def test_items_that_cannot_be_estimated_are_flagged():
    bank, models = true_bank(6, ["GPCM", "2PL"], seed=15)
    rng = np.random.default_rng(16)
    person, item, score = complete_data(bank, rng.normal(0, 1, 600), rng)
    score = score.copy()
    score[(item == 0) & (score == 2)] = 1  # nobody scores 2 on item 0
    score[item == 1] = 1  # everyone right on item 1
    keep = (item != 3) | (person < 10)  # 10 answers to item 3
    result = calibrate_poly(
        person[keep], item[keep], score[keep], models=models, n_categories=[4, 2, 4, 2, 4, 2]
    )
    assert result.flags[0] == FLAG_EMPTY_CATEGORY
    assert result.flags[1] == "no_variance"
    assert result.flags[3] == "too_few_responses"
    assert np.isnan(result.a[[0, 1, 3]]).all()
    assert result.flags[2] == result.flags[4] == result.flags[5] == ""


def test_nothing_estimable_gives_no_bank():
    result = calibrate_poly([0, 1, 2], [0, 0, 1], [1, 2, 0], models="GPCM")
    assert result.flags == ("too_few_responses",) * 2
    assert np.isnan(result.loglik) and result.iterations == 0 and not result.converged
    with pytest.raises(EmptyBankError, match="no item was estimated"):
        result.bank()


def test_unfinished_items_are_flagged_not_converged():
    bank, models = true_bank(8, ["GPCM", "GRM"], seed=17)
    rng = np.random.default_rng(18)
    person, item, score = complete_data(bank, rng.normal(0, 1, 800), rng)
    result = calibrate_poly(person, item, score, models=models, max_iterations=1)
    assert not result.converged
    assert FLAG_NOT_CONVERGED in result.flags
    # Run to the end, the same items pass: their remaining Newton step is below the tolerance.
    finished = calibrate_poly(person, item, score, models=models)
    assert finished.flags == ("",) * 8 and STEP_TOLERANCE == 0.05


def test_items_left_at_their_start_are_flagged(monkeypatch):
    bank, models = true_bank(6, ["GPCM", "2PL"], seed=19)
    rng = np.random.default_rng(20)
    person, item, score = complete_data(bank, rng.normal(0, 1, 500), rng)
    monkeypatch.setattr(_Group, "m_step", lambda self, r: None)  # every step rejected
    result = calibrate_poly(person, item, score, models=models)
    assert result.flags == (FLAG_NOT_CONVERGED,) * 6


def test_items_with_little_data_get_large_se():
    bank, models = true_bank(4, ["GPCM"], seed=21)
    rng = np.random.default_rng(22)
    person, item, score = complete_data(bank, rng.normal(0, 1, 25), rng)
    result = calibrate_poly(person, item, score, models=models, min_responses=5)
    assert FLAG_LARGE_SE in result.flags
    relaxed = calibrate_poly(
        person, item, score, models=models, min_responses=5, max_se=(50.0, 50.0, 1.0)
    )
    assert FLAG_LARGE_SE not in relaxed.flags


def test_bad_input():
    bank, models = true_bank(4, ["GPCM", "2PL"], seed=23)
    person, item = [0, 0, 1, 1], [0, 1, 0, 1]
    with pytest.raises(InvalidResponsesError, match="item 1 is scored 0 to 1"):
        calibrate_poly(person, item, [2, 2, 1, 0], models=models[:2])
    with pytest.raises(InvalidResponsesError, match="more than once"):
        calibrate_poly([0, 0], [1, 1], [1, 0], models="2PL")
    with pytest.raises(InvalidResponsesError, match="integer scores"):
        calibrate_poly(person, item, [0.5, 1, 1, 0], models="GPCM")
    with pytest.raises(ConfigurationError, match="unknown model"):
        calibrate_poly(person, item, [1, 0, 1, 0], models="NRM")
    with pytest.raises(ConfigurationError, match="anchors"):
        calibrate_poly(person, item, [1, 0, 1, 0], models="2PL", fixed=[True, False])
    with pytest.raises(InvalidParametersError, match="does not match"):
        calibrate_poly(
            person,
            item,
            [1, 0, 1, 0],
            models=["GRM", "2PL"],
            anchors=bank.subset([0, 1]),
            fixed=[True, False],
        )


def test_pilot_items_seeded_into_adaptive_tests():
    """The anchored mode as calibration runs use it: a live pool (anchors) given by CAT and a
    few polytomous pilot items answered by a random share of the test takers."""
    bank, models = true_bank(36, ["GPCM", "2PL", "GRM"], seed=31)
    live = np.arange(6, 36)
    pool = PolyItemPool(bank.subset(live))
    rng = np.random.default_rng(32)
    person, item, score = [], [], []
    for p, theta in enumerate(rng.normal(0.4, 1.1, 1200)):
        answers = simulate_scores(bank, [theta], rng)[0]
        session = PolyCatSession(pool, rules=StoppingRule(max_items=12), rng=rng)
        step = session.next_step()
        while not step.stop:
            index = int(live[step.next_item])
            session.record(step.next_item, answers[index])
            person.append(p)
            item.append(index)
            score.append(answers[index])
            step = session.next_step()
        for pilot in rng.choice(6, 2, replace=False):  # two pilot items per test taker
            person.append(p)
            item.append(int(pilot))
            score.append(answers[pilot])
    fixed = np.arange(36) >= 6
    result = calibrate_poly(person, item, score, models=models, anchors=bank, fixed=fixed)
    assert result.flags[:6] == ("",) * 6
    assert result.population_mean == pytest.approx(0.4, abs=0.15)
    a_error, b_error = errors(result, bank, np.arange(6))
    assert np.sqrt(np.mean(a_error**2)) < 0.25
    assert np.sqrt(np.mean(b_error**2)) < 0.3
