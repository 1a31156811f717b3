r"""Ability estimation from item scores on a mixed bank (dichotomous, GPCM and GRM items):
EAP, MAP, MLE and Warm's WLE, with the conventions of :mod:`dreamseed.cat.estimation`
(same quadrature grid, search bounds, root bracketing and polishing, same answers for
constant patterns and for no responses).

For item scores :math:`x_i` the estimating equations use

.. math::
    S(\theta) = \sum_i \frac{P_{i x_i}'(\theta)}{P_{i x_i}(\theta)}, \qquad
    I(\theta) = \sum_i \sum_k \frac{P_{ik}'^2}{P_{ik}}, \qquad
    J(\theta) = \sum_i \sum_k \frac{P_{ik}' P_{ik}''}{P_{ik}}

(score, expected information and Warm's :math:`J`), which reduce to the dichotomous
formulas when every item has two categories:

* MLE: :math:`S(\theta) = 0`; SE :math:`I(\hat\theta)^{-1/2}`.
* MAP: :math:`S(\theta) - (\theta - \mu)/\sigma^2 = 0`; SE
  :math:`(I(\hat\theta) + 1/\sigma^2)^{-1/2}`.
* WLE: :math:`S(\theta) + J(\theta) / (2 I(\theta)) = 0`; SE :math:`I(\hat\theta)^{-1/2}`.
* EAP: posterior mean and SD on the quadrature grid.

An all-lowest or all-highest pattern has no finite MLE: the nearer bound of
:data:`~dreamseed.cat.estimation.THETA_BOUNDS` is returned.
"""

from __future__ import annotations

import math

import numpy as np

from .estimation import (
    DEFAULT_PRIOR,
    QUADRATURE_BOUNDS,
    QUADRATURE_POINTS,
    ROOT_BRACKET_STEP,
    THETA_BOUNDS,
    Prior,
    check_estimator,
    posterior_summary,
    quadrature_grid,
)
from .exceptions import InvalidResponsesError
from .irt import PROBABILITY_FLOOR
from .polytomous import (
    PolyBank,
    as_bank,
    category_terms,
    check_scores,
    log_category_probabilities,
    log_likelihood,
    positive,
)

#: Root polishing: rounds of vectorised refinement, and sub-intervals per round (0.1 logit
#: brackets end 0.1 / 16**3 = 2.4e-5 wide, closed by linear interpolation to ~1e-9).
POLISH_ROUNDS = 3
POLISH_POINTS = 16
#: Smallest information used as a divisor, so SEs stay finite.
_INFORMATION_FLOOR = 1e-300


def estimate_poly(
    method: str, bank, responses, *, prior: Prior = DEFAULT_PRIOR
) -> tuple[float, float]:
    """Dispatch to :func:`estimate_eap_poly`, :func:`estimate_map_poly`,
    :func:`estimate_mle_poly` or :func:`estimate_wle_poly` by name; returns ``(theta, se)``.

    Parameters
    ----------
    method : {"eap", "map", "mle", "wle"}
    bank : PolyBank or array_like, shape (n, 4)
        The answered items (a dichotomous ``[a, b, c, d]`` array is accepted).
    responses : array_like of int, shape (n,)
        Scores :math:`0..m_i`.
    prior : Prior
        For EAP and MAP.
    """
    check_estimator(method)
    if method == "eap":
        return estimate_eap_poly(bank, responses, prior=prior)
    if method == "map":
        return estimate_map_poly(bank, responses, prior=prior)
    if method == "mle":
        return estimate_mle_poly(bank, responses)
    return estimate_wle_poly(bank, responses)


