"""Ability estimation from a 0/1 response pattern: EAP, MAP, MLE and Warm's WLE.

Each estimator returns ``(theta, se)``. Conventions:

* EAP integrates over a fixed quadrature grid (:data:`QUADRATURE_POINTS` equally spaced points
  on :data:`QUADRATURE_BOUNDS`) against a normal :class:`Prior`; ``se`` is the posterior SD.
* MAP, MLE and WLE are searched on :data:`THETA_BOUNDS`. Candidate roots of the estimating
  equation are bracketed on a grid and polished with :func:`scipy.optimize.brentq`; when the
  equation has no root inside the bounds (MLE of an all-correct or all-wrong pattern), the
  estimate is the bound the likelihood climbs towards, so the answer is always finite.
  ``se`` is :math:`1/\\sqrt{I(\\hat\\theta)}` (MLE, WLE) or
  :math:`1/\\sqrt{I(\\hat\\theta) + 1/\\sigma^2}` (MAP), from the expected test information.
* With no responses at all, every estimator returns the prior mean and prior SD: the point a
  test starts from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .exceptions import ConfigurationError
from .irt import PROBABILITY_FLOOR, _as_responses, log_likelihood, validate_params

#: Number of equally spaced EAP quadrature points (spacing 0.1 on [-6, 6]).
QUADRATURE_POINTS = 121
#: EAP quadrature range, logits.
QUADRATURE_BOUNDS = (-6.0, 6.0)
#: Range searched by MAP, MLE and WLE, logits; MLE of a constant pattern lands on a bound.
THETA_BOUNDS = (-4.0, 4.0)
#: Spacing of the grid used to bracket roots of the estimating equations, logits.
ROOT_BRACKET_STEP = 0.1
#: Absolute tolerance of the root polish, logits.
ROOT_TOLERANCE = 1e-8

#: Names accepted by :func:`estimate`.
ESTIMATORS = ("eap", "map", "mle", "wle")


@dataclass(frozen=True)
class Prior:
    r"""Normal prior on ability, :math:`\theta \sim N(\mu, \sigma^2)`.

    Parameters
    ----------
    mean : float
        :math:`\mu`, logits.
    sd : float
        :math:`\sigma > 0`, logits.
    """

    mean: float = 0.0
    sd: float = 1.0

    def __post_init__(self):
        if not (math.isfinite(self.mean) and math.isfinite(self.sd)):
            raise ConfigurationError(
                f"prior mean and sd must be finite; got {self.mean}, {self.sd}"
            )
        if self.sd <= 0:
            raise ConfigurationError(f"prior sd must be > 0; got {self.sd}")

    def log_density(self, theta) -> np.ndarray:
        r"""Unnormalised log density :math:`-\tfrac12 ((\theta - \mu) / \sigma)^2`."""
        z = (np.asarray(theta, dtype=float) - self.mean) / self.sd
        return -0.5 * z * z


DEFAULT_PRIOR = Prior()


def quadrature_grid(points: int = QUADRATURE_POINTS, bounds=QUADRATURE_BOUNDS) -> np.ndarray:
    """Equally spaced quadrature nodes for EAP, shape ``(points,)``."""
    if points < 3:
        raise ConfigurationError(f"quadrature needs at least 3 points; got {points}")
    low, high = bounds
    if not low < high:
        raise ConfigurationError(f"quadrature bounds must be increasing; got {bounds}")
    return np.linspace(low, high, points)


def posterior_summary(
    grid: np.ndarray, log_posterior: np.ndarray, moments: np.ndarray | None = None
) -> tuple[float, float]:
    r"""Mean and SD of a posterior known up to a constant on an equally spaced grid.

    .. math::
        w_q = e^{\ell_q - \max \ell}, \quad
        \hat\theta = \frac{\sum_q w_q \theta_q}{\sum_q w_q}, \quad
        SE = \sqrt{\frac{\sum_q w_q \theta_q^2}{\sum_q w_q} - \hat\theta^2}

    ``moments`` is ``[1, theta, theta^2]`` stacked, shape ``(3, Q)``, when precomputed (as an
    :class:`~dreamseed.cat.pool.ItemPool` does), so the three sums are one product.
    """
    weights = np.exp(log_posterior - log_posterior.max())
    if moments is None:
        moments = np.vstack([np.ones_like(grid), grid, grid * grid])
    total, first, second = (moments @ weights).tolist()
    mean = first / total
    variance = second / total - mean * mean
    return mean, math.sqrt(max(variance, 0.0))


def estimate_eap(
    params,
    responses,
    *,
    prior: Prior = DEFAULT_PRIOR,
    points: int = QUADRATURE_POINTS,
    bounds=QUADRATURE_BOUNDS,
) -> tuple[float, float]:
    r"""Expected a posteriori ability and posterior SD.

    .. math::
        \hat\theta = \frac{\int \theta L(\theta) \phi(\theta) d\theta}
                          {\int L(\theta) \phi(\theta) d\theta}

    with :math:`L` the likelihood and :math:`\phi` the normal prior density, both integrals by
    the rectangle rule on :func:`quadrature_grid`.

    Parameters
    ----------
    params : array_like, shape (n, 4)
        Parameters ``[a, b, c, d]`` of the answered items.
    responses : array_like of 0/1, shape (n,)
    prior : Prior
    points, bounds :
        Quadrature grid (see :data:`QUADRATURE_POINTS`, :data:`QUADRATURE_BOUNDS`).

    Returns
    -------
    (theta, se) : tuple of float
    """
    params, responses = _checked(params, responses)
    grid = quadrature_grid(points, bounds)
    log_posterior = prior.log_density(grid)
    if len(responses):
        log_posterior = log_posterior + log_likelihood(grid, params, responses)
    return posterior_summary(grid, log_posterior)


def estimate_map(
    params, responses, *, prior: Prior = DEFAULT_PRIOR, bounds=THETA_BOUNDS
) -> tuple[float, float]:
    r"""Maximum a posteriori (Bayes modal) ability.

    Solves :math:`\sum_i \frac{(u_i - P_i) P_i'}{P_i Q_i} - \frac{\theta - \mu}{\sigma^2} = 0`
    on ``bounds``; ``se`` is :math:`(I(\hat\theta) + 1/\sigma^2)^{-1/2}`.
    """
    params, responses = _checked(params, responses)
    if len(responses) == 0:
        return prior.mean, prior.sd
    return _map(params, responses, prior, bounds)


def estimate_mle(params, responses, *, bounds=THETA_BOUNDS) -> tuple[float, float]:
    r"""Maximum likelihood ability, bounded to ``bounds``.

    Solves the likelihood equation :math:`\sum_i (u_i - P_i) P_i' / (P_i Q_i) = 0`. An
    all-correct (all-wrong) pattern has no finite MLE: the likelihood rises towards
    :math:`+\infty` (:math:`-\infty`), so the upper (lower) bound is returned, a finite and
    documented answer. ``se`` is :math:`I(\hat\theta)^{-1/2}`.
    """
    params, responses = _checked(params, responses)
    if len(responses) == 0:
        return DEFAULT_PRIOR.mean, DEFAULT_PRIOR.sd
    return _mle(params, responses, bounds)


def estimate_wle(params, responses, *, bounds=THETA_BOUNDS) -> tuple[float, float]:
    r"""Warm's (1989) weighted likelihood estimate.

    Solves the bias-corrected likelihood equation

    .. math::
        \sum_i \frac{(u_i - P_i) P_i'}{P_i Q_i} + \frac{J(\theta)}{2 I(\theta)} = 0, \qquad
        J(\theta) = \sum_i \frac{P_i' P_i''}{P_i Q_i}

    which has a finite root for all-correct and all-wrong patterns of 1PL/2PL items (for the
    3PL/4PL the bounds apply as for the MLE). ``se`` is :math:`I(\hat\theta)^{-1/2}`.
    """
    params, responses = _checked(params, responses)
    if len(responses) == 0:
        return DEFAULT_PRIOR.mean, DEFAULT_PRIOR.sd
    return _wle(params, responses, bounds)


def estimate(method: str, params, responses, *, prior: Prior = DEFAULT_PRIOR):
    """Dispatch to :func:`estimate_eap`, :func:`estimate_map`, :func:`estimate_mle` or
    :func:`estimate_wle` by name (one of :data:`ESTIMATORS`); returns ``(theta, se)``."""
    check_estimator(method)
    if method == "eap":
        return estimate_eap(params, responses, prior=prior)
    if method == "map":
        return estimate_map(params, responses, prior=prior)
    if method == "mle":
        return estimate_mle(params, responses)
    return estimate_wle(params, responses)


def check_estimator(method: str) -> str:
    """Return ``method`` if it names an estimator, else raise :class:`ConfigurationError`."""
    if method not in ESTIMATORS:
        raise ConfigurationError(
            f"unknown estimator {method!r}: choose one of {', '.join(ESTIMATORS)}"
        )
    return method


# --- private solvers: inputs already validated, at least one response ---------------------------


def _checked(params, responses):
    """Validate a possibly empty set of answered items and their responses."""
    params_array = np.asarray(params, dtype=float)
    if params_array.size == 0:
        return np.empty((0, 4)), _as_responses(responses, 0)
    params_array = validate_params(params_array)
    return params_array, _as_responses(responses, len(params_array))


def _derivatives(theta, params):
    """P, Q = 1 - P, P' and P'' of every item at every theta; shapes ``theta.shape + (n,)``."""
    theta = np.asarray(theta, dtype=float)
    a, b, c, d = params.T
    z = a * (theta[..., None] - b)
    logistic, complement = expit(z), expit(-z)
    p = np.clip(c + (d - c) * logistic, PROBABILITY_FLOOR, None)
    q = np.clip((1.0 - d) + (d - c) * complement, PROBABILITY_FLOOR, None)
    first = a * (d - c) * logistic * complement
    second = a * first * (complement - logistic)
    return p, q, first, second


def _score_and_information(theta, params, responses):
    r"""Likelihood score :math:`\sum (u - P) P' / (P Q)`, information and Warm's :math:`J`."""
    p, q, first, second = _derivatives(theta, params)
    pq = p * q
    score = ((responses - p) * first / pq).sum(axis=-1)
    info = (first * first / pq).sum(axis=-1)
    warm_j = (first * second / pq).sum(axis=-1)
    return score, info, warm_j


def _information(theta: float, params) -> float:
    _, info, _ = _score_and_information(theta, params, np.zeros(len(params)))
    return float(info)


def _solve(equation, objective, bounds) -> float:
    """Best root of ``equation`` on ``bounds``, judged by ``objective``.

    ``equation`` is the derivative (or estimating function) of an objective to maximise. Roots
    where it crosses from + to - are local maxima; a bound is a candidate when the equation
    points out of the interval there. Among candidates the one with the largest ``objective``
    wins, which handles the multimodal likelihoods of the 3PL.
    """
    # Imported here: scipy.optimize adds ~0.2 s to importing the engine, and the EAP path of
    # the web request never needs it.
    from scipy.optimize import brentq

    low, high = bounds
    steps = max(round((high - low) / ROOT_BRACKET_STEP), 2)
    grid = np.linspace(low, high, steps + 1)
    values = equation(grid)
    candidates = []
    if values[-1] > 0:
        candidates.append(high)
    if values[0] < 0:
        candidates.append(low)
    crossings = np.flatnonzero((values[:-1] > 0) & (values[1:] <= 0))
    for k in crossings:
        if values[k + 1] == 0:
            candidates.append(float(grid[k + 1]))
        else:
            candidates.append(
                brentq(lambda t: float(equation(t)), grid[k], grid[k + 1], xtol=ROOT_TOLERANCE)
            )
    if not candidates:  # equation == 0 on the whole grid: flat objective
        return float((low + high) / 2)
    if len(candidates) == 1:
        return float(candidates[0])
    scores = objective(np.asarray(candidates))
    return float(candidates[int(np.argmax(scores))])


def _mle(params, responses, bounds):
    responses = responses.astype(float)

    def equation(theta):
        return _score_and_information(theta, params, responses)[0]

    def objective(theta):
        return log_likelihood(theta, params, responses)

    theta = _solve(equation, objective, bounds)
    return theta, 1.0 / math.sqrt(max(_information(theta, params), 1e-300))


def _map(params, responses, prior: Prior, bounds):
    responses = responses.astype(float)
    precision = 1.0 / (prior.sd * prior.sd)

    def equation(theta):
        score = _score_and_information(theta, params, responses)[0]
        return score - (np.asarray(theta) - prior.mean) * precision

    def objective(theta):
        return log_likelihood(theta, params, responses) + prior.log_density(theta)

    theta = _solve(equation, objective, bounds)
    return theta, 1.0 / math.sqrt(_information(theta, params) + precision)


def _wle(params, responses, bounds):
    responses = responses.astype(float)

    def equation(theta):
        score, info, warm_j = _score_and_information(theta, params, responses)
        return score + warm_j / (2.0 * np.maximum(info, 1e-300))

    def objective(theta):
        # Warm's weighted likelihood L * sqrt(I): exact objective for the 1PL/2PL, a tie-breaker
        # between roots for the 3PL/4PL.
        _, info, _ = _score_and_information(theta, params, responses)
        return log_likelihood(theta, params, responses) + 0.5 * np.log(np.maximum(info, 1e-300))

    theta = _solve(equation, objective, bounds)
    return theta, 1.0 / math.sqrt(max(_information(theta, params), 1e-300))


_SOLVERS = {"map": _map, "mle": _mle, "wle": _wle}
