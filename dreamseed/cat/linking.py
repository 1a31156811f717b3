"""Putting newly calibrated items on the scale of a calibrated bank.

Two routes, both pure numpy/scipy:

* :func:`calibrate_with_anchors`, fixed-anchor calibration (FIPC; Kim, 2006): the parameters
  of calibrated *anchor* items are held fixed and only the *free* items (pilot items, or items
  being recalibrated) are estimated by marginal maximum likelihood with EM. Each person's
  ability posterior comes from all their answers, anchors included, and the ability
  distribution's mean and standard deviation are re-estimated every cycle (multiple-weights
  updating), so the free items land on the anchors' scale even when the test takers are not
  a standard normal sample on it. This is how pilot items seeded into live adaptive tests
  are calibrated.

* :func:`mean_sigma` and :func:`rescale`: when a set of items is calibrated freely (the
  engine's :func:`dreamseed.cat.calibration.calibrate` fixes ability ~ N(0, 1)), the linear
  transformation :math:`\\theta^* = A \\theta + B` with

  .. math:: A = \\sigma(b_{\\mathrm{ref}}) / \\sigma(b_{\\mathrm{new}}), \\qquad
            B = \\mu(b_{\\mathrm{ref}}) - A\\,\\mu(b_{\\mathrm{new}})

  maps the new estimates onto the reference scale (Marco, 1977): :math:`b^* = A b + B`,
  :math:`a^* = a / A`, :math:`c^* = c`.

E step of the anchored EM, for person :math:`p` and node :math:`\\theta_q` with weight
:math:`w_q(\\mu, \\sigma)` from the current ability distribution:

.. math::
    \\pi_{pq} \\propto w_q \\prod_{i \\in \\mathrm{anchors}(p)} f_i(u_{pi} \\mid \\theta_q)
    \\prod_{j \\in \\mathrm{free}(p)} f_j(u_{pj} \\mid \\theta_q;\\, \\eta_j)

The anchor product is computed once. The M step maximises, item by item (vectorised), the
expected complete-data log-likelihood of each free item plus its priors, by Fisher scoring in
the slope-intercept form :math:`z = a\\theta + \\beta` with :math:`c = \\mathrm{logistic}(\\gamma)`
and a Beta prior on :math:`c` for the 3PL, as :mod:`dreamseed.cat.calibration` does; then
:math:`\\mu = \\bar{E}[\\theta]` and :math:`\\sigma^2 = \\bar{E}[(\\theta - \\mu)^2]` over persons.
Standard errors use the cross-product information of each free item's per-response scores,
treating the anchors and the ability distribution as known (the usual FIPC approximation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import expit, logit

from .calibration import (  # the same priors, bounds, flags and numerics as free calibration
    DEFAULT_C_PRIOR,
    DEFAULT_MAX_SE,
    DEFAULT_TOLERANCE,
    DIFFICULTY_LIMIT,
    FLAG_NO_VARIANCE,
    FLAG_TOO_FEW,
    GUESSING_BOUNDS,
    M_STEP_NEWTON_STEPS,
    SLOPE_BOUNDS,
    _check_long_data,
    _check_options,
    _safe_inverse,
    check_max_se,
    item_convergence,
    line_search,
    scaled_step,
)
from .exceptions import ConfigurationError, InvalidParametersError
from .irt import PROBABILITY_FLOOR, log_probabilities, validate_params

#: Models the free items may follow.
MODELS = ("1PL", "2PL", "3PL")
#: The grid is wider than the engine's because the ability distribution may sit off zero.
QUADRATURE_POINTS = 61
QUADRATURE_BOUNDS = (-6.0, 6.0)
DEFAULT_MIN_RESPONSES = 20
DEFAULT_MAX_ITERATIONS = 500
#: The ability distribution's standard deviation is kept above this (logits).
MIN_POPULATION_SD = 0.1
_SCORE_CHUNK = 20_000


@dataclass(frozen=True)
class AnchoredCalibrationResult:
    """Parameters of the free items on the anchors' scale, and diagnostics.

    Attributes
    ----------
    params : numpy.ndarray, shape (n_items, 4)
        Anchors exactly as given; free items estimated (``d = 1``), NaN where not estimable.
    se : numpy.ndarray, shape (n_items, 3)
        Standard errors of ``a, b, c`` for free items; NaN for anchors, for parameters the
        model fixes (``c`` of the 1PL/2PL, ``a`` of the 1PL) and for items not estimated.
    free : numpy.ndarray of bool, shape (n_items,)
    flags : tuple of str
        For free items: ``""``, ``"too_few_responses"``, ``"no_variance"`` (not estimated),
        ``"at_bound"``, ``"not_converged"`` or ``"large_se"`` (see
        :func:`dreamseed.cat.calibration.item_convergence`); always ``""`` for anchors.
    n_responses : numpy.ndarray, shape (n_items,)
    theta, theta_sd : numpy.ndarray, shape (n_persons,)
        Each person's posterior mean (EAP) and standard deviation at the estimates; NaN for
        persons with no usable response.
    population_mean, population_sd : float
        Estimated ability distribution on the anchors' scale.
    iterations : int
    converged : bool
    loglik : float
        Marginal log-likelihood at the estimates.
    model : str
    seconds : float
    """

    params: np.ndarray
    se: np.ndarray
    free: np.ndarray
    flags: tuple[str, ...]
    n_responses: np.ndarray
    theta: np.ndarray
    theta_sd: np.ndarray
    population_mean: float
    population_sd: float
    iterations: int
    converged: bool
    loglik: float
    model: str
    seconds: float = 0.0
    #: Per item, the largest change one more Fisher-scoring step would make at the estimates
    #: (logits); NaN for anchors and items not estimated.
    remaining_step: np.ndarray | None = None


def calibrate_with_anchors(
    person_idx,
    item_idx,
    responses,
    *,
    params,
    free,
    model: str = "3PL",
    n_persons: int | None = None,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    tolerance: float = DEFAULT_TOLERANCE,
    min_responses: int = DEFAULT_MIN_RESPONSES,
    c_prior: tuple[float, float] = DEFAULT_C_PRIOR,
    estimate_population: bool = True,
    quadrature_points: int = QUADRATURE_POINTS,
    quadrature_bounds: tuple[float, float] = QUADRATURE_BOUNDS,
    progress: Callable[[int, int], None] | None = None,
    max_se: tuple[float, float, float] | None = DEFAULT_MAX_SE,
) -> AnchoredCalibrationResult:
    """Estimate the free items with the anchor items' parameters held fixed.

    Parameters
    ----------
    person_idx, item_idx : array_like of int, shape (r,)
        0-based person and item of each response (long format; sparse designs as they come).
    responses : array_like of 0/1, shape (r,)
    params : array_like, shape (n_items, 4)
        ``[a, b, c, d]`` of every item. Anchor rows must be valid parameters; free rows are
        ignored (NaN is fine).
    free : array_like of bool, shape (n_items,)
        True for the items to estimate.
    model : {"1PL", "2PL", "3PL"}
        Model of the free items. A 1PL item's slope is fixed at the anchors' median slope
        (1 for a Rasch bank), so that it shares their metric.
    n_persons : int, optional
    max_iterations, tolerance :
        EM stops once no free parameter, nor the ability mean or SD, moves more than
        ``tolerance`` (logits) between cycles.
    min_responses : int
        Free items with fewer responses are flagged ``too_few_responses`` and not estimated.
    c_prior : (alpha, beta)
        Beta prior on the free 3PL items' guessing parameter.
    estimate_population : bool
        Re-estimate the ability distribution's mean and SD (default). False keeps N(0, 1).
    quadrature_points, quadrature_bounds :
        Integration grid over ability.
    progress : callable(iteration, max_iterations), optional
        Called after every EM cycle; an exception it raises stops the calibration.
    max_se : (se_a, se_b, se_c) or None
        Free items with a larger (or no finite) standard error are flagged ``large_se``.

    Returns
    -------
    AnchoredCalibrationResult

    Raises
    ------
    InvalidParametersError
        An anchor's parameters are invalid (the message names the item).
    InvalidResponsesError
        Lengths differ, indices out of range, responses not 0/1, or a repeated
        (person, item) pair.
    ConfigurationError
        Unknown model, no free or no anchor item, or bad options.
    """
    started = time.perf_counter()
    if model not in MODELS:
        raise ConfigurationError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    _check_options(max_iterations, tolerance, min_responses, c_prior, quadrature_points)
    check_max_se(max_se)
    bank, free = _check_bank(params, free)
    n_items = len(bank)
    person, item, answer, n_persons = _check_responses(
        person_idx, item_idx, responses, n_items, n_persons
    )

    n_responses = np.bincount(item, minlength=n_items)
    n_correct = np.bincount(item, weights=answer, minlength=n_items)
    flags = np.array([""] * n_items, dtype=object)
    flags[free & ((n_correct == 0) | (n_correct == n_responses))] = FLAG_NO_VARIANCE
    flags[free & (n_responses < min_responses)] = FLAG_TOO_FEW
    estimable = np.flatnonzero(free & (flags == ""))
    anchors = np.flatnonzero(~free)

    out_params = bank.copy()
    out_params[free] = np.nan
    out_se = np.full((n_items, 3), np.nan)
    theta = np.full(n_persons, np.nan)
    theta_sd = np.full(n_persons, np.nan)

    # Keep responses to anchors and to estimable free items; persons left with none drop out.
    usable = ~free[item] | (flags[item] == "")
    person, item, answer = person[usable], item[usable], answer[usable]
    persons_used, local_person = np.unique(person, return_inverse=True)
    m = len(persons_used)
    if len(estimable) == 0 or m == 0:
        return AnchoredCalibrationResult(
            out_params, out_se, free, tuple(str(f) for f in flags), n_responses, theta, theta_sd,
            0.0, 1.0, 0, False, float("nan"), model, time.perf_counter() - started,
        )  # fmt: skip

    grid = np.linspace(*quadrature_bounds, quadrature_points)
    is_anchor_response = ~free[item]
    anchor_part = _anchor_log_likelihood(
        local_person[is_anchor_response],
        item[is_anchor_response],
        answer[is_anchor_response],
        bank,
        anchors,
        m,
        grid,
    )
    free_local = np.full(n_items, -1, dtype=np.intp)
    free_local[estimable] = np.arange(len(estimable))
    data = _FreeResponses(
        local_person[~is_anchor_response],
        free_local[item[~is_anchor_response]],
        answer[~is_anchor_response],
        m,
        len(estimable),
    )

    slope_1pl = float(np.median(bank[anchors, 0])) if len(anchors) else 1.0
    fitter = _Fitter(model, grid, c_prior, slope_1pl)
    state = fitter.start(n_correct[estimable], n_responses[estimable])
    start = fitter.to_abc(state)
    mean, sd = 0.0, 1.0
    converged = False
    iterations = 0
    previous = fitter.to_abc(state)
    while iterations < max_iterations:
        iterations += 1
        posterior, _ = _posterior(anchor_part, data, fitter, state, grid, mean, sd)
        correct, total = data.item_counts(posterior)
        state = fitter.m_step(state, correct, total)
        change = 0.0
        if estimate_population:
            new_mean, new_sd = _population_moments(posterior, grid)
            change = max(abs(new_mean - mean), abs(new_sd - sd))
            mean, sd = new_mean, new_sd
        current = fitter.to_abc(state)
        change = max(change, float(np.nanmax(np.abs(current - previous))))
        previous = current
        if progress is not None:
            progress(iterations, max_iterations)
        if change < tolerance:
            converged = True
            break

    posterior, loglik = _posterior(anchor_part, data, fitter, state, grid, mean, sd)
    estimates = fitter.to_abc(state)
    out_params[estimable, :3] = estimates
    out_params[estimable, 3] = 1.0
    out_se[estimable] = fitter.standard_errors(state, data, posterior)
    remaining = np.full(n_items, np.nan)
    remaining[estimable] = np.abs(fitter.newton_step(state, *data.item_counts(posterior))).max(
        axis=1
    )
    flags[estimable] = item_convergence(
        start=start,
        estimates=estimates,
        se=out_se[estimable],
        remaining_step=remaining[estimable],
        max_se=max_se,
    )
    eap = posterior @ grid
    theta[persons_used] = eap
    theta_sd[persons_used] = np.sqrt(np.clip(posterior @ grid**2 - eap**2, 0.0, None))
    return AnchoredCalibrationResult(
        params=out_params,
        se=out_se,
        free=free,
        flags=tuple(str(f) for f in flags),
        n_responses=n_responses,
        theta=theta,
        theta_sd=theta_sd,
        population_mean=float(mean),
        population_sd=float(sd),
        iterations=iterations,
        converged=converged,
        loglik=float(loglik),
        model=model,
        seconds=time.perf_counter() - started,
        remaining_step=remaining,
    )


def posterior_means(
    person_idx,
    item_idx,
    responses,
    *,
    params,
    n_persons: int | None = None,
    mean: float = 0.0,
    sd: float = 1.0,
    quadrature_points: int = QUADRATURE_POINTS,
    quadrature_bounds: tuple[float, float] = QUADRATURE_BOUNDS,
) -> tuple[np.ndarray, np.ndarray]:
    """EAP ability and posterior SD of every person, given all items' parameters.

    Items whose row of ``params`` is not finite are skipped (their responses ignored).
    Persons without a usable response get NaN.

    Returns
    -------
    theta, theta_sd : numpy.ndarray, shape (n_persons,)
    """
    bank = np.array(params, dtype=float, ndmin=2)
    if bank.ndim != 2 or bank.shape[1] != 4:
        raise InvalidParametersError(f"params must have shape (n_items, 4); got {bank.shape}")
    known = np.all(np.isfinite(bank), axis=1)
    if known.any():
        validate_params(bank[known])
    person, item, answer, n_persons = _check_responses(
        person_idx, item_idx, responses, len(bank), n_persons
    )
    keep = known[item]
    person, item, answer = person[keep], item[keep], answer[keep]
    theta = np.full(n_persons, np.nan)
    theta_sd = np.full(n_persons, np.nan)
    if len(answer) == 0:
        return theta, theta_sd
    persons_used, local = np.unique(person, return_inverse=True)
    grid = np.linspace(*quadrature_bounds, quadrature_points)
    log_lik = _anchor_log_likelihood(
        local, item, answer, bank, np.flatnonzero(known), len(persons_used), grid
    )
    log_lik += _log_weights(grid, mean, sd)
    posterior = _normalise(log_lik)[0]
    eap = posterior @ grid
    theta[persons_used] = eap
    theta_sd[persons_used] = np.sqrt(np.clip(posterior @ grid**2 - eap**2, 0.0, None))
    return theta, theta_sd


def mean_sigma(b_reference, b_new) -> tuple[float, float]:
    """Slope ``A`` and intercept ``B`` of the mean/sigma link from a new scale to a reference.

    .. math:: A = \\sigma(b_{\\mathrm{ref}}) / \\sigma(b_{\\mathrm{new}}), \\quad
              B = \\mu(b_{\\mathrm{ref}}) - A\\,\\mu(b_{\\mathrm{new}})

    Parameters
    ----------
    b_reference, b_new : array_like, shape (n,)
        Difficulties of the same ``n >= 2`` common items on the two scales.

    Raises
    ------
    ConfigurationError
        Fewer than two common items, non-finite values, or no spread in either set.
    """
    reference = np.asarray(b_reference, dtype=float)
    new = np.asarray(b_new, dtype=float)
    if reference.shape != new.shape or reference.ndim != 1:
        raise ConfigurationError(
            f"b_reference and b_new must be 1-D and the same length; got {reference.shape} "
            f"and {new.shape}"
        )
    if len(new) < 2:
        raise ConfigurationError("mean/sigma linking needs at least two common items")
    if not (np.all(np.isfinite(reference)) and np.all(np.isfinite(new))):
        raise ConfigurationError("mean/sigma linking needs finite difficulties")
    sd_new, sd_reference = float(np.std(new)), float(np.std(reference))
    if sd_new <= 0 or sd_reference <= 0:
        raise ConfigurationError("the common items' difficulties must not all be equal")
    slope = sd_reference / sd_new
    return slope, float(np.mean(reference) - slope * np.mean(new))


def rescale(params, se=None, *, slope: float, intercept: float):
    """Apply :math:`\\theta^* = A\\theta + B` to item parameters (and their SEs).

    :math:`a^* = a / A`, :math:`b^* = A b + B`, :math:`c, d` unchanged;
    :math:`SE(a^*) = SE(a) / A`, :math:`SE(b^*) = A\\,SE(b)`.

    Returns
    -------
    numpy.ndarray, shape (n, 4), or (params, se) when ``se`` (shape (n, 3)) is given.
    """
    if not slope > 0:
        raise ConfigurationError(f"the linking slope must be > 0; got {slope}")
    out = np.array(params, dtype=float, ndmin=2, copy=True)
    out[:, 0] /= slope
    out[:, 1] = slope * out[:, 1] + intercept
    if se is None:
        return out
    out_se = np.array(se, dtype=float, ndmin=2, copy=True)
    out_se[:, 0] /= slope
    out_se[:, 1] *= slope
    return out, out_se


# --- input checks ------------------------------------------------------------------------------


def _check_bank(params, free) -> tuple[np.ndarray, np.ndarray]:
    try:
        bank = np.array(params, dtype=float, ndmin=2)
    except (TypeError, ValueError) as exc:
        raise InvalidParametersError(f"item parameters must be numbers: {exc}") from None
    if bank.ndim != 2 or bank.shape[1] != 4:
        raise InvalidParametersError(
            f"params must have shape (n_items, 4) with columns [a, b, c, d]; got {bank.shape}"
        )
    mask = np.asarray(free)
    if mask.shape != (len(bank),):
        raise ConfigurationError(
            f"free must have one entry per item ({len(bank)}); got shape {mask.shape}"
        )
    mask = mask.astype(bool)
    if not mask.any():
        raise ConfigurationError("no free item: nothing to calibrate")
    anchors = np.flatnonzero(~mask)
    if len(anchors) == 0:
        raise ConfigurationError(
            "no anchor item: use dreamseed.cat.calibration.calibrate for a free calibration"
        )
    try:
        validate_params(bank[anchors])
    except InvalidParametersError as error:
        index = int(anchors[error.item]) if error.item is not None else None
        message = str(error)
        if error.item is not None:
            message = message.replace(f"item {error.item}:", f"anchor item {index}:", 1)
        raise InvalidParametersError(message, item=index, column=error.column) from None
    return bank, mask


def _check_responses(person_idx, item_idx, responses, n_items, n_persons):
    """The long-format checks of free calibration, for a bank of `n_items` items."""
    person, item, answer, n_persons, _ = _check_long_data(
        person_idx, item_idx, responses, n_persons, n_items
    )
    return person, item, answer, n_persons


# --- E step ------------------------------------------------------------------------------------


def _indicators(person, item, answer, n_rows, n_cols):
    """Sparse (persons x items) indicators of correct and of wrong answers."""
    shape = (n_rows, n_cols)
    right = answer == 1
    correct = sparse.csr_matrix(
        (np.ones(int(right.sum())), (person[right], item[right])), shape=shape
    )
    wrong = sparse.csr_matrix(
        (np.ones(int((~right).sum())), (person[~right], item[~right])), shape=shape
    )
    return correct, wrong


def _anchor_log_likelihood(person, item, answer, bank, anchors, n_persons, grid):
    """``sum_i ln f(u_pi | theta_q)`` over each person's anchor answers, shape (persons, Q)."""
    if len(answer) == 0:
        return np.zeros((n_persons, len(grid)))
    local = np.full(len(bank), -1, dtype=np.intp)
    local[anchors] = np.arange(len(anchors))
    correct, wrong = _indicators(person, local[item], answer, n_persons, len(anchors))
    log_p, log_q = log_probabilities(grid, bank[anchors])  # (Q, anchors)
    return np.asarray(correct @ log_p.T + wrong @ log_q.T)