def estimate_eap_poly(
    bank,
    responses,
    *,
    prior: Prior = DEFAULT_PRIOR,
    points: int = QUADRATURE_POINTS,
    bounds=QUADRATURE_BOUNDS,
) -> tuple[float, float]:
    r"""Expected a posteriori ability and posterior SD,
    :math:`\hat\theta = \int \theta L(\theta)\phi(\theta)\,d\theta / \int L\phi\,d\theta`."""
    bank, scores = _checked(bank, responses)
    grid = quadrature_grid(points, bounds)
    log_posterior = prior.log_density(grid)
    if bank is not None:
        log_posterior = log_posterior + log_likelihood(grid, bank, scores)
    return posterior_summary(grid, log_posterior)


def estimate_map_poly(
    bank, responses, *, prior: Prior = DEFAULT_PRIOR, bounds=THETA_BOUNDS
) -> tuple[float, float]:
    r"""Maximum a posteriori ability: root of :math:`S(\theta) - (\theta - \mu)/\sigma^2`."""
    bank, scores = _checked(bank, responses)
    if bank is None:
        return prior.mean, prior.sd
    return map_poly(bank, scores, prior, bounds)


def estimate_mle_poly(bank, responses, *, bounds=THETA_BOUNDS) -> tuple[float, float]:
    r"""Maximum likelihood ability (root of :math:`S(\theta)`), bounded to ``bounds``."""
    bank, scores = _checked(bank, responses)
    if bank is None:
        return DEFAULT_PRIOR.mean, DEFAULT_PRIOR.sd
    return mle_poly(bank, scores, bounds)


def estimate_wle_poly(bank, responses, *, bounds=THETA_BOUNDS) -> tuple[float, float]:
    r"""Warm's weighted likelihood estimate: root of :math:`S + J / (2I)`."""
    bank, scores = _checked(bank, responses)
    if bank is None:
        return DEFAULT_PRIOR.mean, DEFAULT_PRIOR.sd
    return wle_poly(bank, scores, bounds)


# --- solvers on validated input (at least one response) -----------------------------------------


def score_information(theta, bank: PolyBank, scores: np.ndarray):
    r""":math:`S(\theta)`, :math:`I(\theta)` and :math:`J(\theta)`, each of shape
    ``theta.shape``."""
    p, first, second = category_terms(theta, bank, order=2)
    safe = np.clip(p, PROBABILITY_FLOOR, None)
    index = np.broadcast_to(scores[:, None], (*p.shape[:-1], 1))
    picked_p = np.take_along_axis(safe, index, axis=-1)[..., 0]
    picked_first = np.take_along_axis(first, index, axis=-1)[..., 0]
    score = (picked_first / picked_p).sum(axis=-1)
    divisor = positive(p)
    info = (first * first / divisor).sum(axis=(-1, -2))
    warm_j = (first * second / divisor).sum(axis=(-1, -2))
    return score, info, warm_j


def _score(theta, bank: PolyBank, scores: np.ndarray):
    r""":math:`S(\theta)` alone (first derivatives only), shape ``theta.shape``."""
    p, first = category_terms(theta, bank, order=1)
    index = np.broadcast_to(scores[:, None], (*p.shape[:-1], 1))
    picked_p = np.clip(np.take_along_axis(p, index, axis=-1)[..., 0], PROBABILITY_FLOOR, None)
    return (np.take_along_axis(first, index, axis=-1)[..., 0] / picked_p).sum(axis=-1)


def _log_likelihood(theta, bank: PolyBank, scores: np.ndarray):
    """:func:`~dreamseed.cat.polytomous.log_likelihood` on already checked scores."""
    log_p = log_category_probabilities(theta, bank)
    index = np.broadcast_to(scores[:, None], (*log_p.shape[:-1], 1))
    return np.take_along_axis(log_p, index, axis=-1)[..., 0].sum(axis=-1)


