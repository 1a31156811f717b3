"""Adaptive tests on mixed banks of dichotomous, GPCM and GRM items.

:class:`PolyItemPool` is an :class:`~dreamseed.cat.pool.ItemPool` whose tables come from a
:class:`~dreamseed.cat.polytomous.PolyBank`:

* ``selection_order`` sorts the items by decreasing Fisher information
  :math:`\\sum_k P_{ik}'^2 / P_{ik}` at each point of the selection grid, so every selector
  of :mod:`dreamseed.cat.selection` (maximum information, randomesque, Sympson-Hetter, and
  Kingsbury-Zara content balancing) works on a mixed pool unchanged:
  :func:`dreamseed.cat.selection.select_item` accepts a :class:`PolyItemPool`.
* ``response_log_table`` holds :math:`\\ln P_{ik}(\\theta_q)` in row
  ``row_offsets[i] + k``, so an EAP posterior is the prior plus one row per answered item,
  whatever the item's number of categories.

:func:`poly_cat_step` and :class:`PolyCatSession` mirror :func:`dreamseed.cat.step.cat_step`
and :class:`dreamseed.cat.step.CatSession`, with item scores :math:`0..m_i` as responses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .estimation import (
    DEFAULT_PRIOR,
    QUADRATURE_BOUNDS,
    QUADRATURE_POINTS,
    THETA_BOUNDS,
    Prior,
    check_estimator,
    posterior_summary,
    quadrature_grid,
)
from .estimation_poly import map_poly, mle_poly, wle_poly
from .exceptions import ConfigurationError, InvalidResponsesError
from .polytomous import (
    PolyBank,
    as_bank,
    category_probabilities,
    category_probabilities_scalar,
    draw_score,
    information,
    item_information_scalar,
    log_category_probabilities,
)
from .pool import SELECTION_GRID_BOUNDS, SELECTION_GRID_STEP, ItemPool, _read_only
from .selection import (
    DEFAULT_RANDOMESQUE_K,
    SELECTOR_MFI,
    blocked_mask,
    check_selector,
    content_target_array,
    select_with_mask,
)
from .simulation import SimulationResult
from .step import StepResult, _check_excluded, _first_repeat
from .stopping import StoppingRule, should_stop


class PolyItemPool(ItemPool):
    """A mixed item pool with precomputed selection and estimation tables.

    Parameters
    ----------
    bank : PolyBank or array_like, shape (n, 4)
        The items (a dichotomous ``[a, b, c, d]`` array is converted).
    ids, content, exposure_k, quadrature_points, quadrature_bounds, selection_step,
    selection_bounds :
        As for :class:`~dreamseed.cat.pool.ItemPool`.

    Attributes
    ----------
    bank : PolyBank
    row_offsets : numpy.ndarray, shape (n,)
        First row of each item in ``response_log_table``.
    max_score : numpy.ndarray, shape (n,)
        Largest score :math:`m_i` of each item.
    params : numpy.ndarray or None
        ``[a, b, c, d]`` when every item is dichotomous, else None.
    """

    def __init__(
        self,
        bank,
        *,
        ids: Sequence[str] | None = None,
        content: Sequence[str] | None = None,
        exposure_k=None,
        quadrature_points: int = QUADRATURE_POINTS,
        quadrature_bounds=QUADRATURE_BOUNDS,
        selection_step: float = SELECTION_GRID_STEP,
        selection_bounds=SELECTION_GRID_BOUNDS,
    ):
        self.bank = as_bank(bank)
        n = self.bank.n_items
        self.params = (
            _read_only(self.bank.dichotomous_params()) if self.bank.is_dichotomous else None
        )
        self.ids = self._check_ids(ids, n)
        self.index_by_id = {item_id: i for i, item_id in enumerate(self.ids)} if self.ids else {}
        self.content_labels, self.content = self._check_content(content, n)
        self.exposure_k = self._check_exposure(exposure_k, n)
        self.row_offsets = self.bank.row_offsets
        self.max_score = _read_only(self.bank.n_categories - 1)
        self._items = [self.bank.item_row(i) for i in range(n)]  # for per-step information

        self.quadrature = _read_only(quadrature_grid(quadrature_points, quadrature_bounds))
        grid = self.quadrature
        self.quadrature_moments = _read_only(np.vstack([np.ones_like(grid), grid, grid * grid]))
        log_p = log_category_probabilities(grid, self.bank)  # (Q, n, K)
        has_category = np.arange(self.bank.max_categories) < self.bank.n_categories[:, None]
        self.response_log_table = _read_only(
            np.ascontiguousarray(log_p.transpose(1, 2, 0)[has_category])
        )
        self._log_priors: dict[Prior, np.ndarray] = {}

        self._selection_setup(n, selection_bounds, selection_step)

    @property
    def n_items(self) -> int:
        return self.bank.n_items

    def __len__(self) -> int:
        return self.bank.n_items

    def __repr__(self) -> str:
        areas = f", {len(self.content_labels)} content areas" if self.content_labels else ""
        return f"<PolyItemPool {self.bank!r}{areas}, {self.nbytes / 1e6:.1f} MB>"

    def information_at(self, theta) -> np.ndarray:
        return information(theta, self.bank)

    def item_information(self, item: int, theta: float) -> float:
        """Fisher information of pool item ``item`` at ``theta`` (scalar arithmetic)."""
        return item_information_scalar(theta, *self._items[item])

    def with_exposure_k(self, exposure_k) -> PolyItemPool:
        copy = object.__new__(PolyItemPool)
        copy.__dict__.update(self.__dict__)
        copy.exposure_k = self._check_exposure(exposure_k, self.n_items)
        return copy


def poly_cat_step(
    pool: PolyItemPool,
    administered: Sequence[int],
    responses: Sequence[int],
    *,
    rules: StoppingRule,
    estimator: str = "eap",
    prior: Prior = DEFAULT_PRIOR,
    selector: str = SELECTOR_MFI,
    randomesque_k: int = DEFAULT_RANDOMESQUE_K,
    content_targets: dict[str, float] | None = None,
    excluded: Sequence[int] | None = None,
    rng: np.random.Generator | int | None = None,
) -> StepResult:
    """Estimate, check the stopping rule and select the next item, from scratch, on a mixed pool.

    Same parameters and result as :func:`dreamseed.cat.step.cat_step`, except that
    ``responses`` are item scores :math:`0..m_i` and ``StepResult.information`` is the
    polytomous information of the next item.

    Raises
    ------
    InvalidResponsesError
        An index outside the pool, a repeated item, a score outside ``0..m_i`` of its item, or
        lengths that differ.
    ConfigurationError
        Unknown estimator or selector, or bad content targets.
    """
    check_estimator(estimator)
    check_selector(selector, randomesque_k)
    targets = content_target_array(pool, content_targets)
    items, answers = _check_history(pool, administered, responses)
    excluded_array = _check_excluded(pool, excluded)
    blocked, n_blocked = blocked_mask(pool, items)
    if n_blocked != len(items):
        raise InvalidResponsesError(f"item {_first_repeat(items)} was administered more than once")
    if excluded_array is not None and len(excluded_array):
        blocked[excluded_array] = True
        n_blocked = int(np.count_nonzero(blocked))
    if estimator == "eap":
        log_posterior = pool.log_prior(prior)
        if len(items):
            rows = pool.row_offsets[items] + answers
            log_posterior = log_posterior + pool.response_log_table[rows].sum(axis=0)
        theta, se = posterior_summary(pool.quadrature, log_posterior, pool.quadrature_moments)
    else:
        theta, se = _point_estimate(pool, items, answers, estimator, prior)
    return _decide(
        pool, theta, se, items, blocked, n_blocked, rules, selector, randomesque_k, targets, rng
    )


class PolyCatSession:
    """A running adaptive test on a mixed pool, keeping its state between steps (simulations).

    Same options and protocol as :class:`dreamseed.cat.step.CatSession`; :meth:`record`
    takes the item's score :math:`0..m_i`.
    """

    def __init__(
        self,
        pool: PolyItemPool,
        *,
        rules: StoppingRule,
        estimator: str = "eap",
        prior: Prior = DEFAULT_PRIOR,
        selector: str = SELECTOR_MFI,
        randomesque_k: int = DEFAULT_RANDOMESQUE_K,
        content_targets: dict[str, float] | None = None,
        excluded: Sequence[int] | None = None,
        rng: np.random.Generator | int | None = None,
    ):
        self.pool = pool
        self.rules = rules
        self.estimator = check_estimator(estimator)
        self.prior = prior
        self.selector = check_selector(selector, randomesque_k)
        self.randomesque_k = randomesque_k
        self._targets = content_target_array(pool, content_targets)
        self._rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.administered: list[int] = []
        self.responses: list[int] = []
        self.set_aside: list[int] = []
        excluded_array = _check_excluded(pool, excluded)
        self._blocked, self._n_blocked = blocked_mask(pool, [], excluded_array)
        self._log_posterior = pool.log_prior(prior).copy()

    def record(self, item: int, response: int) -> None:
        """Add the score ``response`` (``0..m_i``) of pool item ``item``."""
        item, response = int(item), int(response)
        if not 0 <= item < self.pool.n_items:
            raise InvalidResponsesError(
                f"item index {item} is outside the pool of {self.pool.n_items} items"
            )
        top = int(self.pool.max_score[item])
        if not 0 <= response <= top:
            raise InvalidResponsesError(f"item {item} is scored 0 to {top}; got {response!r}")
        if item in self.administered:
            raise InvalidResponsesError(f"item {item} was administered more than once")
        self.administered.append(item)
        self.responses.append(response)
        if not self._blocked[item]:
            self._blocked[item] = True
            self._n_blocked += 1
        self._log_posterior += self.pool.response_log_table[self.pool.row_offsets[item] + response]

    def estimate(self) -> tuple[float, float]:
        """Current ``(theta, se)``."""
        if self.estimator == "eap":
            return posterior_summary(
                self.pool.quadrature, self._log_posterior, self.pool.quadrature_moments
            )
        items = np.asarray(self.administered, dtype=np.intp)
        answers = np.asarray(self.responses, dtype=np.intp)
        return _point_estimate(self.pool, items, answers, self.estimator, self.prior)

    def next_step(self) -> StepResult:
        """Estimate, check the stopping rule and choose the next item (not yet recorded)."""
        theta, se = self.estimate()
        step = _decide(
            self.pool,
            theta,
            se,
            self.administered,
            self._blocked,
            self._n_blocked,
            self.rules,
            self.selector,
            self.randomesque_k,
            self._targets,
            self._rng,
        )
        if step.skipped:
            self._blocked[list(step.skipped)] = True
            self._n_blocked = int(np.count_nonzero(self._blocked))
            self.set_aside.extend(step.skipped)
        return step


def simulate_scores(bank: PolyBank, thetas, rng: np.random.Generator) -> np.ndarray:
    """Draw item scores for abilities ``thetas`` (shape (p,)): an integer array (p, n).

    A uniform draw :math:`u` per person and item gives the largest :math:`k` with
    :math:`u < P(X \\ge k)` (see :func:`~dreamseed.cat.polytomous.draw_score`).
    """
    probabilities = category_probabilities(np.asarray(thetas, dtype=float), bank)
    tails = 1.0 - np.cumsum(probabilities, axis=-1)[..., :-1]  # P(X >= k), k = 1..K-1
    draws = rng.random((*tails.shape[:-1], 1))
    scores = (draws < tails).sum(axis=-1)
    return np.minimum(scores, bank.n_categories - 1)


def simulate_poly(
    pool: PolyItemPool,
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
    """:func:`dreamseed.cat.simulation.simulate` on a mixed pool: each examinee takes a full
    adaptive test, scoring each item by a draw from its category probabilities (on an
    all-dichotomous pool the answers, and so the results, are those of ``simulate``).
    ``SimulationResult.responses`` holds the item scores, so ``long_format()`` feeds
    :func:`~dreamseed.cat.calibration_poly.calibrate_poly`."""
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
        session = PolyCatSession(
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
            probabilities = category_probabilities_scalar(true_theta, *pool._items[item])
            session.record(item, draw_score(probabilities, rng.random()))
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


# --- internals -----------------------------------------------------------------------------------


def _decide(
    pool, theta, se, items, blocked, n_blocked, rules, selector, randomesque_k, targets, rng
) -> StepResult:
    n_items = len(items)
    n_eligible = pool.n_items - n_blocked
    stop, reason = should_stop(rules, n_administered=n_items, se=se, n_eligible=n_eligible)
    if stop:
        return StepResult(theta, se, n_items, True, reason, None, n_candidates=n_eligible)
    if targets is not None:
        items = np.asarray(items, dtype=np.intp)
    selection = select_with_mask(
        pool, theta, items, blocked, n_blocked, selector, randomesque_k, targets, rng
    )
    item = selection.item
    return StepResult(
        theta,
        se,
        n_items,
        False,
        None,
        item,
        pool.ids[item] if pool.ids else None,
        pool.item_information(item, theta),
        selection.n_candidates,
        selection.content_area,
        selection.skipped,
    )


def _point_estimate(pool, items, answers, estimator, prior) -> tuple[float, float]:
    if len(items) == 0:
        return prior.mean, prior.sd
    bank = pool.bank.subset(items)
    if estimator == "map":
        return map_poly(bank, answers, prior, THETA_BOUNDS)
    if estimator == "mle":
        return mle_poly(bank, answers, THETA_BOUNDS)
    return wle_poly(bank, answers, THETA_BOUNDS)


def _check_history(pool, administered, responses) -> tuple[np.ndarray, np.ndarray]:
    try:
        items = np.asarray(administered, dtype=np.intp).reshape(-1)
        answers = np.asarray(responses, dtype=np.intp).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidResponsesError(
            f"administered items and responses must be integers: {exc}"
        ) from None
    if len(items) != len(answers):
        raise InvalidResponsesError(
            f"{len(items)} administered items but {len(answers)} responses: lengths must match"
        )
    if len(items):
        if items.view(np.uintp).max() >= pool.n_items:
            bad = items[(items < 0) | (items >= pool.n_items)][0]
            raise InvalidResponsesError(
                f"item index {int(bad)} is outside the pool of {pool.n_items} items"
            )
        top = pool.max_score[items]
        if ((answers < 0) | (answers > top)).any():
            position = int(np.flatnonzero((answers < 0) | (answers > top))[0])
            raise InvalidResponsesError(
                f"response {position} is {int(answers[position])}: item "
                f"{int(items[position])} is scored 0 to {int(top[position])}"
            )
    return items, answers
