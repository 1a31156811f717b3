"""Simulated adaptive tests: run many examinees of known ability through a pool and measure
accuracy, test length and item exposure; and calibrate Sympson-Hetter exposure parameters."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .estimation import DEFAULT_PRIOR, Prior
from .exceptions import ConfigurationError
from .irt import item_probability
from .polytomous import category_probabilities_scalar, draw_score
from .pool import ItemPool
from .selection import DEFAULT_RANDOMESQUE_K, SELECTOR_MFI, SELECTOR_SYMPSON_HETTER
from .step import CatSession
from .stopping import StoppingRule

#: Sympson-Hetter calibration rounds by default (exposure rates settle within ~10-20).
DEFAULT_SH_ROUNDS = 15


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of :func:`simulate`.

    Attributes
    ----------
    true_theta, theta, se : numpy.ndarray, shape (n_examinees,)
    n_items : numpy.ndarray of int
        Test length of each examinee.
    reasons : tuple of str
        Why each test stopped.
    administered : tuple of tuple of int
        Pool indices given to each examinee, in order.
    exposure : numpy.ndarray, shape (n_pool,)
        Fraction of examinees who saw each item.
    selected : numpy.ndarray, shape (n_pool,)
        Fraction of examinees for whom each item was selected (administered or passed over by
        the Sympson-Hetter lottery).
    seconds : float
        Time spent in the test loop (selection, estimation, simulated answers).
    steps : int
        Items administered in total.
    responses : tuple of tuple of int
        The simulated answers (0/1), aligned with ``administered``.
    """

    true_theta: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    n_items: np.ndarray
    reasons: tuple[str, ...]
    administered: tuple[tuple[int, ...], ...]
    exposure: np.ndarray
    selected: np.ndarray
    seconds: float
    steps: int
    responses: tuple[tuple[int, ...], ...] = ()

    @property
    def rmse(self) -> float:
        r""":math:`\sqrt{\overline{(\hat\theta - \theta)^2}}`."""
        return float(np.sqrt(np.mean((self.theta - self.true_theta) ** 2)))

    @property
    def bias(self) -> float:
        r""":math:`\overline{\hat\theta - \theta}`."""
        return float(np.mean(self.theta - self.true_theta))

    @property
    def ms_per_step(self) -> float:
        """Milliseconds per administered item (select + update + simulated answer)."""
        return 1000.0 * self.seconds / max(self.steps, 1)

    def long_format(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(person, item, response)`` arrays, one entry per answer, as calibration takes them.

        Calibrating from these (the answers the adaptive test actually saw, not answers drawn
        again) keeps the selection ignorable: each item was chosen from the earlier answers.
        """
        lengths = [len(items) for items in self.administered]
        person = np.repeat(np.arange(len(lengths)), lengths)
        item = np.fromiter((i for items in self.administered for i in items), dtype=np.intp)
        answer = np.fromiter((u for row in self.responses for u in row), dtype=np.int8)
        return person, item, answer

    def summary(self) -> dict:
        """The figures the command-line tool prints, as plain JSON-ready values."""
        reasons: dict[str, int] = {}
        for reason in self.reasons:
            reasons[reason] = reasons.get(reason, 0) + 1
        return {
            "examinees": len(self.theta),
            "rmse": round(self.rmse, 6),
            "bias": round(self.bias, 6),
            "mean_se": round(float(np.mean(self.se)), 6),
            "mean_items": round(float(np.mean(self.n_items)), 4),
            "max_exposure": round(float(self.exposure.max()), 6),
            "ms_per_step": round(self.ms_per_step, 6),
            "seconds": round(self.seconds, 4),
            "stop_reasons": reasons,
        }


def simulate(
    pool: ItemPool,
    true_thetas,
    *,
    rules: StoppingRule,
    estimator: str = "eap",
    prior: Prior = DEFAULT_PRIOR,
    selector: str = SELECTOR_MFI,
    randomesque_k: int = DEFAULT_RANDOMESQUE_K,
    content_targets: dict[str, float] | None = None,
    rng: np.random.Generator | int | None = None,
) -> SimulationResult:
    r"""Give each examinee a full adaptive test, answering by the model.

    The answer to item :math:`i` is 1 when a uniform draw is below
    :math:`P_i(\theta_{true})`. On a mixed pool (a
    :class:`~dreamseed.cat.adaptive_poly.PolyItemPool`) each item is scored by a draw from its
    category probabilities (:func:`~dreamseed.cat.polytomous.draw_score`; on an
    all-dichotomous mixed pool the answers, and so the results, are the same), and
    ``SimulationResult.responses`` holds the item scores, so ``long_format()`` feeds
    :func:`~dreamseed.cat.calibration_poly.calibrate_poly`; :func:`sympson_hetter_calibrate`
    works on mixed pools too. The same generator drives answers and selection, drawing one
    uniform number per answer after its item is selected, so a seed reproduces a run exactly.
    """
    mixed = getattr(pool, "bank", None) is not None
    answer = _score_drawer(pool) if mixed else _answer_drawer(pool)
    true = np.asarray(true_thetas, dtype=float).reshape(-1)
    if len(true) == 0:
        raise ConfigurationError("no examinees to simulate")
    if not np.all(np.isfinite(true)):
        raise ConfigurationError("true abilities must be finite numbers")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    thetas, ses, lengths, reasons, administered, responses = [], [], [], [], [], []
    administered_count = np.zeros(pool.n_items)
    selected_count = np.zeros(pool.n_items)

    started = time.perf_counter()
    for true_theta in true.tolist():
        session = CatSession(
            pool,
            rules=rules,
            estimator=estimator,
            prior=prior,
            selector=selector,
            randomesque_k=randomesque_k,
            content_targets=content_targets,
            rng=rng,
        )
        step = session.next_step()
        while not step.stop:
            item = step.next_item
            session.record(item, answer(true_theta, item, rng.random()))
            step = session.next_step()
        thetas.append(step.theta)
        ses.append(step.se)
        lengths.append(step.n_items)
        reasons.append(step.reason)
        administered.append(tuple(session.administered))
        responses.append(tuple(session.responses))
        if session.set_aside:
            selected_count[session.set_aside] += 1
    seconds = time.perf_counter() - started

    for items in administered:
        administered_count[list(items)] += 1
    selected_count += administered_count
    n = len(true)
    return SimulationResult(
        true_theta=true,
        theta=np.array(thetas),
        se=np.array(ses),
        n_items=np.array(lengths),
        reasons=tuple(reasons),
        administered=tuple(administered),
        exposure=administered_count / n,
        selected=selected_count / n,
        seconds=seconds,
        steps=int(sum(lengths)),
        responses=tuple(responses),
    )


def _answer_drawer(pool: ItemPool) -> Callable[[float, int, float], int]:
    """``answer(true_theta, item, u)``: 1 when ``u`` is below the item's probability."""
    params = pool.params.tolist()  # Python floats: the per-answer probability is scalar math

    def answer(true_theta: float, item: int, uniform: float) -> int:
        a, b, c, d = params[item]
        return 1 if uniform < item_probability(true_theta, a, b, c, d) else 0

    return answer


def _score_drawer(pool) -> Callable[[float, int, float], int]:
    """``answer(true_theta, item, u)``: the score 0..m that ``u`` draws on a mixed pool."""
    items = pool._items

    def answer(true_theta: float, item: int, uniform: float) -> int:
        return draw_score(category_probabilities_scalar(true_theta, *items[item]), uniform)

    return answer


def sympson_hetter_calibrate(
    pool: ItemPool,
    thetas,
    *,
    rules: StoppingRule,
    r_max: float,
    rounds: int = DEFAULT_SH_ROUNDS,
    estimator: str = "eap",
    prior: Prior = DEFAULT_PRIOR,
    content_targets: dict[str, float] | None = None,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    r"""Sympson-Hetter exposure parameters for a target maximum exposure rate.

    Iterates (Sympson & Hetter, 1985): simulate the test on ``thetas`` with the current
    parameters :math:`K_i`, measure how often each item is *selected*, :math:`P(S_i)`, then set

    .. math:: K_i \leftarrow \begin{cases} 1 & P(S_i) \le r_{max} \\
                                           r_{max} / P(S_i) & \text{otherwise} \end{cases}

    so that the exposure rate :math:`P(A_i) = P(S_i) K_i` stays near or below :math:`r_{max}`.

    Returns
    -------
    numpy.ndarray, shape (n_items,)
        Parameters to pass as ``exposure_k`` when building the operational pool.
    """
    if not 0 < r_max <= 1:
        raise ConfigurationError(f"r_max must be in (0, 1]; got {r_max}")
    if rounds < 1:
        raise ConfigurationError(f"rounds must be >= 1; got {rounds}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    k = np.ones(pool.n_items)
    for _ in range(rounds):
        trial = pool.with_exposure_k(k)
        result = simulate(
            trial,
            thetas,
            rules=rules,
            estimator=estimator,
            prior=prior,
            selector=SELECTOR_SYMPSON_HETTER,
            content_targets=content_targets,
            rng=rng,
        )
        selected = result.selected
        k = np.where(selected > r_max, r_max / np.maximum(selected, 1e-12), 1.0)
    return k
