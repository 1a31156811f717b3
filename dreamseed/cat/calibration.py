"""Item calibration by marginal maximum likelihood with the EM algorithm (Bock & Aitkin, 1981).

Responses come in long format, one ``(person, item, response)`` triple per answer, so sparse
data (each person answered only some items, as an adaptive test produces) is handled as is:
missing pairs are simply absent. Abilities are integrated out over a fixed quadrature grid
with a standard normal weight, which fixes the scale.

E step, for every person :math:`p` and node :math:`\\theta_q` (weight :math:`w_q`):

.. math::
    \\pi_{pq} \\propto w_q \\prod_{i \\in p} P_i(\\theta_q)^{u_{pi}} Q_i(\\theta_q)^{1 - u_{pi}},
    \\qquad
    r_{iq} = \\sum_{p \\ni i} u_{pi} \\pi_{pq}, \\quad m_{iq} = \\sum_{p \\ni i} \\pi_{pq}

M step, every item separately (vectorised over items), Fisher scoring on

.. math:: \\sum_q r_{iq} \\ln P_i(\\theta_q) + (m_{iq} - r_{iq}) \\ln Q_i(\\theta_q)
          + \\ln \\pi(a_i) + \\ln \\pi(c_i)

in the slope-intercept form :math:`z = a\\theta + \\beta` (:math:`b = -\\beta / a`) with
:math:`c = \\mathrm{logistic}(\\gamma)`. Bayes modal priors as in BILOG-MG: a Beta prior
:math:`\\pi(c)` for the 3PL and, optionally, a lognormal prior :math:`\\pi(a)` (off by
default, :math:`\\ln \\pi(a) = 0`).
The 1PL has one difficulty per item and a slope common to all items.

Standard errors come from the item-level cross-product (empirical) information
:math:`\\sum_p s_{pi} s_{pi}^T` with :math:`s_{pi} = \\sum_q \\pi_{pq}\\,
\\partial \\ln f(u_{pi} \\mid \\theta_q) / \\partial \\eta_i` (Fisher's identity), plus the
priors' curvature, mapped to ``(a, b, c)`` by the delta method.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logit

from .exceptions import ConfigurationError, InvalidResponsesError
from .irt import PROBABILITY_FLOOR

#: Models :func:`calibrate` can fit.
MODELS = ("1PL", "2PL", "3PL")
#: Quadrature nodes over :data:`QUADRATURE_BOUNDS`, logits.
QUADRATURE_POINTS = 41
QUADRATURE_BOUNDS = (-5.0, 5.0)
#: Items with fewer responses are flagged and not estimated.
DEFAULT_MIN_RESPONSES = 20
#: Beta(alpha, beta) prior on the 3PL guessing parameter (BILOG's choice for 5-option items:
#: mean 0.2 with the weight of 20 observations, i.e. alpha = 20 * 0.2 + 1, beta = 20 * 0.8 + 1).
DEFAULT_C_PRIOR = (5.0, 17.0)
#: Optional lognormal prior on the slope of 2PL/3PL items, (mean, sd) of ln a, as BILOG-MG
#: offers (e.g. ``(0.0, 0.5)``). Off by default: plain marginal maximum likelihood, whose
#: estimates are unbiased on adequate data, while the prior pulls slopes towards
#: exp(mean - sd**2) and stretches the difficulty scale. Useful for small or very sparse data.
SUGGESTED_SLOPE_PRIOR = (0.0, 0.5)
DEFAULT_SLOPE_PRIOR = None
#: Below this tolerance the E step runs in float64 instead of float32.
FLOAT32_TOLERANCE_LIMIT = 1e-5
#: EM stops when no a, b or c moves by more than this between iterations.
DEFAULT_TOLERANCE = 1e-4
DEFAULT_MAX_ITERATIONS = 1000
#: Fisher scoring steps per M step (each is cheap; EM dominates).
M_STEP_NEWTON_STEPS = 2
#: Range of the slope a, and of |b|, beyond which an item is flagged ``at_bound``.
SLOPE_BOUNDS = (0.05, 8.0)
DIFFICULTY_LIMIT = 10.0
#: Range kept for c during estimation.
GUESSING_BOUNDS = (1e-4, 0.6)
#: Persons x items above which the response matrices are kept sparse instead of dense.
DENSE_CELL_LIMIT = 5_000_000
#: Responses per chunk when computing standard errors.
_SE_CHUNK = 20_000
#: Largest Fisher-scoring step allowed per parameter (a, beta, gamma), logits. A longer step
#: is shrunk as a whole (all its components by the same factor), never clipped component by
#: component: clipping can turn a step against the gradient, and then no halving helps and
#: the item stays at its starting values.
_MAX_STEP = 1.0
#: Per-item convergence rule (:func:`item_convergence`). An item is ``not_converged`` when its
#: estimates are still within STUCK_TOLERANCE of their starting values, or when one more
#: Fisher-scoring step on the final marginal likelihood would still move a parameter (a,
#: beta, gamma) by more than STEP_TOLERANCE logits: its gradient is not near zero.
STUCK_TOLERANCE = 1e-6
STEP_TOLERANCE = 0.05
#: Largest standard errors of (a, b, c) accepted as a usable estimate; larger ones are
#: flagged ``large_se``. SE(b) = 0.5 is a confidence interval of +-1 logit, the width of the
#: whole middle third of a typical ability distribution; beyond it the difficulty is a guess.
#: SE(a) grows with a itself, so its limit is looser; SE(c) = 0.15 spans most of c's range.
DEFAULT_MAX_SE = (0.75, 0.5, 0.15)

FLAG_TOO_FEW = "too_few_responses"
FLAG_NO_VARIANCE = "no_variance"
FLAG_AT_BOUND = "at_bound"
FLAG_NOT_CONVERGED = "not_converged"
FLAG_LARGE_SE = "large_se"
#: Flags of items that were not estimated at all.
NOT_ESTIMATED_FLAGS = (FLAG_TOO_FEW, FLAG_NO_VARIANCE)


@dataclass(frozen=True)
class CalibrationResult:
    """Estimated item parameters and diagnostics.

    Attributes
    ----------
    params : numpy.ndarray, shape (n_items, 4)
        ``[a, b, c, d]`` (``d = 1``); rows of items that could not be estimated are NaN.
    se : numpy.ndarray, shape (n_items, 3)
        Standard errors of ``a, b, c``; NaN where a parameter was fixed (``c`` of the 1PL/2PL)
        or not estimated. For the 1PL, ``se_a`` is the SE of the common slope.
    flags : tuple of str
        Per item: ``""`` (fine), ``"too_few_responses"``, ``"no_variance"`` (not estimated),
        ``"at_bound"`` (a or b sits on its limit), ``"not_converged"`` (the estimates did not
        leave their starting values, or the likelihood's gradient is not near zero) or
        ``"large_se"`` (a standard error beyond ``max_se``). Only ``""`` items are usable.
    n_responses : numpy.ndarray, shape (n_items,)
    iterations : int
    loglik : float
        Marginal log-likelihood at the estimates (NaN if nothing was estimated).
    converged : bool
    model : str
    seconds : float
    """

    params: np.ndarray
    se: np.ndarray
    flags: tuple[str, ...]
    n_responses: np.ndarray
    iterations: int
    loglik: float
    converged: bool
    model: str
    seconds: float = 0.0
    history: list[float] = field(default_factory=list, repr=False)
    #: Per item, the largest parameter change one more Fisher-scoring step would make at the
    #: estimates (logits; NaN for items not estimated): near zero for a converged item.
    remaining_step: np.ndarray | None = field(default=None, repr=False)

    @property
    def flagged(self) -> np.ndarray:
        """Indices of flagged items."""
        return np.array([i for i, flag in enumerate(self.flags) if flag], dtype=np.intp)

    def summary(self, labels: list[str], *, persons: int, responses: int) -> dict:
        """The figures the command-line tool prints, as plain JSON-ready values."""
        return {
            "model": self.model,
            "items": len(labels),
            "persons": persons,
            "responses": responses,
            "iterations": self.iterations,
            "converged": self.converged,
            "loglik": None if np.isnan(self.loglik) else round(self.loglik, 4),
            "seconds": round(self.seconds, 4),
            **flag_summary(self, labels),
        }


def flag_summary(result, labels: list[str]) -> dict:
    """How many items of a calibration result are flagged, by flag, and the first 50 of them."""
    counts: dict[str, int] = {}
    for flag in result.flags:
        if flag:
            counts[flag] = counts.get(flag, 0) + 1
    return {
        "items_flagged": int(sum(counts.values())),
        "flags": counts,
        "flagged_items": [labels[i] for i in result.flagged.tolist()][:50],
    }


def calibrate(
    person_idx,
    item_idx,
    responses,
    *,
    n_items: int | None = None,
    n_persons: int | None = None,
    model: str = "2PL",
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    tolerance: float = DEFAULT_TOLERANCE,
    min_responses: int = DEFAULT_MIN_RESPONSES,
    c_prior: tuple[float, float] = DEFAULT_C_PRIOR,
    slope_prior: tuple[float, float] | None = DEFAULT_SLOPE_PRIOR,
    quadrature_points: int = QUADRATURE_POINTS,
    quadrature_bounds: tuple[float, float] = QUADRATURE_BOUNDS,
    max_se: tuple[float, float, float] | None = DEFAULT_MAX_SE,
) -> CalibrationResult:
    """Fit a 1PL, 2PL or 3PL model by marginal maximum likelihood (EM).

    Parameters
    ----------
    person_idx, item_idx : array_like of int, shape (r,)
        0-based person and item of each response.
    responses : array_like of 0/1, shape (r,)
    n_items, n_persons : int, optional
        Sizes (default: largest index + 1); items without responses are flagged.
    model : {"1PL", "2PL", "3PL"}
    max_iterations, tolerance :
        EM stops after ``max_iterations`` or once no parameter moves more than ``tolerance``.
    min_responses : int
        Items with fewer responses are flagged ``too_few_responses`` and left out.
    c_prior : (alpha, beta)
        Beta prior on the 3PL guessing parameter.
    slope_prior : (mean, sd) or None
        Normal prior on :math:`\\ln a` for the 2PL and 3PL (the 1PL's common slope has none);
        None gives maximum likelihood.
    quadrature_points, quadrature_bounds :
        Integration grid over ability.
    max_se : (se_a, se_b, se_c) or None
        Items with a larger (or no finite) standard error are flagged ``large_se``; None
        turns the check off.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    InvalidResponsesError
        Lengths differ, negative or out-of-range indices, responses not 0/1, no responses, or
        the same (person, item) pair twice.
    ConfigurationError
        Unknown model or bad options.
    """
    started = time.perf_counter()
    if model not in MODELS:
        raise ConfigurationError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    _check_options(max_iterations, tolerance, min_responses, c_prior, quadrature_points)
    check_max_se(max_se)
    if slope_prior is not None and not (np.isfinite(slope_prior[0]) and slope_prior[1] > 0):
        raise ConfigurationError(
            f"slope_prior (mean, sd) needs a finite mean and sd > 0; got {slope_prior}"
        )
    person, item, answer, n_persons, n_items = _check_long_data(
        person_idx, item_idx, responses, n_persons, n_items
    )

    n_responses = np.bincount(item, minlength=n_items)
    n_correct = np.bincount(item, weights=answer, minlength=n_items)
    flags = np.array([""] * n_items, dtype=object)
    flags[(n_correct == 0) | (n_correct == n_responses)] = FLAG_NO_VARIANCE
    flags[n_responses < min_responses] = FLAG_TOO_FEW
    estimable = np.flatnonzero(flags == "")

    params = np.full((n_items, 4), np.nan)
    se = np.full((n_items, 3), np.nan)
    if len(estimable) == 0:
        return CalibrationResult(
            params,
            se,
            tuple(flags),
            n_responses,
            0,
            float("nan"),
            False,
            model,
            time.perf_counter() - started,
        )

    # Re-index the estimable items 0..k-1 and drop responses to the others.
    keep = flags[item] == ""
    local = np.full(n_items, -1, dtype=np.intp)
    local[estimable] = np.arange(len(estimable))
    data = _response_data(person[keep], local[item[keep]], answer[keep], n_persons, len(estimable))

    grid = np.linspace(*quadrature_bounds, quadrature_points)
    log_weights = -0.5 * grid * grid
    log_weights -= np.log(np.exp(log_weights).sum())
    fitter = _MODEL_FITTERS[model](grid, c_prior, slope_prior)
    state = fitter.start(n_correct[estimable], n_responses[estimable])
    start = fitter.to_abc(state)

    history: list[float] = []
    converged = False
    iterations = 0
    previous = fitter.to_abc(state)
    # float32 E steps are twice as fast and accurate to ~1e-6; tighter tolerances need float64.
    exact = tolerance < FLOAT32_TOLERANCE_LIMIT
    while iterations < max_iterations:
        iterations += 1
        posterior, loglik = data.posterior(
            *fitter.log_probabilities(state), log_weights, exact=exact
        )
        history.append(loglik)
        correct_counts, total_counts = data.item_counts(posterior)
        state = fitter.m_step(state, correct_counts, total_counts)
        current = fitter.to_abc(state)
        change = np.nanmax(np.abs(current - previous))
        previous = current
        if change < tolerance:
            converged = True
            break

    posterior, loglik = data.posterior(*fitter.log_probabilities(state), log_weights, exact=True)
    history.append(loglik)
    estimates = fitter.to_abc(state)
    params[estimable, :3] = estimates
    params[estimable, 3] = 1.0
    se[estimable] = fitter.standard_errors(state, data, posterior)
    remaining = np.full(n_items, np.nan)
    remaining[estimable] = np.abs(fitter.newton_step(state, *data.item_counts(posterior))).max(
        axis=1
    )
    flags[estimable] = item_convergence(
        start=start,
        estimates=estimates,
        se=se[estimable],
        remaining_step=remaining[estimable],
        max_se=max_se,
    )
    return CalibrationResult(
        params=params,
        se=se,
        flags=tuple(str(f) for f in flags),
        n_responses=n_responses,
        iterations=iterations,
        loglik=float(loglik),
        converged=converged,
        model=model,
        seconds=time.perf_counter() - started,
        history=history,
        remaining_step=remaining,
    )


# --- the per-item convergence rule --------------------------------------------------------------


def item_convergence(*, start, estimates, se, remaining_step, max_se=DEFAULT_MAX_SE) -> np.ndarray:
    """Flag of every estimated item: ``""`` when its estimate is usable, otherwise why not.

    In order of precedence:

    * ``at_bound``: :math:`a` or :math:`|b|` reached its limit (SLOPE_BOUNDS, DIFFICULTY_LIMIT);
    * ``not_converged``: no parameter moved more than STUCK_TOLERANCE from its starting value,
      or one more Fisher-scoring step would move one by more than STEP_TOLERANCE (logits);
    * ``large_se``: a standard error is not finite or exceeds ``max_se`` (a, b, c; ``c``
      only where estimated).

    Parameters
    ----------
    start, estimates : numpy.ndarray, shape (k, 3)
        ``(a, b, c)`` where EM started and where it ended.
    se : numpy.ndarray, shape (k, 3)
    remaining_step : numpy.ndarray, shape (k,)
    max_se : (se_a, se_b, se_c) or None

    Returns
    -------
    numpy.ndarray of object (str), shape (k,)
    """
    start, estimates, se = (np.asarray(x, dtype=float) for x in (start, estimates, se))
    flags = np.full(len(estimates), "", dtype=object)
    if max_se is not None:
        # A parameter the model fixes (c of the 1PL/2PL) has no SE and never moves.
        estimated = np.isfinite(se) | (np.abs(estimates - start) > 0)
        limits = np.asarray(max_se, dtype=float)
        too_large = estimated & ~(se <= limits)
        flags[too_large.any(axis=1)] = FLAG_LARGE_SE
    moved = np.nanmax(np.abs(estimates - start), axis=1)
    stuck = ~(moved > STUCK_TOLERANCE) | ~(np.asarray(remaining_step) <= STEP_TOLERANCE)
    flags[stuck] = FLAG_NOT_CONVERGED
    a, b = estimates[:, 0], estimates[:, 1]
    at_bound = (
        (a <= SLOPE_BOUNDS[0] * (1 + 1e-6))
        | (a >= SLOPE_BOUNDS[1] * (1 - 1e-6))
        | (np.abs(b) >= DIFFICULTY_LIMIT * (1 - 1e-6))
    )
    flags[at_bound] = FLAG_AT_BOUND
    return flags


def scaled_step(step: np.ndarray) -> np.ndarray:
    """Shrink each item's Fisher-scoring step, keeping its direction, so that its largest
    component is at most ``_MAX_STEP`` (shape (k, K))."""
    largest = np.abs(step).max(axis=-1, keepdims=True)
    return step / np.maximum(largest / _MAX_STEP, 1.0)


def check_max_se(max_se) -> None:
    if max_se is None:
        return
    values = np.asarray(max_se, dtype=float)
    if values.shape != (3,) or not np.all(values > 0):
        raise ConfigurationError(f"max_se must be three positive numbers (a, b, c); got {max_se}")


# --- input checks ------------------------------------------------------------------------------


def _check_options(max_iterations, tolerance, min_responses, c_prior, quadrature_points):
    if not isinstance(max_iterations, int) or max_iterations < 1:
        raise ConfigurationError(f"max_iterations must be a positive integer; got {max_iterations}")
    if not tolerance > 0:
        raise ConfigurationError(f"tolerance must be > 0; got {tolerance}")
    if not isinstance(min_responses, int) or min_responses < 1:
        raise ConfigurationError(f"min_responses must be a positive integer; got {min_responses}")
    alpha, beta = c_prior
    if not (alpha >= 1 and beta >= 1):
        raise ConfigurationError(f"c_prior (alpha, beta) must both be >= 1; got {c_prior}")
    if quadrature_points < 5:
        raise ConfigurationError(f"quadrature_points must be >= 5; got {quadrature_points}")


def _as_index(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidResponsesError(f"{name} must be one-dimensional; got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        as_float = np.asarray(array, dtype=float)
        bad = ~np.isfinite(as_float) | (as_float != np.round(as_float))
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise InvalidResponsesError(
                f"{name} must hold integers; entry {position} is {array[position].item()!r}"
            )
        array = as_float
    array = array.astype(np.intp)
    if array.size and array.min() < 0:
        position = int(np.flatnonzero(array < 0)[0])
        raise InvalidResponsesError(f"{name} must be >= 0; entry {position} is {array[position]}")
    return array


def _check_long_data(person_idx, item_idx, responses, n_persons, n_items):
    person = _as_index(person_idx, "person_idx")
    item = _as_index(item_idx, "item_idx")
    answer = np.asarray(responses)
    if answer.dtype == bool:
        answer = answer.astype(np.int8)
    if answer.ndim != 1:
        raise InvalidResponsesError(f"responses must be one-dimensional; got shape {answer.shape}")
    if not (len(person) == len(item) == len(answer)):
        raise InvalidResponsesError(
            f"person_idx, item_idx and responses have lengths {len(person)}, {len(item)} and "
            f"{len(answer)}: they must match"
        )
    if len(answer) == 0:
        raise InvalidResponsesError("no responses to calibrate from")
    bad = ~np.isin(answer, (0, 1))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise InvalidResponsesError(
            f"responses must be 0 or 1; entry {position} is {answer[position].item()!r}"
        )
    answer = answer.astype(np.int8)
    n_persons = int(person.max()) + 1 if n_persons is None else int(n_persons)
    n_items = int(item.max()) + 1 if n_items is None else int(n_items)
    if item.max() >= n_items:
        raise InvalidResponsesError(f"item index {int(item.max())} is >= n_items = {n_items}")
    if person.max() >= n_persons:
        raise InvalidResponsesError(
            f"person index {int(person.max())} is >= n_persons = {n_persons}"
        )
    keys = person.astype(np.int64) * n_items + item
    unique_keys, counts = np.unique(keys, return_counts=True)
    if len(unique_keys) != len(keys):
        key = int(unique_keys[np.argmax(counts > 1)])
        raise InvalidResponsesError(
            f"person {key // n_items} answered item {key % n_items} more than once"
        )
    return person, item, answer, n_persons, n_items


# --- data: E step products over dense or sparse person x item matrices --------------------------


def _response_data(person, item, answer, n_persons, n_items):
    """Dense matrices when persons x items is small enough, sparse ones otherwise."""
    if n_persons * n_items <= DENSE_CELL_LIMIT:
        return _DenseData(person, item, answer, n_persons, n_items)
    return _SparseData(person, item, answer, n_persons, n_items)


class _DenseData:
    """Response indicators as dense items x persons float32 matrices.

    The posterior is kept nodes x persons so both E-step products are plain BLAS matrix
    products on contiguous operands; float32 halves their cost and is ample for weights that
    are normalised per person (the reported log-likelihood is recomputed in float64).
    """

    def __init__(self, person, item, answer, n_persons, n_items):
        self.person, self.item, self.answer = person, item, answer
        self.n_persons, self.n_items = n_persons, n_items
        self.complete = len(answer) == n_persons * n_items
        self.correct_t = np.zeros((n_items, n_persons), dtype=np.float32)
        self.correct_t[item, person] = answer
        self.observed_t = None
        if not self.complete:
            self.observed_t = np.zeros((n_items, n_persons), dtype=np.float32)
            self.observed_t[item, person] = 1.0

    def posterior(self, log_p, log_q, log_weights, exact=False):
        """Posterior over the nodes of every person, ``(Q, n_persons)``, and the log-likelihood.

        ``exact`` computes in float64 (for the reported log-likelihood).
        """
        dtype = np.float64 if exact else np.float32
        correct_t = self.correct_t.astype(dtype, copy=False)
        log_lik = (log_p - log_q).T.astype(dtype) @ correct_t
        if self.complete:
            log_lik += (log_q.sum(axis=0) + log_weights).astype(dtype)[:, None]
        else:
            log_lik += log_q.T.astype(dtype) @ self.observed_t.astype(dtype, copy=False)
            log_lik += log_weights.astype(dtype)[:, None]
        peak = log_lik.max(axis=0)
        log_lik -= peak
        np.exp(log_lik, out=log_lik)
        total = log_lik.sum(axis=0)
        log_lik /= total
        loglik = float(peak.sum(dtype=np.float64) + np.log(total).sum(dtype=np.float64))
        return log_lik, loglik

    def item_counts(self, posterior):
        """Expected correct answers and expected answers of every item at every node, (k, Q)."""
        correct = (self.correct_t @ posterior.T).astype(np.float64)
        if self.complete:
            total = np.broadcast_to(posterior.sum(axis=1, dtype=np.float64), correct.shape)
        else:
            total = (self.observed_t @ posterior.T).astype(np.float64)
        return correct, total

    def response_scores(self, posterior, gradient_if_correct, gradient_if_wrong):
        """Per-response scores ``s_r = sum_q pi_{p_r q} g[u_r][i_r, :, q]``, shape (r, K).

        ``gradient_if_*`` have shape (k, K, Q): the derivative of the log-probability of the
        response with respect to each of the K parameters of the item, at each node.
        """
        posterior = posterior.astype(np.float64)
        n_params = gradient_if_correct.shape[1]
        scores = np.empty((len(self.answer), n_params))
        correct = self.answer == 1
        for k in range(n_params):  # K <= 3 parameters
            if_correct = gradient_if_correct[:, k, :] @ posterior  # (items, persons)
            if_wrong = gradient_if_wrong[:, k, :] @ posterior
            scores[:, k] = np.where(
                correct, if_correct[self.item, self.person], if_wrong[self.item, self.person]
            )
        return scores


class _SparseData:
    """Response indicators as sparse persons x items matrices (large, sparse designs)."""

    def __init__(self, person, item, answer, n_persons, n_items):
        # Imported here: scipy.sparse costs ~0.4 s to import and only big designs need it.
        from scipy import sparse

        self.person, self.item, self.answer = person, item, answer
        self.n_persons, self.n_items = n_persons, n_items
        shape = (n_persons, n_items)
        ones = np.ones(len(answer))
        self.correct = sparse.csr_matrix((answer.astype(float), (person, item)), shape=shape)
        self.correct.eliminate_zeros()
        self.observed = sparse.csr_matrix((ones, (person, item)), shape=shape)
        self.correct_t = self.correct.T.tocsr()
        self.observed_t = self.observed.T.tocsr()

    def posterior(self, log_p, log_q, log_weights, exact=False):
        """Posterior, here ``(Q, n_persons)`` like :class:`_DenseData`, and the log-likelihood."""
        log_lik = np.asarray(self.correct @ (log_p - log_q) + self.observed @ log_q).T
        log_lik = np.ascontiguousarray(log_lik + log_weights[:, None])
        peak = log_lik.max(axis=0)
        log_lik -= peak
        np.exp(log_lik, out=log_lik)
        total = log_lik.sum(axis=0)
        log_lik /= total
        return log_lik, float(peak.sum() + np.log(total).sum())

    def item_counts(self, posterior):
        transposed = posterior.T
        return np.asarray(self.correct_t @ transposed), np.asarray(self.observed_t @ transposed)

    def response_scores(self, posterior, gradient_if_correct, gradient_if_wrong):
        n_params = gradient_if_correct.shape[1]
        scores = np.empty((len(self.answer), n_params))
        for start in range(0, len(self.answer), _SE_CHUNK):
            chunk = slice(start, start + _SE_CHUNK)
            columns = posterior[:, self.person[chunk]]  # (Q, chunk)
            item, answer = self.item[chunk], self.answer[chunk]
            gradient = np.where(
                answer[:, None, None] == 1, gradient_if_correct[item], gradient_if_wrong[item]
            )
            scores[chunk] = np.einsum("qr,rkq->rk", columns, gradient)
        return scores


# --- models ------------------------------------------------------------------------------------


class _TwoPL:
    """2PL: state columns ``[a, beta]`` with logit ``z = a theta + beta``."""

    n_free = 2

    def __init__(self, grid, c_prior, slope_prior):
        self.grid = grid
        self.c_prior = c_prior
        self.slope_prior = slope_prior

    def start(self, n_correct, n_responses):
        p = (n_correct + 0.5) / (n_responses + 1.0)
        return np.column_stack([np.ones(len(p)), 1.16 * logit(p)])

    def guess(self, state):
        return np.zeros(len(state))

    def log_probabilities(self, state):
        z = state[:, :1] * self.grid + state[:, 1:2]
        logistic, complement = expit(z), expit(-z)
        c = self.guess(state)[:, None]
        p = c + (1 - c) * logistic
        q = (1 - c) * complement
        return np.log(np.clip(p, PROBABILITY_FLOOR, None)), np.log(
            np.clip(q, PROBABILITY_FLOOR, None)
        )

    def to_abc(self, state):
        a, beta = state[:, 0], state[:, 1]
        return np.column_stack([a, -beta / a, self.guess(state)])

    def _clamp(self, state):
        state[:, 0] = np.clip(state[:, 0], *SLOPE_BOUNDS)
        limit = DIFFICULTY_LIMIT * state[:, 0]
        state[:, 1] = np.clip(state[:, 1], -limit, limit)
        return state

    def gradients(self, state):
        """dP/d(eta) for every item, parameter and node, and P, Q: shapes (k, K, Q), (k, Q)."""
        z = state[:, :1] * self.grid + state[:, 1:2]
        logistic, complement = expit(z), expit(-z)
        density = logistic * complement
        p = np.clip(logistic, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        return np.stack([density * self.grid, density], axis=1), p, 1 - p

    def objective(self, state, correct, total):
        log_p, log_q = self.log_probabilities(state)
        return (correct * log_p + (total - correct) * log_q).sum(axis=1) + self.log_prior(state)

    def log_prior(self, state):
        r"""Lognormal slope prior :math:`-\ln a - (\ln a - \mu)^2 / (2 \sigma^2)`."""
        if self.slope_prior is None:
            return np.zeros(len(state))
        mean, sd = self.slope_prior
        log_a = np.log(state[:, 0])
        return -((log_a - mean) ** 2) / (2 * sd * sd)

    def prior_score_and_information(self, state):
        r"""Gradient of :meth:`log_prior` and a positive curvature for Fisher scoring.

        The curvature used is :math:`1 / (\sigma^2 a^2)`, the dominant, always positive part
        of the prior's negative second derivative; step halving guards the ascent.
        """
        k = len(state)
        score, info = np.zeros((k, self.n_free)), np.zeros((k, self.n_free, self.n_free))
        if self.slope_prior is not None:
            mean, sd = self.slope_prior
            a = state[:, 0]
            score[:, 0] = -(np.log(a) - mean) / (sd * sd * a)
            info[:, 0, 0] = 1.0 / (sd * sd * a * a)
        return score, info

    def newton_step(self, state, correct, total):
        """The full Fisher-scoring step on each item's expected complete-data objective (k, K).

        With the counts of the final E step this is also the step on the marginal likelihood
        (Fisher's identity), so its size says whether the item has converged.
        """
        derivative, p, q = self.gradients(state)
        residual = (correct - total * p) / (p * q)
        score = np.einsum("kq,kjq->kj", residual, derivative)
        weight = total / (p * q)
        info = np.einsum("kq,kiq,kjq->kij", weight, derivative, derivative)
        prior_score, prior_info = self.prior_score_and_information(state)
        score += prior_score
        info += prior_info
        info[:, range(self.n_free), range(self.n_free)] += 1e-9
        return np.linalg.solve(info, score[..., None])[..., 0]

    def m_step(self, state, correct, total):
        """Fisher scoring with step halving on each item's expected complete-data objective."""
        state = state.copy()
        for _ in range(M_STEP_NEWTON_STEPS):
            step = scaled_step(self.newton_step(state, correct, total))
            state = self._line_search(state, step, correct, total)
        return state

    def _line_search(self, state, step, correct, total):
        return line_search(self.objective, self._clamp, state, step, correct, total)

    def standard_errors(self, state, data, posterior):
        derivative, p, q = self.gradients(state)
        scores = data.response_scores(
            posterior, derivative / p[:, None, :], -derivative / q[:, None, :]
        )
        info = _per_item_outer(scores, data.item, len(state))
        info += self.prior_score_and_information(state)[1]
        covariance = _safe_inverse(info)
        return self._delta_method(state, covariance)

    def _delta_method(self, state, covariance):
        a, beta = state[:, 0], state[:, 1]
        var_a = covariance[:, 0, 0]
        # b = -beta / a: db/da = beta / a^2, db/dbeta = -1 / a
        da, dbeta = beta / a**2, -1.0 / a
        var_b = (
            da * da * var_a + 2 * da * dbeta * covariance[:, 0, 1] + dbeta**2 * covariance[:, 1, 1]
        )
        return np.column_stack([np.sqrt(var_a), np.sqrt(var_b), np.full(len(a), np.nan)])


class _ThreePL(_TwoPL):
    """3PL: state columns ``[a, beta, gamma]`` with ``c = logistic(gamma)`` and a Beta prior."""

    n_free = 3

    def start(self, n_correct, n_responses):
        alpha, beta = self.c_prior
        c0 = (alpha - 1) / (alpha + beta - 2) if alpha + beta > 2 else 0.2
        p = (n_correct + 0.5) / (n_responses + 1.0)
        p_star = np.clip((p - c0) / (1 - c0), 0.05, 0.95)
        return np.column_stack([np.ones(len(p)), 1.16 * logit(p_star), np.full(len(p), logit(c0))])

    def guess(self, state):
        return expit(state[:, 2])

    def _clamp(self, state):
        state = super()._clamp(state)
        state[:, 2] = np.clip(state[:, 2], *logit(np.array(GUESSING_BOUNDS)))
        return state

    def gradients(self, state):
        z = state[:, :1] * self.grid + state[:, 1:2]
        logistic, complement = expit(z), expit(-z)
        c = self.guess(state)[:, None]
        density = (1 - c) * logistic * complement
        p = np.clip(c + (1 - c) * logistic, PROBABILITY_FLOOR, None)
        q = np.clip((1 - c) * complement, PROBABILITY_FLOOR, None)
        dgamma = c * (1 - c) * complement  # dP/dc = 1 - L, dc/dgamma = c (1 - c)
        return np.stack([density * self.grid, density, dgamma], axis=1), p, q

    def log_prior(self, state):
        alpha, beta = self.c_prior
        c = self.guess(state)
        return super().log_prior(state) + (alpha - 1) * np.log(c) + (beta - 1) * np.log1p(-c)

    def prior_score_and_information(self, state):
        alpha, beta = self.c_prior
        c = self.guess(state)
        score, info = super().prior_score_and_information(state)
        score[:, 2] = (alpha - 1) * (1 - c) - (beta - 1) * c
        info[:, 2, 2] = (alpha + beta - 2) * c * (1 - c)
        return score, info

    def _delta_method(self, state, covariance):
        out = super()._delta_method(state, covariance)
        c = self.guess(state)
        out[:, 2] = c * (1 - c) * np.sqrt(covariance[:, 2, 2])
        return out


class _OnePL(_TwoPL):
    """1PL: one intercept per item and a slope shared by all items (state ``[a, beta]`` with
    column ``a`` constant). The common slope is estimated from every item: no prior."""

    def __init__(self, grid, c_prior, slope_prior):
        super().__init__(grid, c_prior, None)

    def newton_step(self, state, correct, total):
        """Each item's Fisher-scoring step on its intercept alone, shape (k, 1)."""
        _, p, q = self.gradients(state)
        residual = correct - total * p
        weight = total * p * q
        return (residual.sum(axis=1) / (weight.sum(axis=1) + 1e-9))[:, None]

    def m_step(self, state, correct, total):
        state = state.copy()
        for _ in range(M_STEP_NEWTON_STEPS):
            # Intercepts, item by item (vectorised): 1-D Fisher scoring.
            _, p, q = self.gradients(state)
            residual = correct - total * p
            weight = total * p * q
            step = np.clip(
                residual.sum(axis=1) / (weight.sum(axis=1) + 1e-9), -_MAX_STEP, _MAX_STEP
            )
            full = np.zeros_like(state)
            full[:, 1] = step
            state = self._line_search(state, full, correct, total)
            # Common slope: one Fisher-scoring step on the summed objective.
            _, p, q = self.gradients(state)
            residual = correct - total * p
            weight = total * p * q
            slope_step = (residual * self.grid).sum() / ((weight * self.grid**2).sum() + 1e-9)
            slope_step = float(np.clip(slope_step, -_MAX_STEP, _MAX_STEP))
            before = self.objective(state, correct, total).sum()
            for _ in range(8):
                candidate = state.copy()
                candidate[:, 0] = np.clip(state[0, 0] + slope_step, *SLOPE_BOUNDS)
                if self.objective(candidate, correct, total).sum() >= before - 1e-12:
                    state = candidate
                    break
                slope_step /= 2
        return state

    def standard_errors(self, state, data, posterior):
        derivative, p, q = self.gradients(state)
        scores = data.response_scores(
            posterior, derivative / p[:, None, :], -derivative / q[:, None, :]
        )
        a = state[0, 0]
        info_beta = np.bincount(data.item, weights=scores[:, 1] ** 2, minlength=len(state))
        slope_by_person = np.bincount(data.person, weights=scores[:, 0], minlength=data.n_persons)
        info_slope = float(slope_by_person @ slope_by_person)
        with np.errstate(divide="ignore"):
            se_beta = np.where(info_beta > 0, 1.0 / np.sqrt(info_beta), np.nan)
        se_slope = 1.0 / np.sqrt(info_slope) if info_slope > 0 else np.nan
        # b = -beta / a with the slope treated as known for each item's SE.
        return np.column_stack(
            [np.full(len(state), se_slope), se_beta / a, np.full(len(state), np.nan)]
        )


_MODEL_FITTERS = {"1PL": _OnePL, "2PL": _TwoPL, "3PL": _ThreePL}


def _per_item_outer(scores: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    """``sum_{r in item i} s_r s_r^T`` for every item, shape (n_items, K, K)."""
    n_params = scores.shape[1]
    info = np.empty((n_items, n_params, n_params))
    for i in range(n_params):  # loops over the K <= 3 parameters, not over items
        for j in range(i, n_params):
            total = np.bincount(item, weights=scores[:, i] * scores[:, j], minlength=n_items)
            info[:, i, j] = info[:, j, i] = total
    return info


def line_search(objective, clamp, state, step, correct, total):
    """Take the Fisher-scoring `step` from `state`, halving it (item by item, vectorised) until
    no item's objective falls; items still worse after six halvings keep their old state."""
    before = objective(state, correct, total)
    scale = np.ones(len(state))
    candidate = clamp(state + step)
    for _ in range(6):
        worse = objective(candidate, correct, total) < before - 1e-12
        if not worse.any():
            break
        scale[worse] *= 0.5
        candidate[worse] = clamp(state[worse] + scale[worse, None] * step[worse])
    worse = objective(candidate, correct, total) < before - 1e-12
    candidate[worse] = state[worse]
    return candidate


def _safe_inverse(info: np.ndarray) -> np.ndarray:
    """Batched inverse; singular blocks give NaN instead of raising."""
    covariance = np.full_like(info, np.nan)
    determinant = np.linalg.det(info)
    ok = np.isfinite(determinant) & (np.abs(determinant) > 1e-300)
    if ok.any():
        covariance[ok] = np.linalg.inv(info[ok])
    return covariance
