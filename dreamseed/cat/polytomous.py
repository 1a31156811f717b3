r"""Polytomous item response models and mixed item banks, vectorised over items.

An item scored in categories :math:`k = 0, 1, \dots, m_i` follows one of:

* the **generalized partial credit model** (GPCM; Muraki, 1992), with slope :math:`a_i` and
  step difficulties :math:`b_{i1}, \dots, b_{im_i}` (in any order: reversed steps are allowed),

  .. math::
      P_{ik}(\theta) = \frac{\exp \sum_{v=1}^{k} a_i (\theta - b_{iv})}
                            {\sum_{h=0}^{m_i} \exp \sum_{v=1}^{h} a_i (\theta - b_{iv})}

  (the empty sum for :math:`k = 0` is 0). The **partial credit model** (PCM; Masters, 1982)
  is the GPCM with :math:`a_i = 1`.

* the **graded response model** (GRM; Samejima, 1969), with slope :math:`a_i` and strictly
  increasing boundaries :math:`b_{i1} < \dots < b_{im_i}`,

  .. math::
      P^*_{ik}(\theta) = \frac{1}{1 + e^{-a_i(\theta - b_{ik})}}, \quad
      P^*_{i0} = 1, \quad P^*_{i,m_i+1} = 0, \qquad
      P_{ik}(\theta) = P^*_{ik}(\theta) - P^*_{i,k+1}(\theta)

* the dichotomous 1PL-4PL of :mod:`dreamseed.cat.irt` (:math:`m_i = 1`, category 1 =
  correct): :math:`P_{i1} = c_i + (d_i - c_i) / (1 + e^{-a_i(\theta - b_i)})`.

With two categories the GPCM and the GRM are both the 2PL.

A **mixed bank** (:class:`PolyBank`) stores every item in the same arrays so that all
computations stay vectorised: a model code per item (:data:`MODEL_DICHOTOMOUS`,
:data:`MODEL_GPCM`, :data:`MODEL_GRM`), the slope ``a``, a threshold matrix of shape
``(n, M)`` padded with NaN beyond each item's :math:`m_i` (``M`` is the largest
:math:`m_i`; a dichotomous item's ``b`` is its single threshold), the category counts
:math:`m_i + 1`, and the asymptotes ``c, d`` (0 and 1 for polytomous items). Functions
evaluate each model on its group of items at once and scatter the results into arrays of
shape ``theta.shape + (n, K)`` with :math:`K = M + 1` categories; the probabilities of the
categories an item does not have are 0.

Fisher information of an item is

.. math:: I_i(\theta) = \sum_{k=0}^{m_i} \frac{P_{ik}'(\theta)^2}{P_{ik}(\theta)}

which for the GPCM equals :math:`a_i^2 \operatorname{Var}_i(k \mid \theta)`, the squared slope
times the variance of the item score, and for a dichotomous item is the formula of
:func:`dreamseed.cat.irt.information`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .exceptions import EmptyBankError, InvalidParametersError, InvalidResponsesError
from .irt import PROBABILITY_FLOOR, validate_params

#: Model codes of a :class:`PolyBank`.
MODEL_DICHOTOMOUS = 0
MODEL_GPCM = 1
MODEL_GRM = 2
#: Names accepted by :func:`make_bank` (``"PCM"`` is the GPCM with ``a = 1``; ``"1PL"`` to
#: ``"4PL"`` are dichotomous) and their codes.
MODEL_CODES = {
    "1PL": MODEL_DICHOTOMOUS,
    "2PL": MODEL_DICHOTOMOUS,
    "3PL": MODEL_DICHOTOMOUS,
    "4PL": MODEL_DICHOTOMOUS,
    "GPCM": MODEL_GPCM,
    "PCM": MODEL_GPCM,
    "GRM": MODEL_GRM,
}
#: Name of each model code, as written to files.
MODEL_NAMES = {MODEL_DICHOTOMOUS: "dichotomous", MODEL_GPCM: "GPCM", MODEL_GRM: "GRM"}
#: Largest number of score categories an item may have.
MAX_CATEGORIES = 20


@dataclass(frozen=True, eq=False)
class PolyBank:
    """A validated mixed bank of dichotomous, GPCM and GRM items (build it with
    :func:`make_bank` or :meth:`from_dichotomous`).

    Attributes
    ----------
    model : numpy.ndarray of int8, shape (n,)
        :data:`MODEL_DICHOTOMOUS`, :data:`MODEL_GPCM` or :data:`MODEL_GRM`.
    a : numpy.ndarray, shape (n,)
        Slopes, > 0.
    thresholds : numpy.ndarray, shape (n, M)
        Row ``i`` holds :math:`b_{i1}, \\dots, b_{im_i}` then NaN.
    n_categories : numpy.ndarray of int, shape (n,)
        :math:`m_i + 1`, at least 2.
    c, d : numpy.ndarray, shape (n,)
        Asymptotes of dichotomous items (0 and 1 for polytomous items).
    valid : numpy.ndarray of bool, shape (n, M)
        Derived: which threshold cells hold a value.
    groups : dict of int to numpy.ndarray
        Derived: the items of each model code.
    row_offsets : numpy.ndarray, shape (n,)
        Derived: first row of each item in per-(item, category) tables (cumulative category
        counts), as :class:`~dreamseed.cat.adaptive_poly.PolyItemPool` and the calibration use.
    """

    model: np.ndarray
    a: np.ndarray
    thresholds: np.ndarray
    n_categories: np.ndarray
    c: np.ndarray
    d: np.ndarray

    def __post_init__(self):
        valid = np.arange(self.thresholds.shape[1]) < (self.n_categories - 1)[:, None]
        groups = {
            code: np.flatnonzero(self.model == code)
            for code in (MODEL_DICHOTOMOUS, MODEL_GPCM, MODEL_GRM)
        }
        object.__setattr__(self, "valid", _frozen(valid))
        object.__setattr__(self, "groups", groups)
        offsets = np.concatenate([[0], np.cumsum(self.n_categories)[:-1]]).astype(np.intp)
        object.__setattr__(self, "row_offsets", _frozen(offsets))
        # Per non-empty group, its items' arrays (thresholds trimmed to the group's widest
        # item), gathered once so each evaluation does no fancy indexing.
        parts = []
        for code, items in groups.items():
            if len(items):
                width = max(int(self.n_categories[items].max()) - 1, 1)
                whole = len(items) == len(self.a)  # one model: no scatter needed
                parts.append(
                    (
                        code,
                        slice(None) if whole else items,
                        self.a[items],
                        np.ascontiguousarray(self.thresholds[items, :width]),
                        np.ascontiguousarray(valid[items, :width]),
                        self.c[items],
                        self.d[items],
                    )
                )
        object.__setattr__(self, "_group_arrays", tuple(parts))

    # --- sizes ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.a)

    @property
    def n_items(self) -> int:
        return len(self.a)

    @property
    def max_categories(self) -> int:
        """:math:`K = M + 1`, the category axis of every per-category array."""
        return self.thresholds.shape[1] + 1

    @property
    def n_rows(self) -> int:
        """Total number of (item, category) pairs: rows of per-category tables."""
        return int(self.n_categories.sum())

    @property
    def is_dichotomous(self) -> bool:
        return bool((self.model == MODEL_DICHOTOMOUS).all())

    def __repr__(self) -> str:
        counts = {MODEL_NAMES[code]: len(items) for code, items in self.groups.items()}
        parts = ", ".join(f"{count} {name}" for name, count in counts.items() if count)
        return f"<PolyBank {self.n_items} items: {parts}>"

    # --- conversions ------------------------------------------------------------------------

    @classmethod
    def from_dichotomous(cls, params) -> PolyBank:
        """A mixed bank holding the dichotomous items of an ``(n, 4)`` ``[a, b, c, d]`` array."""
        params = validate_params(params)
        n = len(params)
        return cls(
            model=_frozen(np.full(n, MODEL_DICHOTOMOUS, dtype=np.int8)),
            a=_frozen(params[:, 0].copy()),
            thresholds=_frozen(params[:, 1:2].copy()),
            n_categories=_frozen(np.full(n, 2, dtype=np.intp)),
            c=_frozen(params[:, 2].copy()),
            d=_frozen(params[:, 3].copy()),
        )

    def subset(self, items) -> PolyBank:
        """The bank of items ``items`` (indices), thresholds trimmed to their largest ``m``."""
        items = np.asarray(items, dtype=np.intp)
        n_categories = self.n_categories[items]
        width = max(int(n_categories.max()) - 1, 1) if len(items) else 1
        return PolyBank(
            model=_frozen(self.model[items]),
            a=_frozen(self.a[items]),
            thresholds=_frozen(np.ascontiguousarray(self.thresholds[items, :width])),
            n_categories=_frozen(n_categories),
            c=_frozen(self.c[items]),
            d=_frozen(self.d[items]),
        )

    def dichotomous_params(self) -> np.ndarray:
        """``(n, 4)`` ``[a, b, c, d]`` array of an all-dichotomous bank."""
        if not self.is_dichotomous:
            raise InvalidParametersError("the bank has polytomous items: no [a, b, c, d] form")
        return np.column_stack([self.a, self.thresholds[:, 0], self.c, self.d])

    def item_row(self, item: int) -> tuple[int, float, list[float], float, float]:
        """``(model, a, [b_1..b_m], c, d)`` of one item, as Python numbers."""
        m = int(self.n_categories[item]) - 1
        return (
            int(self.model[item]),
            float(self.a[item]),
            self.thresholds[item, :m].tolist(),
            float(self.c[item]),
            float(self.d[item]),
        )


def make_bank(
    a,
    thresholds,
    model: Sequence[str] | str = "GPCM",
    *,
    c=0.0,
    d=1.0,
) -> PolyBank:
    """Build and validate a :class:`PolyBank`.

    Parameters
    ----------
    a : float or array_like, shape (n,)
        Slopes (ignored, i.e. set to 1, for ``"PCM"`` and ``"1PL"`` items).
    thresholds : array_like, shape (n, M), or sequence of n sequences
        Per item :math:`b_1, \\dots, b_m`; shorter rows (or NaN/None padding) give items with
        fewer categories. A dichotomous item has exactly one threshold, its difficulty ``b``.
    model : str or sequence of str
        Per item (or one for all): ``"1PL"``, ``"2PL"``, ``"3PL"``, ``"4PL"``, ``"GPCM"``,
        ``"PCM"`` or ``"GRM"`` (see :data:`MODEL_CODES`).
    c, d : float or array_like, shape (n,)
        Asymptotes of dichotomous items; polytomous items must keep ``c = 0`` and ``d = 1``.

    Raises
    ------
    EmptyBankError
        No items.
    InvalidParametersError
        A non-finite value, ``a <= 0``, a dichotomous item without exactly one threshold, a
        polytomous item with fewer than 2 or more than :data:`MAX_CATEGORIES` categories, GRM
        boundaries not strictly increasing, a gap in a row of thresholds, or bad ``c``/``d``.
        The message names the first offending item.
    """
    rows = _threshold_rows(thresholds)
    n = len(rows)
    if n == 0:
        raise EmptyBankError("the item bank is empty: at least one item is needed")
    names = [model] * n if isinstance(model, str) else [str(m) for m in model]
    if len(names) != n:
        raise InvalidParametersError(f"{len(names)} model names for {n} items: lengths must match")
    codes = np.empty(n, dtype=np.int8)
    for item, name in enumerate(names):
        if name not in MODEL_CODES:
            raise InvalidParametersError(
                f"item {item}: unknown model {name!r}: choose one of {', '.join(MODEL_CODES)}",
                item=item,
                column="model",
            )
        codes[item] = MODEL_CODES[name]
    a = _column(a, n, "a")
    fixed_slope = np.array([name in ("PCM", "1PL") for name in names])
    a = np.where(fixed_slope, 1.0, a)
    c, d = _column(c, n, "c"), _column(d, n, "d")

    width = max(max(len(row) for row in rows), 1)
    matrix = np.full((n, width), np.nan)
    n_categories = np.empty(n, dtype=np.intp)
    for item, row in enumerate(rows):
        missing = [_is_nan(value) for value in row]
        count = missing.index(True) if True in missing else len(row)
        if not all(missing[count:]):
            raise InvalidParametersError(
                f"item {item}: thresholds must come first in the row, padding (empty) after",
                item=item,
                column="thresholds",
            )
        matrix[item, :count] = row[:count]
        n_categories[item] = count + 1
    return _validated(codes, a, matrix, n_categories, c, d)


def _validated(codes, a, matrix, n_categories, c, d) -> PolyBank:
    valid = np.arange(matrix.shape[1]) < (n_categories - 1)[:, None]
    dichotomous = codes == MODEL_DICHOTOMOUS
    polytomous = ~dichotomous
    _first(~np.isfinite(a), "a is not a finite number", "a")
    _first(a <= 0, "discrimination a must be > 0", "a")
    _first(valid & ~np.isfinite(matrix), "a threshold is not a finite number", "thresholds")
    _first(n_categories < 2, "an item needs at least one threshold (2 categories)", "thresholds")
    _first(
        dichotomous & (n_categories != 2),
        "a dichotomous item has exactly one threshold, its difficulty b",
        "thresholds",
    )
    _first(
        n_categories > MAX_CATEGORIES,
        f"an item may have at most {MAX_CATEGORIES} categories",
        "thresholds",
    )
    steps = np.diff(matrix, axis=1)
    disordered = (codes == MODEL_GRM) & (valid[:, 1:] & ~(steps > 0)).any(axis=1)
    _first(disordered, "GRM boundaries must be strictly increasing", "thresholds")
    _first(~np.isfinite(c) | ~np.isfinite(d), "c and d must be finite numbers", "c")
    _first(dichotomous & ((c < 0) | (c >= 1)), "guessing c must be in [0, 1)", "c")
    _first(dichotomous & ((d <= c) | (d > 1)), "upper asymptote d must be in (c, 1]", "d")
    _first(polytomous & ((c != 0) | (d != 1)), "a polytomous item has c = 0 and d = 1", "c")
    return PolyBank(
        model=_frozen(codes.astype(np.int8)),
        a=_frozen(a.astype(float)),
        thresholds=_frozen(np.where(valid, matrix, np.nan)),
        n_categories=_frozen(n_categories.astype(np.intp)),
        c=_frozen(c.astype(float)),
        d=_frozen(d.astype(float)),
    )


def as_bank(bank) -> PolyBank:
    """A :class:`PolyBank` as is, or an ``(n, 4)`` dichotomous parameter array converted."""
    if isinstance(bank, PolyBank):
        return bank
    return PolyBank.from_dichotomous(bank)


# --- category probabilities and their derivatives ------------------------------------------------


def category_probabilities(theta, bank: PolyBank) -> np.ndarray:
    """:math:`P_{ik}(\\theta)` of every item and category.

    Parameters
    ----------
    theta : float or array_like
    bank : PolyBank

    Returns
    -------
    numpy.ndarray, shape ``theta.shape + (n, K)``
        Rows sum to 1; categories beyond an item's :math:`m_i` are 0.
    """
    return category_terms(theta, bank, order=0)[0]


def category_terms(theta, bank: PolyBank, order: int = 2):
    r"""Probabilities and their first ``order`` derivatives in :math:`\theta`.

    Derivatives, with :math:`\mu = \sum_k k P_k` and :math:`\sigma^2 = \sum_k (k - \mu)^2 P_k`:

    * GPCM: :math:`P_k' = a P_k (k - \mu)`,
      :math:`P_k'' = a^2 P_k \big((k - \mu)^2 - \sigma^2\big)`.
    * GRM: :math:`P_k' = D_k - D_{k+1}` with :math:`D_k = a P^*_k (1 - P^*_k)`, and
      :math:`P_k'' = E_k - E_{k+1}` with :math:`E_k = a D_k (1 - 2 P^*_k)`.
    * Dichotomous: :math:`P_1' = a (d - c) L (1 - L) = -P_0'`,
      :math:`P_1'' = a P_1' (1 - 2L) = -P_0''` with :math:`L` the logistic.

    Returns
    -------
    list of numpy.ndarray
        ``[P]``, ``[P, P']`` or ``[P, P', P'']``, each of shape ``theta.shape + (n, K)``.
    """
    theta = np.asarray(theta, dtype=float)
    shape = (*theta.shape, bank.n_items, bank.max_categories)
    out = [np.zeros(shape) for _ in range(order + 1)]
    t = theta[..., None]
    for code, items, a, thresholds, valid, c, d in bank._group_arrays:
        if code == MODEL_DICHOTOMOUS:
            parts = _dichotomous_terms(t, a, thresholds[:, 0], c, d, order)
        elif code == MODEL_GPCM:
            parts = _gpcm_terms(t, a, thresholds, valid, order)
        else:
            parts = _grm_terms(t, a, thresholds, valid, order)
        for target, part in zip(out, parts, strict=True):
            target[..., items, : part.shape[-1]] = part
    return out


def _dichotomous_terms(t, a, b, c, d, order):
    z = a * (t - b)
    logistic, complement = expit(z), expit(-z)
    p1 = c + (d - c) * logistic
    p0 = (1.0 - d) + (d - c) * complement
    parts = [np.stack([p0, p1], axis=-1)]
    if order >= 1:
        first = a * (d - c) * logistic * complement
        parts.append(np.stack([-first, first], axis=-1))
    if order >= 2:
        second = a * first * (complement - logistic)
        parts.append(np.stack([-second, second], axis=-1))
    return parts


def _gpcm_terms(t, a, thresholds, valid, order):
    # s_k = sum_{v <= k} a (theta - b_v); categories an item lacks get -inf (probability 0).
    steps = np.where(valid, a[:, None] * (t[..., None] - np.nan_to_num(thresholds)), 0.0)
    cumulative = np.cumsum(steps, axis=-1)
    zeros = np.zeros((*cumulative.shape[:-1], 1))
    s = np.concatenate([zeros, cumulative], axis=-1)
    has_category = np.concatenate([np.ones((len(a), 1), dtype=bool), valid], axis=1)
    s = np.where(has_category, s, -np.inf)
    s -= s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    parts = [p]
    if order >= 1:
        k = np.arange(p.shape[-1], dtype=float)
        mean = (p * k).sum(axis=-1, keepdims=True)
        centred = k - mean
        slope = a[:, None]
        parts.append(slope * p * centred)
        if order >= 2:
            variance = (p * centred * centred).sum(axis=-1, keepdims=True)
            parts.append(slope * slope * p * (centred * centred - variance))
    return parts


def _grm_terms(t, a, thresholds, valid, order):
    z = a[:, None] * (t[..., None] - np.nan_to_num(thresholds))
    upper = np.where(valid, expit(z), 0.0)  # P*_1..P*_M (0 beyond m)
    lower = np.where(valid, expit(-z), 1.0)  # 1 - P*
    ones = np.ones((*upper.shape[:-1], 1))
    zeros = np.zeros((*upper.shape[:-1], 1))
    star = np.concatenate([ones, upper, zeros], axis=-1)  # P*_0..P*_{M+1}
    # P_0 = 1 - P*_1 computed as expit(-z_1) to avoid cancellation.
    p = star[..., :-1] - star[..., 1:]
    p[..., 0] = lower[..., 0]
    parts = [np.clip(p, 0.0, None)]
    if order >= 1:
        density = np.concatenate([zeros, a[:, None] * upper * lower, zeros], axis=-1)
        parts.append(density[..., :-1] - density[..., 1:])
        if order >= 2:
            slope = np.concatenate([zeros, a[:, None] * (lower - upper), zeros], axis=-1)
            curvature = density * slope
            parts.append(curvature[..., :-1] - curvature[..., 1:])
    return parts


# --- information and likelihood ----------------------------------------------------------------


def information(theta, bank: PolyBank) -> np.ndarray:
    r"""Fisher information of each item, :math:`\sum_k P_{ik}'^2 / P_{ik}`.

    Terms are exact down to the smallest positive probability (no floor), so the GPCM value
    equals :math:`a^2 \operatorname{Var}(k)` to rounding.

    Returns
    -------
    numpy.ndarray, shape ``theta.shape + (n,)``
    """
    p, first = category_terms(theta, bank, order=1)
    return (first * first / positive(p)).sum(axis=-1)


def positive(p: np.ndarray) -> np.ndarray:
    """``p`` with its zeros replaced by 1, a divisor for :math:`P'^2 / P` terms: a category
    whose probability underflows to 0 has :math:`P' = 0` too and contributes nothing."""
    return np.where(p > 0, p, 1.0)


def test_information(theta, bank: PolyBank) -> np.ndarray:
    r"""Test information :math:`I(\theta) = \sum_i I_i(\theta)`, shape ``theta.shape``."""
    return information(theta, bank).sum(axis=-1)


test_information.__test__ = False  # not a pytest test despite its name


def expected_score(theta, bank: PolyBank) -> np.ndarray:
    r"""Expected item score :math:`\sum_k k P_{ik}(\theta)`, shape ``theta.shape + (n,)``."""
    p = category_probabilities(theta, bank)
    return p @ np.arange(bank.max_categories, dtype=float)


def log_category_probabilities(theta, bank: PolyBank) -> np.ndarray:
    r""":math:`\ln P_{ik}(\theta)`, floored at :data:`~dreamseed.cat.irt.PROBABILITY_FLOOR`,
    shape ``theta.shape + (n, K)`` (categories an item lacks hold the floor's log)."""
    return np.log(np.clip(category_probabilities(theta, bank), PROBABILITY_FLOOR, None))


def log_likelihood(theta, bank: PolyBank, responses) -> np.ndarray:
    r"""Log-likelihood of a scored pattern, :math:`\ell(\theta) = \sum_i \ln P_{i x_i}(\theta)`.

    Parameters
    ----------
    theta : float or array_like
    bank : PolyBank
    responses : array_like of int, shape (n,)
        Item scores :math:`x_i \in \{0, \dots, m_i\}`.

    Returns
    -------
    numpy.ndarray, shape ``theta.shape``
    """
    responses = check_scores(responses, bank)
    log_p = log_category_probabilities(theta, bank)
    picked = np.take_along_axis(log_p, _broadcast_index(responses, log_p), axis=-1)
    return picked[..., 0].sum(axis=-1)


def check_scores(responses, bank: PolyBank) -> np.ndarray:
    """Validate item scores against a bank and return them as an ``intp`` array.

    Raises
    ------
    InvalidResponsesError
        Not one-dimensional, a length other than the bank's, a non-integer score, or a score
        outside ``0..m_i`` (the message names the response and the item's largest score).
    """
    array = np.asarray(responses)
    if array.ndim != 1:
        raise InvalidResponsesError(f"responses must be one-dimensional; got shape {array.shape}")
    if array.shape[0] != bank.n_items:
        raise InvalidResponsesError(
            f"{array.shape[0]} responses for {bank.n_items} items: lengths must match"
        )
    if array.dtype == bool:
        return array.astype(np.intp)
    if not np.issubdtype(array.dtype, np.number):
        raise InvalidResponsesError(f"responses must be integer scores; got dtype {array.dtype}")
    as_float = array.astype(float)
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float))
    bad |= (as_float < 0) | (as_float > bank.n_categories - 1)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        top = int(bank.n_categories[index]) - 1
        raise InvalidResponsesError(
            f"response {index} is {array[index].item()!r}: item {index} is scored 0 to {top}"
        )
    return as_float.astype(np.intp)


