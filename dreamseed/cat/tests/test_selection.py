"""Item selection: maximum information, exposure control, content balancing, eligibility."""

import numpy as np
import pytest

from dreamseed.cat import ItemPool, StoppingRule, information, select_item
from dreamseed.cat.simulation import simulate, sympson_hetter_calibrate

from .conftest import random_bank


@pytest.mark.parametrize("theta", [-2.5, -0.73, 0.0, 1.234, 3.9])
def test_mfi_picks_the_most_informative_item_at_the_estimate(pool_3pl, theta):
    chosen = select_item(pool_3pl, theta).item
    info = information(theta, pool_3pl.params)
    # The order table is exact at grid points 0.01 apart; between them the choice may only
    # differ from the true maximum by a hair.
    assert info[chosen] == pytest.approx(info.max(), rel=1e-3)


def test_mfi_never_chooses_administered_or_excluded_items(pool_3pl):
    info = information(0.3, pool_3pl.params)
    ranked = np.argsort(-info)
    administered, excluded = ranked[:5].tolist(), ranked[5:9].tolist()
    selection = select_item(pool_3pl, 0.3, administered=administered, excluded=excluded)
    assert selection.item == ranked[9]
    assert selection.n_candidates == pool_3pl.n_items - 9


def test_randomesque_chooses_only_among_the_k_best(pool_3pl, rng):
    administered = [int(i) for i in np.argsort(-information(0.0, pool_3pl.params))[:3]]
    chosen = {
        select_item(
            pool_3pl,
            0.0,
            administered=administered,
            selector="randomesque",
            randomesque_k=4,
            rng=rng,
        ).item
        for _ in range(300)
    }
    best = set(np.argsort(-information(0.0, pool_3pl.params))[3:7].tolist())
    assert chosen == best


def test_sympson_hetter_with_zero_parameter_skips_the_best_item(pool_3pl, rng):
    best = select_item(pool_3pl, 0.5).item
    k = np.ones(pool_3pl.n_items)
    k[best] = 0.0
    selection = select_item(pool_3pl.with_exposure_k(k), 0.5, selector="sympson-hetter", rng=rng)
    assert selection.item != best
    assert best in selection.skipped


def test_sympson_hetter_with_all_parameters_one_is_mfi(pool_3pl, rng):
    for theta in (-1.0, 0.0, 1.5):
        sh = select_item(pool_3pl, theta, selector="sympson-hetter", rng=rng)
        assert sh.item == select_item(pool_3pl, theta).item
        assert sh.skipped == ()


def test_exposure_control_lowers_the_maximum_exposure_rate(pool_3pl):
    thetas = np.random.default_rng(3).normal(size=250)
    rules = StoppingRule(max_items=12)
    mfi = simulate(pool_3pl, thetas, rules=rules, rng=1)
    randomesque = simulate(pool_3pl, thetas, rules=rules, selector="randomesque", rng=1)
    r_max = 0.3
    k = sympson_hetter_calibrate(pool_3pl, thetas, rules=rules, r_max=r_max, rounds=10, rng=2)
    sympson = simulate(
        pool_3pl.with_exposure_k(k), thetas, rules=rules, selector="sympson-hetter", rng=1
    )
    assert mfi.exposure.max() > 0.9  # MFI gives the best items to nearly everyone
    assert randomesque.exposure.max() < mfi.exposure.max() - 0.15
    # The iterative Sympson-Hetter procedure holds the cap up to simulation noise.
    assert sympson.exposure.max() <= r_max + 0.06
    # Exposure control costs little accuracy.
    assert sympson.rmse < mfi.rmse + 0.1
    assert randomesque.rmse < mfi.rmse + 0.1


def test_kingsbury_zara_meets_content_targets(content_pool):
    targets = {"algebra": 0.5, "geometry": 0.3, "statistics": 0.2}
    thetas = np.random.default_rng(4).normal(size=40)
    result = simulate(
        content_pool, thetas, rules=StoppingRule(max_items=20), content_targets=targets, rng=5
    )
    labels = np.array(content_pool.content_labels)[content_pool.content]
    for items in result.administered:
        counts = {area: int(np.sum(labels[list(items)] == area)) for area in targets}
        for area, share in targets.items():
            assert abs(counts[area] - share * 20) <= 1, (area, counts)


def test_content_balancing_falls_back_when_a_target_area_is_used_up():
    params = random_bank(6, model="2PL", seed=3)
    pool = ItemPool(params, content=["x", "x", "y", "y", "y", "y"])
    administered = [0, 1]  # every "x" item is gone
    selection = select_item(
        pool, 0.0, administered=administered, content_targets={"x": 0.9, "y": 0.1}
    )
    assert selection.content_area == "y"
    assert selection.item in (2, 3, 4, 5)


def test_selection_on_an_exhausted_pool_returns_none():
    pool = ItemPool(random_bank(3, model="1PL"))
    selection = select_item(pool, 0.0, administered=[0, 1], excluded=[2])
    assert selection.item is None and selection.n_candidates == 0


def test_estimates_beyond_the_grid_use_its_edge(pool_3pl):
    assert select_item(pool_3pl, 25.0).item == select_item(pool_3pl, 4.0).item
    assert select_item(pool_3pl, -25.0).item == select_item(pool_3pl, -4.0).item
