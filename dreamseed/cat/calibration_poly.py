r"""Marginal maximum likelihood (EM) calibration of mixed banks: GPCM, PCM and GRM items
together with 1PL, 2PL and 3PL items, from sparse data, with an anchored (fixed-item) mode.

Responses come in long format, one ``(person, item, score)`` triple per answer (scores
:math:`0..m_i`), so adaptive designs where each person met a few items need nothing special.

**E step.** For person :math:`p` and quadrature node :math:`\theta_q` with weight
:math:`w_q` (a normal :math:`N(\mu, \sigma^2)` on the grid),

.. math::
    \pi_{pq} \propto w_q \prod_{i \in p} P_{i x_{pi}}(\theta_q), \qquad
    r_{ikq} = \sum_{p:\, x_{pi} = k} \pi_{pq}

the expected number of persons at node :math:`q` scoring :math:`k` on item :math:`i`. Both
are matrix products with the persons x (item, category) indicator matrix.

**M step.** Each free item (vectorised over the items of a model) maximises
:math:`\sum_q \sum_k r_{ikq} \ln P_{ik}(\theta_q; \eta_i) + \ln \pi(\eta_i)` by Fisher
scoring, with the expected information
:math:`F = \sum_q N_{iq} \sum_k \partial_\eta P_{ik}\, \partial_\eta P_{ik}^T / P_{ik}`
(:math:`N_{iq} = \sum_k r_{ikq}`). The Newton step :math:`F^{-1} g` is **scaled as a whole**
so that its largest component is at most :data:`MAX_STEP` (never clipped component by
component, which could turn it against the gradient; the
:func:`~dreamseed.cat.calibration.scaled_step` of the dichotomous calibration), then
halved until the item's objective does not fall. Parameterisations (slope-intercept):

* GPCM / PCM / 2PL / 1PL: :math:`\eta = (a, \delta_1, \dots, \delta_m)`,
  :math:`P_k \propto \exp(k a \theta + \sum_{v \le k} \delta_v)`, :math:`b_v = -\delta_v / a`
  (PCM and 1PL: :math:`a = 1` fixed; the 2PL is the GPCM with :math:`m = 1`).
* GRM: :math:`\eta = (a, \beta_1, \dots, \beta_m)`,
  :math:`P^*_k = \mathrm{logistic}(a\theta + \beta_k)`, :math:`b_k = -\beta_k / a`, with
  :math:`\beta_1 > \dots > \beta_m` enforced (a step that breaks the order is halved).
* 3PL: :math:`\eta = (a, \beta, \gamma)`, :math:`c = \mathrm{logistic}(\gamma)`, with the
  Beta prior on :math:`c` of :mod:`dreamseed.cat.calibration`.

**Anchored mode.** Items given in ``anchors`` keep their parameters and only enter the E step;
the ability distribution's mean and SD are then re-estimated every cycle (Kim's 2006 fixed
parameter calibration with multiple-weights updating), so the free items land on the anchors'
scale. Without anchors ability is :math:`N(0, 1)`, which fixes the scale.

**Standard errors** come from the cross-product information
:math:`\sum_p s_{pi} s_{pi}^T`, :math:`s_{pi} = \sum_q \pi_{pq}\,
\partial_\eta \ln P_{i x_{pi}}(\theta_q)` (Fisher's identity), plus the prior's curvature,
mapped to :math:`(a, b_1, \dots, b_m, c)` by the delta method.

**Flags** (per item), with the vocabulary and thresholds of
:func:`dreamseed.cat.calibration.item_convergence`. Not estimated (NaN parameters):
``too_few_responses``, ``no_variance`` (one score only), ``empty_category`` (a polytomous
item with a score nobody got: its threshold is not identified). Estimated but not usable, in
order of precedence: ``at_bound`` (a slope or a threshold on its limit), ``not_converged``
(the parameters never left their start, or one more Fisher-scoring step on the final
marginal likelihood would still move one by more than
:data:`~dreamseed.cat.calibration.STEP_TOLERANCE`: the gradient is not near zero),
``large_se`` (a standard error not finite or above ``max_se``: a, every threshold, c).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logit

from .calibration import (
    _MAX_STEP,
    DEFAULT_C_PRIOR,
    DEFAULT_MAX_SE,
    DEFAULT_MIN_RESPONSES,
    DEFAULT_TOLERANCE,
    DENSE_CELL_LIMIT,
    DIFFICULTY_LIMIT,
    FLAG_AT_BOUND,
    FLAG_LARGE_SE,
    FLAG_NO_VARIANCE,
    FLAG_NOT_CONVERGED,
    FLAG_TOO_FEW,
    FLOAT32_TOLERANCE_LIMIT,
    GUESSING_BOUNDS,
    M_STEP_NEWTON_STEPS,
    SLOPE_BOUNDS,
    STEP_TOLERANCE,
    STUCK_TOLERANCE,
    _as_index,
    _check_options,
    _safe_inverse,
    check_max_se,
    flag_summary,
    scaled_step,
)
from .exceptions import (
    ConfigurationError,
    EmptyBankError,
    InvalidParametersError,
    InvalidResponsesError,
)
from .irt import PROBABILITY_FLOOR
from .polytomous import (
    MAX_CATEGORIES,
    MODEL_CODES,
    MODEL_DICHOTOMOUS,
    PolyBank,
    _validated,
    log_category_probabilities,
)

#: Model names accepted per item.
MODELS = ("1PL", "2PL", "3PL", "GPCM", "PCM", "GRM")
#: Quadrature of the free calibration (ability ~ N(0, 1)) and of the anchored one (the
#: ability distribution may sit off zero, so its grid is wider).
QUADRATURE_POINTS = 41
QUADRATURE_BOUNDS = (-5.0, 5.0)
ANCHORED_QUADRATURE_POINTS = 61
ANCHORED_QUADRATURE_BOUNDS = (-6.0, 6.0)
DEFAULT_MAX_ITERATIONS = 2000
#: Largest component of a Fisher-scoring step (the dichotomous calibration's), logits.
MAX_STEP = _MAX_STEP
#: Halvings of a step before an item keeps its previous parameters for this M step.
LINE_SEARCH_HALVINGS = 8
#: The ability SD estimated in anchored mode is kept above this (logits).
MIN_POPULATION_SD = 0.1
#: Responses per chunk when computing standard errors.
_SE_CHUNK = 20_000

FLAG_EMPTY_CATEGORY = "empty_category"
#: Flags of items that were not estimated (their parameters are NaN).
NOT_ESTIMATED_FLAGS = (FLAG_TOO_FEW, FLAG_NO_VARIANCE, FLAG_EMPTY_CATEGORY)


@dataclass(frozen=True)
class PolyCalibrationResult:
    """Estimated parameters of a mixed bank and diagnostics.

    Attributes
    ----------
    models : tuple of str
        Model of each item, as given.
    a : numpy.ndarray, shape (n,)
    thresholds : numpy.ndarray, shape (n, M)
        :math:`b_1..b_m` per item, NaN beyond :math:`m` (a dichotomous item's ``b`` in
        column 0).
    c : numpy.ndarray, shape (n,)
        Guessing of 3PL items, 0 otherwise.
    n_categories : numpy.ndarray, shape (n,)
    se_a, se_thresholds, se_c :
        Standard errors, same shapes; NaN where fixed or not estimated.
    flags : tuple of str
        ``""`` or one of the flags of the module docstring. Anchors always have ``""``.
    fixed : numpy.ndarray of bool, shape (n,)
        True for anchors.
    n_responses : numpy.ndarray, shape (n,)
    iterations : int
    loglik : float
        Marginal log-likelihood at the estimates.
    converged : bool
        EM stopped because no free parameter moved more than the tolerance.
    population_mean, population_sd : float
        Ability distribution (0 and 1 without anchors).
    seconds : float
    """

    models: tuple[str, ...]
    a: np.ndarray
    thresholds: np.ndarray
    c: np.ndarray
    n_categories: np.ndarray
    se_a: np.ndarray
    se_thresholds: np.ndarray
    se_c: np.ndarray
    flags: tuple[str, ...]
    fixed: np.ndarray
    n_responses: np.ndarray
    iterations: int
    loglik: float
    converged: bool
    population_mean: float = 0.0
    population_sd: float = 1.0
    seconds: float = 0.0
    history: list[float] = field(default_factory=list, repr=False)

    @property
    def estimated(self) -> np.ndarray:
        """Indices of the items with estimates (free and estimated, or anchors)."""
        return np.flatnonzero(np.isfinite(self.a))

    @property
    def flagged(self) -> np.ndarray:
        """Indices of flagged items."""
        return np.array([i for i, flag in enumerate(self.flags) if flag], dtype=np.intp)

    @property
    def model_counts(self) -> dict[str, int]:
        """How many items of each model, in order of first appearance."""
        counts: dict[str, int] = {}
        for model in self.models:
            counts[model] = counts.get(model, 0) + 1
        return counts

    def summary(self, labels: list[str], *, persons: int, responses: int) -> dict:
        """The figures the command-line tool prints, as plain JSON-ready values."""
        return {
            "models": self.model_counts,
            "items": len(labels),
            "anchors": int(self.fixed.sum()),
            "persons": persons,
            "responses": responses,
            "iterations": self.iterations,
            "converged": self.converged,
            "loglik": None if np.isnan(self.loglik) else round(self.loglik, 4),
            "population_mean": round(self.population_mean, 4),
            "population_sd": round(self.population_sd, 4),
            "seconds": round(self.seconds, 4),
            **flag_summary(self, labels),
        }

    def bank(self, items=None) -> PolyBank:
        """A :class:`PolyBank` of ``items`` (default: every estimated item)."""
        items = self.estimated if items is None else np.asarray(items, dtype=np.intp)
        if len(items) == 0:
            raise EmptyBankError("no item was estimated: nothing to build a bank from")
        if not np.isfinite(self.a[items]).all():
            raise InvalidParametersError("some of these items have no estimates (see flags)")
        codes = np.array([MODEL_CODES[self.models[i]] for i in items], dtype=np.int8)
        return _validated(
            codes,
            self.a[items],
            self.thresholds[items],
            self.n_categories[items],
            self.c[items],
            np.ones(len(items)),
        )


def calibrate_poly(
    person_idx,
    item_idx,
    responses,
    *,
    models,
    n_items: int | None = None,
    n_persons: int | None = None,
    n_categories=None,
    anchors: PolyBank | None = None,
    fixed=None,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    tolerance: float = DEFAULT_TOLERANCE,
    min_responses: int = DEFAULT_MIN_RESPONSES,
    c_prior: tuple[float, float] = DEFAULT_C_PRIOR,
    max_se: tuple[float, float, float] | None = DEFAULT_MAX_SE,
    quadrature_points: int | None = None,
    quadrature_bounds: tuple[float, float] | None = None,
) -> PolyCalibrationResult:
    """Fit a mixed bank by marginal maximum likelihood (EM).

    Parameters
    ----------
    person_idx, item_idx : array_like of int, shape (r,)
        0-based person and item of each response.
    responses : array_like of int, shape (r,)
        Scores :math:`0..m_i`.
    models : str or sequence of str
        Model of every item (or one for all), from :data:`MODELS`.
    n_items, n_persons : int, optional
        Sizes (default: largest index + 1).
    n_categories : int or array_like of int, optional
        Score categories of each item (2 for dichotomous items). Default: the largest score
        observed + 1 for polytomous items; anchors take theirs from ``anchors``.
    anchors : PolyBank, optional
        Parameters of every item (rows of free items are ignored); with ``fixed``, enables the
        anchored mode.
    fixed : array_like of bool, shape (n_items,), optional
        True for anchor items, whose parameters are taken from ``anchors`` and not estimated.
    max_iterations, tolerance :
        EM stops after ``max_iterations`` or once no free a, b or c (nor, anchored, the
        ability mean or SD) moves more than ``tolerance``.
    min_responses : int
        Free items with fewer responses are flagged ``too_few_responses`` and left out.
    c_prior : (alpha, beta)
        Beta prior on the 3PL guessing parameter.
    max_se : (se_a, se_b, se_c) or None
        Largest standard errors of a, of every threshold and of c accepted as usable;
        larger ones are flagged ``large_se`` (None: no limit).
    quadrature_points, quadrature_bounds :
        Ability grid (defaults depend on the mode, see the module constants).

    Returns
    -------
    PolyCalibrationResult

    Raises
    ------
    InvalidResponsesError
        Lengths differ, bad indices, a score that is not an integer in ``0..m_i`` of its item
        (0/1 for dichotomous items), no responses, or a repeated (person, item) pair.
    InvalidParametersError
        ``anchors`` does not match the items (size, model).
    ConfigurationError
        Unknown model, bad options, or ``fixed`` without ``anchors``.
    """
    started = time.perf_counter()
    _check_options(max_iterations, tolerance, min_responses, c_prior, quadrature_points or 41)
    check_max_se(max_se)
    person = _as_index(person_idx, "person_idx")
    item = _as_index(item_idx, "item_idx")
    score = _as_scores(responses)
    if not (len(person) == len(item) == len(score)):
        raise InvalidResponsesError(
            f"person_idx, item_idx and responses have lengths {len(person)}, {len(item)} and "
            f"{len(score)}: they must match"
        )
    if len(score) == 0:
        raise InvalidResponsesError("no responses to calibrate from")
    n_items = int(item.max()) + 1 if n_items is None else int(n_items)
    n_persons = int(person.max()) + 1 if n_persons is None else int(n_persons)
    if item.max() >= n_items:
        raise InvalidResponsesError(f"item index {int(item.max())} is >= n_items = {n_items}")
    if person.max() >= n_persons:
        raise InvalidResponsesError(
            f"person index {int(person.max())} is >= n_persons = {n_persons}"
        )
    _check_unique(person, item, n_items)
    names = _check_models(models, n_items)
    fixed = _check_fixed(fixed, anchors, names, n_items)
    categories = _categories(n_categories, names, item, score, n_items, anchors, fixed)
    bad = score >= categories[item]
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise InvalidResponsesError(
            f"response {position} is {int(score[position])}: item {int(item[position])} is "
            f"scored 0 to {int(categories[item[position]]) - 1}"
        )
    anchored = bool(fixed.any())
    if quadrature_points is None:
        quadrature_points = ANCHORED_QUADRATURE_POINTS if anchored else QUADRATURE_POINTS
    if quadrature_bounds is None:
        quadrature_bounds = ANCHORED_QUADRATURE_BOUNDS if anchored else QUADRATURE_BOUNDS

    # Flags of free items that cannot be estimated.
    width = int(categories.max())
    counts = np.zeros((n_items, width), dtype=np.intp)
    np.add.at(counts, (item, score), 1)
    n_responses = counts.sum(axis=1)
    flags = np.array([""] * n_items, dtype=object)
    has_category = np.arange(width) < categories[:, None]
    empty = (has_category & (counts == 0)).any(axis=1)
    free = ~fixed
    flags[free & empty & (categories > 2)] = FLAG_EMPTY_CATEGORY
    flags[free & ((counts > 0).sum(axis=1) < 2)] = FLAG_NO_VARIANCE
    flags[free & (n_responses < min_responses)] = FLAG_TOO_FEW
    estimable = np.flatnonzero(free & (flags == ""))
    used = np.flatnonzero(fixed | (flags == ""))

    grid = np.linspace(*quadrature_bounds, quadrature_points)
    groups = _make_groups(estimable, names, categories, counts, grid, c_prior)
    anchor_bank = anchors.subset(np.flatnonzero(fixed)) if anchored else None

    # Rows of the (item, category) indicator matrix: used items only.
    row_offsets = np.full(n_items, -1, dtype=np.intp)
    row_offsets[used] = np.concatenate([[0], np.cumsum(categories[used])[:-1]])
    n_rows = int(categories[used].sum())
    keep = row_offsets[item] >= 0
    data = _Indicators(person[keep], row_offsets[item[keep]] + score[keep], n_persons, n_rows)
    anchor_log = None
    if anchored:
        log_p = log_category_probabilities(grid, anchor_bank)  # (Q, n_anchor, K)
        mask = np.arange(anchor_bank.max_categories) < anchor_bank.n_categories[:, None]
        anchor_log = log_p.transpose(1, 2, 0)[mask]  # rows in anchor order
        anchor_rows = np.concatenate(
            [row_offsets[i] + np.arange(categories[i]) for i in np.flatnonzero(fixed)]
        )

    mean, sd = 0.0, 1.0
    log_table = np.zeros((n_rows, len(grid)))
    if anchored:
        log_table[anchor_rows] = anchor_log
    group_rows = [
        (row_offsets[g.items][:, None] + np.arange(g.width)[None, :], g.width) for g in groups
    ]

    def fill_table():
        for g, (rows, w) in zip(groups, group_rows, strict=True):
            valid = np.arange(w) < categories[g.items][:, None]
            log_p = np.log(np.clip(g.probabilities(g.state), PROBABILITY_FLOOR, None))
            log_table[rows[valid]] = log_p[valid]

    history: list[float] = []
    exact = tolerance < FLOAT32_TOLERANCE_LIMIT  # float32 E steps are accurate to ~1e-6
    previous = _summary(groups)
    converged = False
    iterations = 0
    loglik = float("nan")
    while iterations < max_iterations and groups:
        iterations += 1
        fill_table()
        posterior, loglik = data.posterior(log_table, _log_weights(grid, mean, sd), exact)
        history.append(loglik)
        expected = data.expected_counts(posterior)  # (rows, Q)
        for g, (rows, w) in zip(groups, group_rows, strict=True):
            r = np.zeros((len(g.items), w, len(grid)))
            valid = np.arange(w) < categories[g.items][:, None]
            r[valid] = expected[rows[valid]]
            g.m_step(r)
        change = 0.0
        if anchored:
            new_mean, new_sd = _population_moments(posterior, grid)
            change = max(abs(new_mean - mean), abs(new_sd - sd))
            mean, sd = new_mean, new_sd
        current = _summary(groups)
        change = max(change, float(np.nanmax(np.abs(current - previous))))
        previous = current
        if change < tolerance:
            converged = True
            break

    # Final E step and outputs.
    a_out = np.full(n_items, np.nan)
    thresholds = np.full((n_items, max(width - 1, 1)), np.nan)
    c_out = np.zeros(n_items)
    se_a = np.full(n_items, np.nan)
    se_thresholds = np.full_like(thresholds, np.nan)
    se_c = np.full(n_items, np.nan)
    if anchored:
        ids = np.flatnonzero(fixed)
        a_out[ids] = anchor_bank.a
        thresholds[ids, : anchor_bank.thresholds.shape[1]] = anchor_bank.thresholds
        c_out[ids] = anchor_bank.c
    if groups:
        fill_table()
        posterior, loglik = data.posterior(log_table, _log_weights(grid, mean, sd))
        history.append(loglik)
        expected = data.expected_counts(posterior)
        for g, (rows, w) in zip(groups, group_rows, strict=True):
            a_g, b_g, c_g = g.to_params(g.state)
            a_out[g.items] = a_g
            thresholds[g.items, : w - 1] = b_g
            c_out[g.items] = c_g
            se_out = g.standard_errors(data, posterior, rows)
            r = np.zeros((len(g.items), w, len(grid)))
            valid = np.arange(w) < categories[g.items][:, None]
            r[valid] = expected[rows[valid]]
            remaining = np.abs(g.newton_step(g.state, r)).max(axis=1)
            se_a[g.items] = se_out[:, 0]
            se_thresholds[g.items, : w - 1] = se_out[:, 1:w]
            if g.kind == "3PL":
                se_c[g.items] = se_out[:, w]
            flags[g.items] = _quality_flags(
                g, a_out[g.items], thresholds[g.items], se_out, remaining, max_se
            )
    elif anchored:
        posterior, loglik = data.posterior(log_table, _log_weights(grid, mean, sd))
    return PolyCalibrationResult(
        models=tuple(names),
        a=a_out,
        thresholds=thresholds,
        c=c_out,
        n_categories=categories,
        se_a=se_a,
        se_thresholds=se_thresholds,
        se_c=se_c,
        flags=tuple(str(f) for f in flags),
        fixed=fixed,
        n_responses=n_responses,
        iterations=iterations,
        loglik=float(loglik),
        converged=converged,
        population_mean=mean,
        population_sd=sd,
        seconds=time.perf_counter() - started,
        history=history,
    )


# --- input checks --------------------------------------------------------------------------------


def _as_scores(responses) -> np.ndarray:
    array = np.asarray(responses)
    if array.ndim != 1:
        raise InvalidResponsesError(f"responses must be one-dimensional; got shape {array.shape}")
    if array.dtype == bool:
        return array.astype(np.intp)
    try:
        as_float = array.astype(float)
    except (TypeError, ValueError):
        raise InvalidResponsesError("responses must be integer scores") from None
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float)) | (as_float < 0)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise InvalidResponsesError(
            f"responses must be integer scores >= 0; entry {position} is {array[position].item()!r}"
        )
    return as_float.astype(np.intp)


def _check_unique(person, item, n_items):
    keys = person.astype(np.int64) * n_items + item
    unique_keys, counts = np.unique(keys, return_counts=True)
    if len(unique_keys) != len(keys):
        key = int(unique_keys[np.argmax(counts > 1)])
        raise InvalidResponsesError(
            f"person {key // n_items} answered item {key % n_items} more than once"
        )


def _check_models(models, n_items) -> list[str]:
    names = [models] * n_items if isinstance(models, str) else [str(m) for m in models]
    if len(names) != n_items:
        raise ConfigurationError(f"{len(names)} models for {n_items} items: lengths must match")
    for index, name in enumerate(names):
        if name not in MODELS:
            raise ConfigurationError(
                f"item {index}: unknown model {name!r}: choose one of {', '.join(MODELS)}"
            )
    return names


def _check_fixed(fixed, anchors, names, n_items) -> np.ndarray:
    if fixed is None:
        if anchors is not None:
            raise ConfigurationError("anchors given without 'fixed': say which items are anchors")
        return np.zeros(n_items, dtype=bool)
    fixed = np.asarray(fixed, dtype=bool)
    if fixed.shape != (n_items,):
        raise ConfigurationError(f"fixed has {fixed.size} entries for {n_items} items")
    if not fixed.any():
        return fixed
    if anchors is None:
        raise ConfigurationError("fixed items need their parameters: pass anchors=PolyBank")
    if anchors.n_items != n_items:
        raise InvalidParametersError(
            f"anchors has {anchors.n_items} items for {n_items}: give a row for every item"
        )
    for index in np.flatnonzero(fixed):
        if anchors.model[index] != MODEL_CODES[names[index]]:
            raise InvalidParametersError(
                f"item {index}: the anchor's model does not match {names[index]!r}",
                item=int(index),
            )
    return fixed


def _categories(n_categories, names, item, score, n_items, anchors, fixed) -> np.ndarray:
    observed = np.zeros(n_items, dtype=np.intp)
    np.maximum.at(observed, item, score + 1)
    if n_categories is None:
        categories = np.maximum(observed, 2)
    else:
        categories = np.asarray(n_categories, dtype=np.intp)
        if categories.ndim == 0:
            categories = np.full(n_items, int(categories))
        if categories.shape != (n_items,):
            raise ConfigurationError(f"n_categories has {categories.size} entries for {n_items}")
    dichotomous = np.array([MODEL_CODES[n] == MODEL_DICHOTOMOUS for n in names])
    categories = np.where(dichotomous, 2, categories)
    if fixed.any():
        categories = np.where(fixed, anchors.n_categories, categories)
    too_many = categories > MAX_CATEGORIES
    if too_many.any():
        index = int(np.flatnonzero(too_many)[0])
        raise InvalidResponsesError(
            f"item {index} has scores up to {int(categories[index]) - 1}: at most "
            f"{MAX_CATEGORIES - 1} is supported"
        )
    return categories


# --- E step ---------------------------------------------------------------------------------------


class _Indicators:
    """Persons x (item, category) indicators: dense when small, sparse otherwise.

    EM's E steps run in float32 (twice as fast, ample for posteriors normalised per person,
    as in :mod:`dreamseed.cat.calibration`); the final E step, which gives the reported
    log-likelihood, the SEs and the convergence check, runs in float64.
    """

    def __init__(self, person, row, n_persons, n_rows):
        self.person, self.row = person, row
        self.n_persons = n_persons
        self.sparse = n_persons * n_rows > DENSE_CELL_LIMIT
        self.shape = (n_persons, n_rows)
        self._matrices = {}

    def matrices(self, dtype):
        """The indicator matrix and its transpose in ``dtype`` (built once per dtype)."""
        if dtype not in self._matrices:
            if self.sparse:
                from scipy import sparse  # only large designs need it

                ones = np.ones(len(self.row), dtype=dtype)
                matrix = sparse.csr_matrix((ones, (self.person, self.row)), shape=self.shape)
                self._matrices[dtype] = (matrix, matrix.T.tocsr())
            else:
                matrix = np.zeros(self.shape, dtype=dtype)
                matrix[self.person, self.row] = 1.0
                self._matrices[dtype] = (matrix, np.ascontiguousarray(matrix.T))
        return self._matrices[dtype]

    def posterior(self, log_table, log_weights, exact=True):
        """Posterior (persons, Q) and the marginal log-likelihood."""
        dtype = np.float64 if exact else np.float32
        matrix, _ = self.matrices(dtype)
        log_lik = np.asarray(matrix @ log_table.astype(dtype, copy=False))
        log_lik += log_weights.astype(dtype)
        peak = log_lik.max(axis=1, keepdims=True)
        log_lik -= peak
        posterior = np.exp(log_lik, out=log_lik)
        total = posterior.sum(axis=1, keepdims=True)
        posterior /= total
        loglik = float(peak.sum(dtype=np.float64) + np.log(total).sum(dtype=np.float64))
        return posterior, loglik

    def expected_counts(self, posterior):
        """:math:`r_{(i,k) q}`, shape (rows, Q), float64."""
        _, transposed = self.matrices(posterior.dtype.type)
        return np.asarray(transposed @ posterior, dtype=np.float64)


def _log_weights(grid, mean, sd):
    log_weights = -0.5 * ((grid - mean) / sd) ** 2
    return log_weights - np.log(np.exp(log_weights).sum())


def _population_moments(posterior, grid):
    mean = float((posterior @ grid).mean())
    variance = float((posterior @ (grid - mean) ** 2).mean())
    return mean, max(float(np.sqrt(variance)), MIN_POPULATION_SD)


def _summary(groups) -> np.ndarray:
    """All free items' (a, b, c) concatenated, to measure EM's progress."""
    if not groups:
        return np.zeros(0)
    parts = []
    for g in groups:
        a, b, c = g.to_params(g.state)
        parts.append(np.concatenate([a, np.nan_to_num(b, nan=0.0).ravel(), c]))
    return np.concatenate(parts)


# --- models ---------------------------------------------------------------------------------------


def _make_groups(estimable, names, categories, counts, grid, c_prior):
    kinds = {"1PL": "GPCM", "PCM": "GPCM", "2PL": "GPCM", "GPCM": "GPCM", "GRM": "GRM"}
    by_kind: dict[str, list[int]] = {}
    for i in estimable.tolist():
        by_kind.setdefault(kinds.get(names[i], names[i]), []).append(i)
    groups = []
    for kind, items in by_kind.items():
        items = np.asarray(items, dtype=np.intp)
        width = int(categories[items].max())
        fixed_slope = np.array([names[i] in ("1PL", "PCM") for i in items])
        cls = {"GPCM": _GpcmGroup, "GRM": _GrmGroup, "3PL": _ThreePlGroup}[kind]
        groups.append(
            cls(items, categories[items], counts[items, :width], fixed_slope, grid, c_prior)
        )
    return groups


class _Group:
    """Free items of one model family, parameters ``state`` (k, n_params), vectorised."""

    kind = ""

    def __init__(self, items, categories, counts, fixed_slope, grid, c_prior):
        self.items = items
        self.categories = categories
        self.width = counts.shape[1]
        self.m = self.width - 1
        self.grid = grid
        self.c_prior = c_prior
        self.valid = np.arange(self.m) < (categories - 1)[:, None]  # (k, M) thresholds
        self.has_category = np.arange(self.width) < categories[:, None]
        self.free = self._free_mask(fixed_slope)
        self.state = self.start(counts)
        self.start_state = self.state.copy()

    def _free_mask(self, fixed_slope):
        free = np.concatenate([~fixed_slope[:, None], self.valid], axis=1)
        return free

    # Subclasses: start, probabilities, derivatives, to_params, jacobian, clamp, feasible.

    def log_prior(self, state):
        return np.zeros(len(state))

    def prior_terms(self, state):
        k, n = state.shape
        return np.zeros((k, n)), np.zeros((k, n, n))

    def objective(self, state, r):
        p = np.clip(self.probabilities(state), PROBABILITY_FLOOR, None)
        value = (r * np.log(p)).sum(axis=(1, 2)) + self.log_prior(state)
        return np.where(self.feasible(state), value, -np.inf)

    def feasible(self, state):
        return np.ones(len(state), dtype=bool)

    def newton_step(self, state, r):
        """The full Fisher-scoring step on each item's expected complete-data objective,
        shape (k, n_params), 0 for fixed parameters. With the counts of the final E step it
        is also the step on the marginal likelihood (Fisher's identity)."""
        total = r.sum(axis=1)  # (k, Q)
        p = np.clip(self.probabilities(state), PROBABILITY_FLOOR, None)  # (k, K, Q)
        dp = self.derivatives(state)  # (k, n, K, Q)
        score = np.einsum("kcq,kncq->kn", r / p, dp)
        info = np.einsum("kq,kncq,kmcq->knm", total, dp, dp / p[:, None])
        prior_score, prior_info = self.prior_terms(state)
        return _masked_solve(info + prior_info, score + prior_score, self.free)

    def m_step(self, r):
        """Fisher scoring, each item's step scaled as a whole then halved, all items at once."""
        state = self.state
        for _ in range(M_STEP_NEWTON_STEPS):
            state = self._line_search(state, scaled_step(self.newton_step(state, r)), r)
        self.state = state

    def _line_search(self, state, step, r):
        before = self.objective(state, r)
        scale = np.ones(len(state))
        candidate = self.clamp(state + step)
        for _ in range(LINE_SEARCH_HALVINGS):
            worse = ~(self.objective(candidate, r) >= before - 1e-12)
            if not worse.any():
                break
            scale[worse] *= 0.5
            candidate[worse] = self.clamp(state[worse] + scale[worse, None] * step[worse])
        worse = ~(self.objective(candidate, r) >= before - 1e-12)
        candidate[worse] = state[worse]
        return candidate

    def clamp(self, state):
        state = state.copy()
        state[:, 0] = np.clip(state[:, 0], *SLOPE_BOUNDS)
        limit = DIFFICULTY_LIMIT * state[:, :1]
        state[:, 1 : 1 + self.m] = np.clip(state[:, 1 : 1 + self.m], -limit, limit)
        return state

    def standard_errors(self, data, posterior, rows):
        """Standard errors of ``[a, b_1..b_M]`` (GPCM, GRM) or ``[a, b, c]`` (3PL), (k, n_out)."""
        state = self.state
        p = np.clip(self.probabilities(state), PROBABILITY_FLOOR, None)
        gradient = self.derivatives(state) / p[:, None]  # d ln P_k / d eta, (k, n, K, Q)
        n_params = state.shape[1]
        local = np.full(max(int(data.row.max()), int(rows.max())) + 1, -1, dtype=np.intp)
        valid = self.has_category
        local[rows[valid]] = np.flatnonzero(valid.ravel())  # row -> k * width + category
        mine = np.flatnonzero(np.isin(data.row, rows[valid]))
        # s_r = sum_q pi[p_r, q] g[row_r, :, q]: one matrix product per block of persons,
        # then each response picks its (row, parameter) columns.
        flat = gradient.transpose(0, 2, 1, 3).reshape(-1, len(self.grid))  # (rows*n, Q)
        mine = mine[np.argsort(data.person[mine], kind="stable")]
        persons = data.person[mine]
        scores = np.empty((len(mine), n_params))
        block = max(1, _SE_CHUNK * 8 // max(len(flat), 1))
        starts = np.searchsorted(persons, np.arange(0, data.n_persons + block, block))
        firsts = range(0, data.n_persons, block)
        for low, high, first in zip(starts[:-1], starts[1:], firsts, strict=True):
            if high == low:
                continue
            product = posterior[first : first + block] @ flat.T  # (block, rows*n)
            product = product.reshape(len(product), -1, n_params)
            chunk = mine[low:high]
            scores[low:high] = product[data.person[chunk] - first, local[data.row[chunk]]]
        owner = local[data.row[mine]] // self.width
        info = np.zeros((len(state), n_params, n_params))
        for i in range(n_params):
            for j in range(i, n_params):
                total = np.bincount(
                    owner, weights=scores[:, i] * scores[:, j], minlength=len(state)
                )
                info[:, i, j] = info[:, j, i] = total
        info += self.prior_terms(state)[1]
        free = self.free
        both = free[:, :, None] & free[:, None, :]
        eye = np.broadcast_to(np.eye(n_params), info.shape)
        covariance = np.where(both, _safe_inverse(np.where(both, info, eye)), 0.0)
        jacobian = self.jacobian(state)  # (k, n_out, n)
        variance = np.einsum("koi,kij,koj->ko", jacobian, covariance, jacobian)
        se = np.sqrt(np.maximum(variance, 0.0))
        se[~np.isfinite(variance)] = np.nan
        out_free = (np.abs(jacobian) > 0).any(axis=2) & self._output_free()
        se[~out_free] = np.nan
        return se

    def _output_free(self):
        # Outputs [a, b_1..b_M]: a is free unless fixed; b_v where the item has it.
        return np.concatenate([self.free[:, :1], self.valid], axis=1)


class _GpcmGroup(_Group):
    """GPCM (and PCM, 2PL, 1PL): ``state = [a, delta_1..delta_M]``,
    :math:`P_k \\propto \\exp(k a \\theta + \\sum_{v \\le k} \\delta_v)`."""

    kind = "GPCM"

    def start(self, counts):
        smoothed = counts + 0.5
        # Adjacent-category log odds at theta = 0: ln(n_v / n_{v-1}) = delta_v (a = 1).
        delta = np.log(smoothed[:, 1:] / smoothed[:, :-1])
        delta = np.where(self.valid, delta, 0.0)
        return np.column_stack([np.ones(len(counts)), delta])

    def probabilities(self, state):
        k = np.arange(self.width, dtype=float)
        s = state[:, 0, None, None] * k[None, :, None] * self.grid  # (k, K, Q)
        cumulative = np.concatenate(
            [np.zeros((len(state), 1)), np.cumsum(np.where(self.valid, state[:, 1:], 0.0), 1)],
            axis=1,
        )
        s = s + cumulative[:, :, None]
        s = np.where(self.has_category[:, :, None], s, -np.inf)
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        return p / p.sum(axis=1, keepdims=True)

    def derivatives(self, state):
        p = self.probabilities(state)  # (k, K, Q)
        k = np.arange(self.width, dtype=float)
        mean = (p * k[:, None]).sum(axis=1, keepdims=True)
        d_slope = p * (k[:, None] - mean) * self.grid  # (k, K, Q)
        # dP_k / d delta_v = P_k (1[k >= v] - T_v), T_v = sum_{l >= v} P_l (v = 1..M).
        tail = np.flip(np.cumsum(np.flip(p, axis=1), axis=1), axis=1)[:, 1:]  # (k, M, Q)
        at_or_above = (k[None, :] >= np.arange(1, self.width)[:, None]).astype(float)  # (M, K)
        d_delta = p[:, None] * (at_or_above[None, :, :, None] - tail[:, :, None, :])
        return np.concatenate([d_slope[:, None], d_delta], axis=1)

    def to_params(self, state):
        a = state[:, 0]
        b = np.where(self.valid, -state[:, 1:] / a[:, None], np.nan)
        return a, b, np.zeros(len(a))

    def jacobian(self, state):
        a, delta = state[:, 0], state[:, 1:]
        k, n = state.shape
        jac = np.zeros((k, n, n))
        jac[:, 0, 0] = 1.0
        v = np.arange(1, n)
        jac[:, v, 0] = delta / (a * a)[:, None]
        jac[:, v, v] = -1.0 / a[:, None]
        return jac


class _GrmGroup(_Group):
    """GRM: ``state = [a, beta_1..beta_M]``, :math:`P^*_k = \\mathrm{logistic}(a\\theta +
    \\beta_k)`, decreasing :math:`\\beta`."""

    kind = "GRM"

    def start(self, counts):
        smoothed = counts + 0.5
        above = np.flip(np.cumsum(np.flip(smoothed, 1), 1), 1)[:, 1:]  # n(X >= v), v = 1..M
        proportion = above / smoothed.sum(axis=1, keepdims=True)
        beta = 1.16 * logit(np.clip(proportion, 1e-3, 1 - 1e-3))
        for v in range(1, self.m):  # strictly decreasing, whatever the clipping did
            beta[:, v] = np.minimum(beta[:, v], beta[:, v - 1] - 0.05)
        return np.column_stack([np.ones(len(counts)), np.where(self.valid, beta, 0.0)])

    def _stars(self, state):
        z = state[:, 0, None, None] * self.grid + state[:, 1:, None]  # (k, M, Q)
        upper = np.where(self.valid[:, :, None], expit(z), 0.0)
        lower = np.where(self.valid[:, :, None], expit(-z), 1.0)
        return upper, lower

    def probabilities(self, state):
        upper, lower = self._stars(state)
        ones = np.ones((len(state), 1, len(self.grid)))
        zeros = np.zeros_like(ones)
        star = np.concatenate([ones, upper, zeros], axis=1)
        p = star[:, :-1] - star[:, 1:]
        p[:, 0] = lower[:, 0]
        return np.clip(p, 0.0, None)

    def derivatives(self, state):
        upper, lower = self._stars(state)
        density = upper * lower  # dP*_v / d beta_v, (k, M, Q)
        zeros = np.zeros((len(state), 1, len(self.grid)))
        padded = np.concatenate([zeros, density, zeros], axis=1)  # v = 0..M+1
        d_slope = (padded[:, :-1] - padded[:, 1:]) * self.grid  # (k, K, Q)
        m = self.m
        # dP_k / d beta_v = D_v (1[k = v] - 1[k = v - 1]).
        sign = np.zeros((m, m + 1))
        sign[np.arange(m), np.arange(1, m + 1)] = 1.0
        sign[np.arange(m), np.arange(m)] = -1.0
        d_beta = density[:, :, None, :] * sign[None, :, :, None]
        return np.concatenate([d_slope[:, None], d_beta], axis=1)

    def feasible(self, state):
        beta = state[:, 1:]
        pairs = self.valid[:, 1:]
        return ~(pairs & ~(np.diff(beta, axis=1) < 0)).any(axis=1)

    to_params = _GpcmGroup.to_params
    jacobian = _GpcmGroup.jacobian


class _ThreePlGroup(_Group):
    """3PL: ``state = [a, beta, gamma]``, :math:`c = \\mathrm{logistic}(\\gamma)`, Beta prior."""

    kind = "3PL"

    def _free_mask(self, fixed_slope):
        return np.ones((len(self.categories), 3), dtype=bool)

    def start(self, counts):
        alpha, beta = self.c_prior
        c0 = (alpha - 1) / (alpha + beta - 2) if alpha + beta > 2 else 0.2
        p = (counts[:, 1] + 0.5) / (counts.sum(axis=1) + 1.0)
        p_star = np.clip((p - c0) / (1 - c0), 0.05, 0.95)
        return np.column_stack([np.ones(len(p)), 1.16 * logit(p_star), np.full(len(p), logit(c0))])

    def probabilities(self, state):
        z = state[:, 0, None] * self.grid + state[:, 1, None]
        c = expit(state[:, 2])[:, None]
        return np.stack([(1 - c) * expit(-z), c + (1 - c) * expit(z)], axis=1)

    def derivatives(self, state):
        z = state[:, 0, None] * self.grid + state[:, 1, None]
        logistic, complement = expit(z), expit(-z)
        c = expit(state[:, 2])[:, None]
        density = (1 - c) * logistic * complement
        d1 = np.stack([density * self.grid, density, c * (1 - c) * complement], axis=1)
        return np.stack([-d1, d1], axis=2)  # (k, 3, 2, Q)

    def clamp(self, state):
        state = super().clamp(state)
        state[:, 2] = np.clip(state[:, 2], *logit(np.array(GUESSING_BOUNDS)))
        return state

    def log_prior(self, state):
        alpha, beta = self.c_prior
        c = expit(state[:, 2])
        return (alpha - 1) * np.log(c) + (beta - 1) * np.log1p(-c)

    def prior_terms(self, state):
        alpha, beta = self.c_prior
        c = expit(state[:, 2])
        score, info = np.zeros(state.shape), np.zeros((len(state), 3, 3))
        score[:, 2] = (alpha - 1) * (1 - c) - (beta - 1) * c
        info[:, 2, 2] = (alpha + beta - 2) * c * (1 - c)
        return score, info

    def to_params(self, state):
        a = state[:, 0]
        return a, (-state[:, 1] / a)[:, None], expit(state[:, 2])

    def jacobian(self, state):
        a, beta = state[:, 0], state[:, 1]
        c = expit(state[:, 2])
        jac = np.zeros((len(state), 3, 3))  # outputs a, b, c
        jac[:, 0, 0] = 1.0
        jac[:, 1, 0] = beta / (a * a)
        jac[:, 1, 1] = -1.0 / a
        jac[:, 2, 2] = c * (1 - c)
        return jac

    def _output_free(self):
        return np.ones((len(self.items), 3), dtype=bool)


def _masked_solve(info, score, free):
    """Solve ``info @ step = score`` on the free parameters of each item (others: step 0)."""
    both = free[:, :, None] & free[:, None, :]
    eye = np.broadcast_to(np.eye(info.shape[1]), info.shape)
    matrix = np.where(both, info, eye)
    matrix = matrix + 1e-9 * eye
    rhs = np.where(free, score, 0.0)
    try:
        step = np.linalg.solve(matrix, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        step = np.zeros_like(rhs)
        for k in range(len(matrix)):  # rare: a singular item; solve the others one by one
            try:
                step[k] = np.linalg.solve(matrix[k], rhs[k])
            except np.linalg.LinAlgError:
                step[k] = 0.0
    return np.where(free & np.isfinite(step), step, 0.0)


def _quality_flags(group, a, thresholds, se, remaining_step, max_se):
    """The rule of :func:`dreamseed.cat.calibration.item_convergence` for items with several
    thresholds: ``at_bound``, then ``not_converged``, then ``large_se``."""
    flags = np.array([""] * len(a), dtype=object)
    if max_se is not None:
        limit_a, limit_b, limit_c = max_se
        limits = np.full(se.shape, limit_b)
        limits[:, 0] = limit_a
        if group.kind == "3PL":
            limits[:, 2] = limit_c
        expected = group._output_free()
        too_large = expected & ~(np.isfinite(se) & (se <= limits))
        flags[too_large.any(axis=1)] = FLAG_LARGE_SE
    moved = np.abs(group.state - group.start_state).max(axis=1)
    stuck = ~(moved > STUCK_TOLERANCE) | ~(remaining_step <= STEP_TOLERANCE)
    flags[stuck] = FLAG_NOT_CONVERGED
    at_bound = (
        (a <= SLOPE_BOUNDS[0] * (1 + 1e-6))
        | (a >= SLOPE_BOUNDS[1] * (1 - 1e-6))
        | (np.nan_to_num(np.abs(thresholds)) >= DIFFICULTY_LIMIT * (1 - 1e-6)).any(axis=1)
    )
    flags[at_bound] = FLAG_AT_BOUND
    return flags