def _broadcast_index(responses, target) -> np.ndarray:
    return np.broadcast_to(responses[:, None], (*target.shape[:-1], 1))


# --- per-step scalar helpers --------------------------------------------------------------------


def item_information_scalar(theta: float, model: int, a: float, thresholds, c, d) -> float:
    """Information of one item at one ability in plain float arithmetic (per-step use).

    Same values as :func:`information`; ``thresholds`` is the list :math:`b_1..b_m`.
    """
    if model == MODEL_DICHOTOMOUS:
        z = a * (theta - thresholds[0])
        logistic = _expit(z)
        complement = _expit(-z)
        p = c + (d - c) * logistic
        q = (1.0 - d) + (d - c) * complement
        slope = a * (d - c) * logistic * complement
        return slope * slope / max(p * q, PROBABILITY_FLOOR)
    if model == MODEL_GPCM:
        sums, total = [0.0], 0.0
        for b in thresholds:
            total += a * (theta - b)
            sums.append(total)
        top = max(sums)
        weights = [math.exp(s - top) for s in sums]
        norm = sum(weights)
        mean = sum(k * w for k, w in enumerate(weights)) / norm
        second = sum(k * k * w for k, w in enumerate(weights)) / norm
        return a * a * max(second - mean * mean, 0.0)
    stars = [1.0] + [_expit(a * (theta - b)) for b in thresholds] + [0.0]
    densities = [a * s * (1.0 - s) for s in stars]
    info = 0.0
    for k in range(len(stars) - 1):
        p = stars[k] - stars[k + 1]
        slope = densities[k] - densities[k + 1]
        info += slope * slope / max(p, PROBABILITY_FLOOR)
    return info


