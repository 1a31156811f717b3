"""Item response functions of the 1PL to 4PL logistic models, vectorised over items.

An item bank is an ``(n, 4)`` float array with one row ``[a, b, c, d]`` per item:
discrimination ``a > 0``, difficulty ``b``, lower asymptote (guessing) ``0 <= c < 1`` and
upper asymptote ``c < d <= 1``. The 1PL is ``a = 1, c = 0, d = 1``; the 2PL frees ``a``; the
3PL frees ``c``; the 4PL frees ``d``. Abilities ``theta`` are on the same logit scale as ``b``
(no 1.7 scaling constant).

Every function broadcasts: ``theta`` of any shape against ``n`` items gives an array of shape
``theta.shape + (n,)`` (or ``theta.shape`` once summed over items).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from .exceptions import EmptyBankError, InvalidParametersError, InvalidResponsesError

#: Column order of a parameter array.
PARAM_COLUMNS = ("a", "b", "c", "d")

#: Probabilities are kept in ``[PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR]`` before taking logs,
#: so a pattern the model calls impossible costs a large but finite log-likelihood.
PROBABILITY_FLOOR = 1e-12

#: Golden-section iterations used by :func:`information_peak` for 4PL items (tolerance ~1e-12).
_GOLDEN_ITERATIONS = 80


def make_params(b, a=1.0, c=0.0, d=1.0) -> np.ndarray:
    """Build a validated ``(n, 4)`` parameter array from columns or scalars.

    Parameters
    ----------
    b : array_like, shape (n,)
        Difficulties.
    a, c, d : float or array_like, shape (n,)
        Discriminations, lower and upper asymptotes; scalars are broadcast. The defaults give
        the 1PL; pass ``a`` for the 2PL, ``a`` and ``c`` for the 3PL, all four for the 4PL.

    Returns
    -------
    numpy.ndarray, shape (n, 4)
        Columns ``[a, b, c, d]``.

    Raises
    ------
    InvalidParametersError
        Mismatched lengths, or any value out of range (see :func:`validate_params`).
    """
    b = np.atleast_1d(np.asarray(b, dtype=float))
    if b.ndim != 1:
        raise InvalidParametersError(f"b must be one-dimensional; got shape {b.shape}")
    columns = []
    for name, values in (("a", a), ("b", b), ("c", c), ("d", d)):
        values = np.asarray(values, dtype=float)
        if values.ndim == 0:
            values = np.full(b.shape, float(values))
        if values.shape != b.shape:
            raise InvalidParametersError(
                f"{name} has {values.size} values but b has {b.size}: lengths must match",
                column=name,
            )
        columns.append(values)
    return validate_params(np.column_stack(columns))


def validate_params(params) -> np.ndarray:
    """Check an item parameter array and return it as a C-contiguous float64 ``(n, 4)`` copy.

    Arrays with 2 columns ``[a, b]`` or 3 columns ``[a, b, c]`` are completed with ``c = 0``
    and ``d = 1``.

    Raises
    ------
    EmptyBankError
        No items.
    InvalidParametersError
        Wrong shape, a non-numeric or non-finite value, ``a <= 0``, ``c`` outside ``[0, 1)``,
        or ``d`` outside ``(c, 1]``. The message names the first offending item and parameter.
    """
    try:
        array = np.array(params, dtype=float, ndmin=2)
    except (TypeError, ValueError) as exc:
        raise InvalidParametersError(f"item parameters must be numbers: {exc}") from None
    if array.ndim != 2 or array.shape[1] not in (2, 3, 4):
        raise InvalidParametersError(
            f"item parameters must have shape (n, 4) with columns [a, b, c, d]; got {array.shape}"
        )
    if array.shape[0] == 0:
        raise EmptyBankError("the item bank is empty: at least one item is needed")
    if array.shape[1] < 4:
        defaults = (0.0, 1.0)[array.shape[1] - 2 :]  # c = 0 and/or d = 1
        filler = np.broadcast_to(np.array(defaults), (array.shape[0], len(defaults)))
        array = np.column_stack([array, filler])
    array = np.ascontiguousarray(array)

    a, _, c, d = array.T
    _first_bad(~np.isfinite(array), "is not a finite number (NaN or infinite)", array)
    _first_bad(a <= 0, "discrimination a must be > 0", array, column=0)
    _first_bad((c < 0) | (c >= 1), "guessing c must be in [0, 1)", array, column=2)
    _first_bad((d <= c) | (d > 1), "upper asymptote d must be in (c, 1]", array, column=3)
    return array


def _first_bad(mask: np.ndarray, problem: str, array: np.ndarray, column: int | None = None):
    """Raise InvalidParametersError naming the first True cell of ``mask``."""
    if not mask.any():
        return
    if mask.ndim == 2:
        item, column = (int(i) for i in np.argwhere(mask)[0])
    else:
        item = int(np.flatnonzero(mask)[0])
    name = PARAM_COLUMNS[column]
    count = int(np.count_nonzero(mask))
    more = f" ({count - 1} more item(s) have the same problem)" if count > 1 else ""
    raise InvalidParametersError(
        f"item {item}: {name} = {float(array[item, column])!r}: {problem}{more}",
        item=item,
        column=name,
    )


def _logistic(theta, params):
    """Return ``L = 1 / (1 + exp(-a (theta - b)))`` and ``1 - L`` (shape ``theta.shape + (n,)``)."""
    theta = np.asarray(theta, dtype=float)
    z = params[:, 0] * (theta[..., None] - params[:, 1])
    return expit(z), expit(-z)


def probability(theta, params) -> np.ndarray:
    r"""Probability of a correct answer under the 4PL model.

    .. math:: P_i(\theta) = c_i + \frac{d_i - c_i}{1 + e^{-a_i(\theta - b_i)}}

    At :math:`\theta = b_i`, :math:`P_i = (c_i + d_i) / 2`.

    Parameters
    ----------
    theta : float or array_like
        Abilities (logit scale).
    params : numpy.ndarray, shape (n, 4)
        Item parameters ``[a, b, c, d]`` (see :func:`validate_params`).

    Returns
    -------
    numpy.ndarray, shape ``theta.shape + (n,)``
    """
    logistic, _ = _logistic(theta, params)
    return params[:, 2] + (params[:, 3] - params[:, 2]) * logistic


def log_likelihood(theta, params, responses) -> np.ndarray:
    r"""Log-likelihood of a 0/1 response pattern.

    .. math:: \ell(\theta) = \sum_i u_i \ln P_i(\theta) + (1 - u_i) \ln(1 - P_i(\theta))

    ``1 - P`` is computed as :math:`(1 - d) + (d - c)(1 - L)` to avoid cancellation, and both
    probabilities are floored at :data:`PROBABILITY_FLOOR`.

    Parameters
    ----------
    theta : float or array_like
    params : numpy.ndarray, shape (n, 4)
    responses : array_like of 0/1, shape (n,)

    Returns
    -------
    numpy.ndarray, shape ``theta.shape``
    """
    responses = _as_responses(responses, len(params))
    log_p, log_q = log_probabilities(theta, params)
    return np.where(responses == 1, log_p, log_q).sum(axis=-1)


def log_probabilities(theta, params) -> tuple[np.ndarray, np.ndarray]:
    r"""Return :math:`\ln P_i(\theta)` and :math:`\ln(1 - P_i(\theta))`, floored.

    Shapes are ``theta.shape + (n,)``.
    """
    logistic, complement = _logistic(theta, params)
    c, d = params[:, 2], params[:, 3]
    p = c + (d - c) * logistic
    q = (1.0 - d) + (d - c) * complement
    return (
        np.log(np.clip(p, PROBABILITY_FLOOR, None)),
        np.log(np.clip(q, PROBABILITY_FLOOR, None)),
    )


def information(theta, params) -> np.ndarray:
    r"""Fisher information of each item.

    .. math::
        I_i(\theta) = \frac{P_i'(\theta)^2}{P_i (1 - P_i)}
                    = \frac{a_i^2 (P_i - c_i)^2 (d_i - P_i)^2}{(d_i - c_i)^2 P_i (1 - P_i)}

    For the 2PL this is :math:`a^2 P (1 - P)`, largest at :math:`\theta = b`; for the 3PL the
    peak is at :math:`b + \ln\!\big((1 + \sqrt{1 + 8c}) / 2\big) / a` (see
    :func:`information_peak`). Units: inverse squared logits.

    Returns
    -------
    numpy.ndarray, shape ``theta.shape + (n,)``
    """
    theta = np.asarray(theta, dtype=float)
    a, b, c, d = params.T
    return _elementwise_information(theta[..., None], a, b, c, d)


def _elementwise_information(theta, a, b, c, d) -> np.ndarray:
    """Information formula of :func:`information`, broadcast elementwise over all arguments."""
    z = a * (theta - b)
    logistic, complement = expit(z), expit(-z)
    p = c + (d - c) * logistic
    q = (1.0 - d) + (d - c) * complement
    slope = a * (d - c) * logistic * complement  # dP/dtheta
    return slope * slope / np.clip(p * q, PROBABILITY_FLOOR, None)


def item_probability(theta: float, a: float, b: float, c: float = 0.0, d: float = 1.0) -> float:
    """P(correct) of one item at one ability, in plain float arithmetic (for per-answer use).

    Same formula as :func:`probability`, ``c + (d - c) / (1 + exp(-a (theta - b)))``; the
    exponent is clamped to +-700 so extreme abilities give 0/1 limits instead of overflowing.
    """
    z = max(-700.0, min(700.0, a * (theta - b)))
    return c + (d - c) / (1.0 + math.exp(-z))


def item_information(theta: float, a: float, b: float, c: float = 0.0, d: float = 1.0) -> float:
    """Information of one item at one ability, in plain float arithmetic (for per-step use).

    Same formula as :func:`information`; avoids numpy's per-call overhead on scalars.
    """
    z = a * (theta - b)
    if z >= 0:
        complement = math.exp(-z) / (1.0 + math.exp(-z))
        logistic = 1.0 - complement
    else:
        logistic = math.exp(z) / (1.0 + math.exp(z))
        complement = 1.0 - logistic
    p = c + (d - c) * logistic
    q = (1.0 - d) + (d - c) * complement
    slope = a * (d - c) * logistic * complement
    return slope * slope / max(p * q, PROBABILITY_FLOOR)


def test_information(theta, params) -> np.ndarray:
    r"""Test information :math:`I(\theta) = \sum_i I_i(\theta)`, shape ``theta.shape``."""
    return information(theta, params).sum(axis=-1)


def information_peak(params) -> np.ndarray:
    r"""Ability at which each item's information is largest.

    For items with ``d = 1`` (1PL to 3PL) the closed form of Birnbaum (1968) is used:

    .. math:: \theta_i^{\max} = b_i + \frac{1}{a_i} \ln \frac{1 + \sqrt{1 + 8 c_i}}{2}

    For 4PL items (``d < 1``) the unimodal information curve is maximised by a vectorised
    golden-section search on :math:`[b - 6/a, b + 6/a]`.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    params = np.asarray(params, dtype=float)
    a, b, c, d = params.T
    peak = b + np.log((1.0 + np.sqrt(1.0 + 8.0 * c)) / 2.0) / a
    four_pl = d < 1.0
    if four_pl.any():
        sa, sb, sc, sd = params[four_pl].T
        low, high = sb - 6.0 / sa, sb + 6.0 / sa
        ratio = (np.sqrt(5.0) - 1.0) / 2.0
        for _ in range(_GOLDEN_ITERATIONS):  # iterations, not items: each step is vectorised
            left = high - ratio * (high - low)
            right = low + ratio * (high - low)
            info_left = _elementwise_information(left, sa, sb, sc, sd)
            info_right = _elementwise_information(right, sa, sb, sc, sd)
            go_left = info_left > info_right
            high = np.where(go_left, right, high)
            low = np.where(go_left, low, left)
        peak[four_pl] = (low + high) / 2.0
    return peak


def _as_responses(responses, n_items: int) -> np.ndarray:
    """Check a 0/1 response vector of length ``n_items`` and return it as int8."""
    array = np.asarray(responses)
    if array.ndim != 1:
        raise InvalidResponsesError(f"responses must be one-dimensional; got shape {array.shape}")
    if array.shape[0] != n_items:
        raise InvalidResponsesError(
            f"{array.shape[0]} responses for {n_items} items: lengths must match"
        )
    if array.dtype == bool:
        return array.astype(np.int8)
    if not np.issubdtype(array.dtype, np.number):
        raise InvalidResponsesError(f"responses must be 0 or 1; got dtype {array.dtype}")
    bad = ~np.isin(array, (0, 1))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InvalidResponsesError(
            f"responses must be 0 or 1; response {index} is {array[index].item()!r}"
        )
    return array.astype(np.int8)