def _log_weights(grid, mean, sd):
    log_weights = -0.5 * ((grid - mean) / sd) ** 2
    return log_weights - np.log(np.exp(log_weights).sum())


def _normalise(log_lik):
    """Posterior rows from log-likelihood rows (persons, Q), and the marginal log-likelihood."""
    peak = log_lik.max(axis=1, keepdims=True)
    posterior = np.exp(log_lik - peak)
    total = posterior.sum(axis=1, keepdims=True)
    posterior /= total
    return posterior, float(peak.sum() + np.log(total).sum())


def _posterior(anchor_part, data, fitter, state, grid, mean, sd):
    log_p, log_q = fitter.log_probabilities(state)  # (k, Q)
    log_lik = anchor_part + data.log_likelihood(log_p, log_q) + _log_weights(grid, mean, sd)
    return _normalise(log_lik)


def _population_moments(posterior, grid):
    mean = float((posterior @ grid).mean())
    variance = float((posterior @ (grid - mean) ** 2).mean())
    return mean, max(float(np.sqrt(variance)), MIN_POPULATION_SD)


class _FreeResponses:
    """The free items' answers as sparse persons x items indicators."""

    def __init__(self, person, item, answer, n_persons, n_items):
        self.person, self.item, self.answer = person, item, answer
        self.correct, self.wrong = _indicators(person, item, answer, n_persons, n_items)
        self.correct_t = self.correct.T.tocsr()
        self.observed_t = (self.correct + self.wrong).T.tocsr()

    def log_likelihood(self, log_p, log_q):
        """Per person and node, from (k, Q) log-probabilities of the free items."""
        return np.asarray(self.correct @ log_p + self.wrong @ log_q)

    def item_counts(self, posterior):
        """Expected correct answers and expected answers per free item and node, (k, Q)."""
        return np.asarray(self.correct_t @ posterior), np.asarray(self.observed_t @ posterior)

    def response_scores(self, posterior, gradient_if_correct, gradient_if_wrong):
        """``s_r = sum_q pi_{p_r q} g[u_r][i_r, :, q]`` for every response, shape (r, K)."""
        n_params = gradient_if_correct.shape[1]
        scores = np.empty((len(self.answer), n_params))
        for start in range(0, len(self.answer), _SCORE_CHUNK):
            chunk = slice(start, start + _SCORE_CHUNK)
            rows = posterior[self.person[chunk]]  # (chunk, Q)
            item, answer = self.item[chunk], self.answer[chunk]
            gradient = np.where(
                answer[:, None, None] == 1, gradient_if_correct[item], gradient_if_wrong[item]
            )
            scores[chunk] = np.einsum("rq,rkq->rk", rows, gradient)
        return scores