def category_probabilities_scalar(theta: float, model: int, a: float, thresholds, c, d):
    """Category probabilities of one item at one ability, as a list of floats (per-answer use
    in simulations); same values as :func:`category_probabilities`."""
    if model == MODEL_DICHOTOMOUS:
        p = c + (d - c) * _expit(a * (theta - thresholds[0]))
        return [1.0 - p, p]
    if model == MODEL_GPCM:
        sums, total = [0.0], 0.0
        for b in thresholds:
            total += a * (theta - b)
            sums.append(total)
        top = max(sums)
        weights = [math.exp(s - top) for s in sums]
        norm = sum(weights)
        return [w / norm for w in weights]
    stars = [1.0] + [_expit(a * (theta - b)) for b in thresholds] + [0.0]
    return [stars[k] - stars[k + 1] for k in range(len(stars) - 1)]


def draw_score(probabilities, u: float) -> int:
    r"""The score drawn by a uniform ``u`` in [0, 1): the largest ``k`` with
    :math:`u < P(X \ge k)`. For a dichotomous item this is ``1`` exactly when
    :math:`u < P_1`, the draw of :func:`dreamseed.cat.simulation.simulate`, so both
    simulations give the same answers from the same random stream."""
    tail, score = 1.0, 0
    for k in range(1, len(probabilities)):
        tail -= probabilities[k - 1]
        if u < tail:
            score = k
        else:
            break
    return score