def _solve_poly(equation, objective, bounds) -> float:
    """The root finder of :func:`dreamseed.cat.estimation._solve` (same bracketing grid, same
    choice among candidate roots and bounds), polishing each bracket with vectorised
    refinements instead of scalar Brent steps: every round evaluates the equation at
    :data:`POLISH_POINTS` + 1 points of the current bracket in one call (each call costs
    about as much as one scalar evaluation), and the last bracket is closed by linear
    interpolation, accurate to about ``(step / POLISH_POINTS**POLISH_ROUNDS)**2``."""
    low, high = bounds
    steps = max(round((high - low) / ROOT_BRACKET_STEP), 2)
    grid = np.linspace(low, high, steps + 1)
    values = equation(grid)
    candidates = []
    if values[-1] > 0:
        candidates.append(high)
    if values[0] < 0:
        candidates.append(low)
    for k in np.flatnonzero((values[:-1] > 0) & (values[1:] <= 0)):
        left, right = float(grid[k]), float(grid[k + 1])
        f_left, f_right = float(values[k]), float(values[k + 1])
        for _ in range(POLISH_ROUNDS):
            if f_right == 0:
                break
            points = np.linspace(left, right, POLISH_POINTS + 1)
            inner = equation(points[1:-1])
            f = np.concatenate([[f_left], inner, [f_right]])
            j = int(np.flatnonzero((f[:-1] > 0) & (f[1:] <= 0))[0])
            left, right, f_left, f_right = points[j], points[j + 1], f[j], f[j + 1]
        if f_right == 0:
            candidates.append(float(right))
        else:
            candidates.append(float(left - f_left * (right - left) / (f_right - f_left)))
    if not candidates:  # equation == 0 on the whole grid: flat objective
        return float((low + high) / 2)
    if len(candidates) == 1:
        return float(candidates[0])
    return float(candidates[int(np.argmax(objective(np.asarray(candidates))))])


def _information(theta: float, bank: PolyBank) -> float:
    p, first = category_terms(theta, bank, order=1)
    return float((first * first / positive(p)).sum())


def mle_poly(bank: PolyBank, scores: np.ndarray, bounds=THETA_BOUNDS):
    def equation(theta):
        return _score(theta, bank, scores)

    def objective(theta):
        return _log_likelihood(theta, bank, scores)

    theta = _solve_poly(equation, objective, bounds)
    return theta, 1.0 / math.sqrt(max(_information(theta, bank), _INFORMATION_FLOOR))


def map_poly(bank: PolyBank, scores: np.ndarray, prior: Prior, bounds=THETA_BOUNDS):
    precision = 1.0 / (prior.sd * prior.sd)

    def equation(theta):
        return _score(theta, bank, scores) - (np.asarray(theta) - prior.mean) * precision

    def objective(theta):
        return _log_likelihood(theta, bank, scores) + prior.log_density(theta)

    theta = _solve_poly(equation, objective, bounds)
    return theta, 1.0 / math.sqrt(_information(theta, bank) + precision)


def wle_poly(bank: PolyBank, scores: np.ndarray, bounds=THETA_BOUNDS):
    def equation(theta):
        score, info, warm_j = score_information(theta, bank, scores)
        return score + warm_j / (2.0 * np.maximum(info, _INFORMATION_FLOOR))

    def objective(theta):
        _, info, _ = score_information(theta, bank, scores)
        return _log_likelihood(theta, bank, scores) + 0.5 * np.log(
            np.maximum(info, _INFORMATION_FLOOR)
        )

    theta = _solve_poly(equation, objective, bounds)
    return theta, 1.0 / math.sqrt(max(_information(theta, bank), _INFORMATION_FLOOR))


def _checked(bank, responses):
    """``(bank, scores)``, or ``(None, empty)`` when no item was answered."""
    if isinstance(bank, PolyBank):
        scores = check_scores(responses, bank)
        return (bank if bank.n_items else None), scores
    array = np.asarray(bank, dtype=float)
    if array.size == 0:
        if np.asarray(responses).size:
            raise InvalidResponsesError(
                f"{np.asarray(responses).size} responses for 0 items: lengths must match"
            )
        return None, np.empty(0, dtype=np.intp)
    bank = as_bank(array)
    return bank, check_scores(responses, bank)
