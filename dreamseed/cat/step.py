"""One step of an adaptive test: estimate ability from the answers so far, decide whether to
stop, and if not choose the next item.

Two entry points share the same code:

* :func:`cat_step` is stateless, for the web request path: it takes the pool (cached per
  process) and the administered item indices and responses (from the database), rebuilds the
  posterior from one precomputed table row per answer, and selects.
* :class:`CatSession` keeps the posterior and the blocked-item mask between steps, for
  simulations.

Both take an :class:`~dreamseed.cat.pool.ItemPool` of 0/1 items or a mixed
:class:`~dreamseed.cat.adaptive_poly.PolyItemPool` (responses are then scores 0..m): what
differs between them is asked of the pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .estimation import DEFAULT_PRIOR, Prior, check_estimator, posterior_summary
from .exceptions import InvalidResponsesError
from .pool import ItemPool
from .selection import (
    DEFAULT_RANDOMESQUE_K,
    SELECTOR_MFI,
    blocked_mask,
    check_selector,
    content_target_array,
    select_with_mask,
)
from .stopping import StoppingRule, should_stop


@dataclass(frozen=True)
class StepResult:
    """Where a test stands after the answers so far.

    Attributes
    ----------
    theta, se : float
        Current ability estimate and its standard error.
    n_items : int
        Items answered so far.
    stop : bool
        Whether the test ends now.
    reason : str or None
        Why it ends: ``"max_items"``, ``"pool_exhausted"`` or ``"se_target"``.
    next_item : int or None
        Pool index of the item to give next (None when stopping).
    next_item_id : str or None
        ``pool.ids[next_item]`` when the pool has ids.
    information : float or None
        Fisher information of the next item at ``theta``.
    n_candidates : int
        Items that were eligible (not administered, not excluded).
    content_area : str or None
        Content area chosen by content balancing.
    skipped : tuple of int
        Sympson-Hetter: items passed over by their exposure lottery this step. The classic
        procedure sets them aside for the rest of the test: store them with the session and
        pass them in ``excluded`` on later steps (exposure rates exceed the targets otherwise).
    """

    theta: float
    se: float
    n_items: int
    stop: bool
    reason: str | None
    next_item: int | None
    next_item_id: str | None = None
    information: float | None = None
    n_candidates: int = 0
    content_area: str | None = None
    skipped: tuple[int, ...] = ()


def cat_step(
    pool: ItemPool,
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
    """Estimate, check the stopping rule, and select the next item, from scratch.

    Parameters
    ----------
    pool : ItemPool
        The (cached) pool.
    administered : sequence of int
        Pool indices of the items given so far, in order, no repeats.
    responses : sequence of 0/1
        The answers to ``administered``.
    rules : StoppingRule
    estimator : {"eap", "map", "mle", "wle"}
    prior : Prior
        Prior for EAP and MAP (and the starting point of every estimator).
    selector : {"mfi", "randomesque", "sympson-hetter"}
    randomesque_k : int
    content_targets : dict, optional
        ``{content area: proportion}``, summing to 1.
    excluded : sequence of int, optional
        Pool indices never to choose: retired items, items seen in another session, and the
        ``skipped`` items of earlier Sympson-Hetter steps of this test.
    rng : numpy.random.Generator or int, optional
        Randomness for randomesque and Sympson-Hetter (a fresh generator if None).

    Returns
    -------
    StepResult

    Raises
    ------
    InvalidResponsesError
        An index outside the pool, a repeated item, a response other than 0/1, or lengths that
        differ.
    ConfigurationError
        An unknown estimator or selector, or bad content targets.
    """
    check_estimator(estimator)
    check_selector(selector, randomesque_k)
    targets = content_target_array(pool, content_targets)
    items, answers = _check_history(pool, administered, responses)
    excluded_array = _check_excluded(pool, excluded)
    blocked, n_blocked = blocked_mask(pool, items)
    if n_blocked != len(items):
        repeated = _first_repeat(items)
        raise InvalidResponsesError(f"item {repeated} was administered more than once")
    if excluded_array is not None and len(excluded_array):
        blocked[excluded_array] = True
        n_blocked = int(np.count_nonzero(blocked))

    if estimator == "eap":
        log_posterior = pool.log_prior(prior)
        if len(items):
            rows = pool.response_rows(items, answers)
            log_posterior = log_posterior + pool.response_log_table[rows].sum(axis=0)
        theta, se = posterior_summary(pool.quadrature, log_posterior, pool.quadrature_moments)
    else:
        theta, se = pool.point_estimate(items, answers, estimator, prior)
    return _decide(
        pool,
        theta,
        se,
        items,
        blocked,
        n_blocked,
        rules,
        selector,
        randomesque_k,
        targets,
        rng,
    )


class CatSession:
    """A running adaptive test that keeps its state between steps (for simulations).

    Usage::

        session = CatSession(pool, rules=StoppingRule(max_items=30))
        step = session.next_step()
        while not step.stop:
            session.record(step.next_item, answer_to(step.next_item))
            step = session.next_step()

    Options are those of :func:`cat_step`; each :meth:`next_step` gives the same result as
    :func:`cat_step` on the recorded history with ``excluded`` = the initial exclusions plus
    :attr:`set_aside` (items the Sympson-Hetter lottery rejected, which the session keeps out
    for the rest of the test as the classic procedure requires).
    """

    def __init__(
        self,
        pool: ItemPool,
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
        self.set_aside: list[int] = []  # Sympson-Hetter rejections, never offered again
        excluded_array = _check_excluded(pool, excluded)
        self._blocked, self._n_blocked = blocked_mask(pool, [], excluded_array)
        self._log_posterior = pool.log_prior(prior).copy()

    def record(self, item: int, response: int) -> None:
        """Add the answer ``response`` (0/1; on a mixed pool the score ``0..m_i``) to pool item
        ``item``."""
        item, response = int(item), int(response)
        if not 0 <= item < self.pool.n_items:
            raise InvalidResponsesError(
                f"item index {item} is outside the pool of {self.pool.n_items} items"
            )
        self.pool.check_answer(item, response)
        if item in self.administered:
            raise InvalidResponsesError(f"item {item} was administered more than once")
        self.administered.append(item)
        self.responses.append(response)
        if not self._blocked[item]:
            self._blocked[item] = True
            self._n_blocked += 1
        self._log_posterior += self.pool.response_log_table[self.pool.response_rows(item, response)]

    def estimate(self) -> tuple[float, float]:
        """Current ``(theta, se)``."""
        if self.estimator == "eap":
            return posterior_summary(
                self.pool.quadrature, self._log_posterior, self.pool.quadrature_moments
            )
        items = np.asarray(self.administered, dtype=np.intp)
        answers = np.asarray(self.responses, dtype=np.intp)
        return self.pool.point_estimate(items, answers, self.estimator, self.prior)

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
        if step.skipped:  # Sympson-Hetter sets rejected items aside for the rest of the test
            self._blocked[list(step.skipped)] = True
            self._n_blocked = int(np.count_nonzero(self._blocked))
            self.set_aside.extend(step.skipped)
        return step


# --- shared internals ---------------------------------------------------------------------------


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
        # Viewed as unsigned, negative values become huge: one max() checks both ends.
        if items.view(np.uintp).max() >= pool.n_items:
            bad = items[(items < 0) | (items >= pool.n_items)][0]
            raise InvalidResponsesError(
                f"item index {int(bad)} is outside the pool of {pool.n_items} items"
            )
        pool.check_answers(items, answers)
    return items, answers


def _check_excluded(pool, excluded) -> np.ndarray | None:
    if excluded is None:
        return None
    array = np.asarray(list(excluded), dtype=np.intp).reshape(-1)
    if len(array) and (array.min() < 0 or array.max() >= pool.n_items):
        bad = array[(array < 0) | (array >= pool.n_items)][0]
        raise InvalidResponsesError(
            f"excluded item index {int(bad)} is outside the pool of {pool.n_items} items"
        )
    return array


def _first_repeat(items: np.ndarray) -> int:
    seen: set[int] = set()
    for item in items.tolist():
        if item in seen:
            return item
        seen.add(item)
    return -1  # pragma: no cover
