"""Shared fixtures for the CAT engine tests: small seeded banks, pools and generators."""

import numpy as np
import pytest

from dreamseed.cat import ItemPool, make_params


def random_bank(n_items: int, *, model: str = "3PL", seed: int = 0) -> np.ndarray:
    """A bank like an operational one: a ~ lognormal(0, 0.25), b ~ N(0, 1), c ~ U(0.1, 0.25)."""
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0, 1.0, n_items)
    if model == "1PL":
        return make_params(b)
    a = rng.lognormal(0.0, 0.25, n_items)
    if model == "2PL":
        return make_params(b, a=a)
    return make_params(b, a=a, c=rng.uniform(0.1, 0.25, n_items))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def bank_3pl():
    return random_bank(300, model="3PL", seed=1)


@pytest.fixture(scope="session")
def pool_3pl(bank_3pl):
    return ItemPool(bank_3pl, ids=[f"item-{i}" for i in range(len(bank_3pl))])


@pytest.fixture(scope="session")
def content_pool():
    params = random_bank(240, model="2PL", seed=2)
    content = np.array(["algebra", "geometry", "statistics"])[np.arange(240) % 3]
    return ItemPool(params, content=content)
