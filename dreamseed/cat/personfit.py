"""Person fit: Snijders' (2001) lz*, the standardised log-likelihood of a response pattern
corrected for the ability being estimated from the same answers.

With :math:`P_i = P_i(\\hat\\theta)`, :math:`w_i = \\ln(P_i / Q_i)`,
:math:`r_i = P_i' / (P_i Q_i)` (maximum likelihood: :math:`r_0 = 0`) and
:math:`c_n = \\sum_i P_i' w_i / \\sum_i P_i' r_i`:

.. math::
    l_z^* = \\frac{\\sum_i [u_i \\ln P_i + (1 - u_i) \\ln Q_i] - \\sum_i [P_i \\ln P_i
            + Q_i \\ln Q_i]}{\\sqrt{\\sum_i (w_i - c_n r_i)^2 P_i Q_i}}

which is asymptotically standard normal for a person who answers by the model. Large negative
values (below about -1.645, the lower 5 %) mean the pattern is unlikely: lucky guesses on hard
items, careless slips on easy ones, or answers unrelated to the questions.
"""

from __future__ import annotations

import numpy as np

from .estimation import estimate_mle
from .irt import validate_params

#: lz* below this (one-sided 5 %) flags a response pattern as aberrant.
LZ_FLAG = -1.645
#: Fewer scored answers than this give no lz* (the normal approximation needs a test's worth).
LZ_MIN_ITEMS = 10


def lz_star(params, responses, theta: float | None = None) -> float | None:
    """lz* of one response pattern; None with fewer than LZ_MIN_ITEMS answers, all answers
    alike, or no spread in the information.

    Parameters
    ----------
    params : array_like, shape (n, 4)
        Parameters of the items answered.
    responses : array_like of 0/1, shape (n,)
    theta : float, optional
        Ability estimate; by default the bounded maximum-likelihood estimate.
    """
    bank = validate_params(params)
    u = np.asarray(responses, dtype=float)
    if len(u) < LZ_MIN_ITEMS or u.min() == u.max():
        # All right or all wrong: the ability estimate sits on its bound, where every pattern
        # looks perfectly predictable; lz* says nothing there.
        return None
    if theta is None:
        theta, _se = estimate_mle(bank, u.astype(int))
    a, b, c, d = bank.T
    logistic = 1.0 / (1.0 + np.exp(-a * (theta - b)))
    p = np.clip(c + (d - c) * logistic, 1e-9, 1 - 1e-9)
    q = 1.0 - p
    derivative = a * (d - c) * logistic * (1.0 - logistic)
    w = np.log(p / q)
    r = derivative / (p * q)
    denominator = float(np.sum(derivative * r))
    c_n = float(np.sum(derivative * w)) / denominator if denominator > 0 else 0.0
    variance = float(np.sum((w - c_n * r) ** 2 * p * q))
    if not variance > 0:
        return None
    observed = float(np.sum(u * np.log(p) + (1 - u) * np.log(q)))
    expected = float(np.sum(p * np.log(p) + q * np.log(q)))
    return (observed - expected) / np.sqrt(variance)