# --- M step ------------------------------------------------------------------------------------


class _Fitter:
    """Fisher scoring for the free items. State columns ``[a, beta, gamma]``; the model decides
    which are free (1PL: beta; 2PL: a, beta; 3PL: a, beta, gamma)."""

    def __init__(self, model, grid, c_prior, slope_1pl):
        self.model = model
        self.grid = grid
        self.c_prior = c_prior
        self.slope_1pl = slope_1pl
        self.free_columns = {"1PL": [1], "2PL": [0, 1], "3PL": [0, 1, 2]}[model]

    def start(self, n_correct, n_responses):
        p = (n_correct + 0.5) / (n_responses + 1.0)
        state = np.zeros((len(p), 3))
        if self.model == "3PL":
            alpha, beta = self.c_prior
            c0 = (alpha - 1) / (alpha + beta - 2) if alpha + beta > 2 else 0.2
            p = np.clip((p - c0) / (1 - c0), 0.05, 0.95)
            state[:, 2] = logit(c0)
        state[:, 0] = self.slope_1pl if self.model == "1PL" else 1.0
        state[:, 1] = 1.16 * logit(p)
        return state

    def guess(self, state):
        if self.model == "3PL":
            return expit(state[:, 2])
        return np.zeros(len(state))

    def curves(self, state):
        """P, Q and dP/d(free parameters): shapes (k, Q), (k, Q), (k, K, Q)."""
        z = state[:, :1] * self.grid + state[:, 1:2]
        logistic, complement = expit(z), expit(-z)
        c = self.guess(state)[:, None]
        density = (1 - c) * logistic * complement
        p = np.clip(c + (1 - c) * logistic, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        q = np.clip((1 - c) * complement, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        columns = {
            0: density * self.grid,
            1: density,
            2: c * (1 - c) * complement,  # dP/dc = 1 - L, dc/dgamma = c (1 - c)
        }
        return p, q, np.stack([columns[j] for j in self.free_columns], axis=1)

    def log_probabilities(self, state):
        p, q, _ = self.curves(state)
        return np.log(p), np.log(q)

    def to_abc(self, state):
        a, beta = state[:, 0], state[:, 1]
        return np.column_stack([a, -beta / a, self.guess(state)])

    def log_prior(self, state):
        if self.model != "3PL":
            return np.zeros(len(state))
        alpha, beta = self.c_prior
        c = self.guess(state)
        return (alpha - 1) * np.log(c) + (beta - 1) * np.log1p(-c)

    def prior_score_and_information(self, state):
        k, n_free = len(state), len(self.free_columns)
        score, info = np.zeros((k, n_free)), np.zeros((k, n_free, n_free))
        if self.model == "3PL":
            alpha, beta = self.c_prior
            c = self.guess(state)
            score[:, 2] = (alpha - 1) * (1 - c) - (beta - 1) * c
            info[:, 2, 2] = (alpha + beta - 2) * c * (1 - c)
        return score, info

    def objective(self, state, correct, total):
        log_p, log_q = self.log_probabilities(state)
        return (correct * log_p + (total - correct) * log_q).sum(axis=1) + self.log_prior(state)

    def clamp(self, state):
        if self.model != "1PL":
            state[:, 0] = np.clip(state[:, 0], *SLOPE_BOUNDS)
        limit = DIFFICULTY_LIMIT * state[:, 0]
        state[:, 1] = np.clip(state[:, 1], -limit, limit)
        if self.model == "3PL":
            state[:, 2] = np.clip(state[:, 2], *logit(np.array(GUESSING_BOUNDS)))
        return state

    def newton_step(self, state, correct, total):
        """The full Fisher-scoring step of the free parameters, shape (k, K); with the final
        E step's counts, the step on the marginal likelihood (Fisher's identity)."""
        n_free = len(self.free_columns)
        p, q, derivative = self.curves(state)
        residual = (correct - total * p) / (p * q)
        score = np.einsum("kq,kjq->kj", residual, derivative)
        info = np.einsum("kq,kiq,kjq->kij", total / (p * q), derivative, derivative)
        prior_score, prior_info = self.prior_score_and_information(state)
        score += prior_score
        info += prior_info
        info[:, range(n_free), range(n_free)] += 1e-9
        return np.linalg.solve(info, score[..., None])[..., 0]

    def m_step(self, state, correct, total):
        state = state.copy()
        for _ in range(M_STEP_NEWTON_STEPS):
            # Shrunk as a whole, never clipped per component (see calibration._MAX_STEP).
            step = scaled_step(self.newton_step(state, correct, total))
            full = np.zeros_like(state)
            full[:, self.free_columns] = step
            state = self._line_search(state, full, correct, total)
        return state

    def _line_search(self, state, step, correct, total):
        return line_search(self.objective, self.clamp, state, step, correct, total)

    def standard_errors(self, state, data, posterior):
        p, q, derivative = self.curves(state)
        scores = data.response_scores(
            posterior, derivative / p[:, None, :], -derivative / q[:, None, :]
        )
        n_free = len(self.free_columns)
        info = np.empty((len(state), n_free, n_free))
        for i in range(n_free):  # over the K <= 3 parameters, not over items
            for j in range(i, n_free):
                total = np.bincount(
                    data.item, weights=scores[:, i] * scores[:, j], minlength=len(state)
                )
                info[:, i, j] = info[:, j, i] = total
        info += self.prior_score_and_information(state)[1]
        covariance = _safe_inverse(info)
        return self._delta_method(state, covariance)

    def _delta_method(self, state, covariance):
        a, beta = state[:, 0], state[:, 1]
        se = np.full((len(state), 3), np.nan)
        if self.model == "1PL":
            se[:, 1] = np.sqrt(covariance[:, 0, 0]) / a
            return se
        var_a = covariance[:, 0, 0]
        # b = -beta / a: db/da = beta / a^2, db/dbeta = -1 / a
        da, dbeta = beta / a**2, -1.0 / a
        var_b = (
            da * da * var_a + 2 * da * dbeta * covariance[:, 0, 1] + dbeta**2 * covariance[:, 1, 1]
        )
        se[:, 0] = np.sqrt(var_a)
        se[:, 1] = np.sqrt(var_b)
        if self.model == "3PL":
            c = self.guess(state)
            se[:, 2] = c * (1 - c) * np.sqrt(covariance[:, 2, 2])
        return se