def _expit(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# --- validation helpers ------------------------------------------------------------------------


def _threshold_rows(thresholds) -> list[list]:
    if isinstance(thresholds, np.ndarray):
        array = np.asarray(thresholds, dtype=float)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise InvalidParametersError(
                f"thresholds must be a matrix (n, M); got shape {array.shape}"
            )
        return [list(row) for row in array]
    rows = []
    for item, row in enumerate(thresholds):
        values = [row] if np.isscalar(row) else list(row)
        try:
            rows.append([None if v is None else float(v) for v in values])
        except (TypeError, ValueError):
            raise InvalidParametersError(
                f"item {item}: thresholds must be numbers; got {values!r}",
                item=item,
                column="thresholds",
            ) from None
    return rows


def _is_nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _column(values, n: int, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParametersError(f"{name} must be numbers", column=name) from None
    if array.ndim == 0:
        return np.full(n, float(array))
    if array.shape != (n,):
        raise InvalidParametersError(
            f"{name} has {array.size} values for {n} items: lengths must match", column=name
        )
    return array.copy()


def _first(mask: np.ndarray, problem: str, column: str) -> None:
    if not mask.any():
        return
    if mask.ndim == 2:
        item = int(np.argwhere(mask)[0][0])
        count = int(mask.any(axis=1).sum())
    else:
        item = int(np.flatnonzero(mask)[0])
        count = int(np.count_nonzero(mask))
    more = f" ({count - 1} more item(s) have the same problem)" if count > 1 else ""
    raise InvalidParametersError(f"item {item}: {problem}{more}", item=item, column=column)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    array.flags.writeable = False
    return array
