"""Item fit for dichotomous items: Orlando & Thissen's S-X2, and infit/outfit mean squares.

Both take long-format responses (one ``(person, item, response)`` triple per answer), so they
work on the sparse data an adaptive test produces.

**S-X2** (Orlando & Thissen, 2000) compares, for each summed score :math:`k`, the observed
proportion of persons with that score who answered item :math:`i` correctly with the
proportion the model expects, which needs no ability estimate:

.. math::
    E_{ik} = \\frac{\\int P_i(\\theta)\\, f^{(-i)}_{k-1}(\\theta)\\, \\phi(\\theta)\\, d\\theta}
                  {\\int f_k(\\theta)\\, \\phi(\\theta)\\, d\\theta}

where :math:`f_k` is the probability of summed score :math:`k` on the person's items
(Lord-Wingersky recursion) and :math:`f^{(-i)}` the same without item :math:`i`. In an
incomplete design every person has their own form, so :math:`E` is computed per person (each
on their own items) and averaged within score groups;
:math:`S\\text{-}X^2_i = \\sum_k N_k (O_{ik} - E_{ik})^2 / (E_{ik} (1 - E_{ik}))` with
:math:`G - m` degrees of freedom (:math:`G` score groups after collapsing sparse ones,
:math:`m` estimated parameters of the item). On adaptive data most persons score about half
their items, so there are few score groups and the test has little power: a small p-value
means misfit, a large one is weak evidence of fit.

**Infit and outfit** (Wright & Masters, 1982), with each person's ability estimate
:math:`\\hat\\theta_p`, :math:`P = P_i(\\hat\\theta_p)`, :math:`W = P (1 - P)`:

.. math::
    \\mathrm{outfit}_i = \\frac{1}{N_i} \\sum_p \\frac{(u_{pi} - P)^2}{W}, \\qquad
    \\mathrm{infit}_i = \\frac{\\sum_p (u_{pi} - P)^2}{\\sum_p W}

Both have expectation 1; above about 1.3 the answers are noisier than the model allows
(guessing, a flawed key), below about 0.7 they are more predictable than it allows.

**Adaptive data.** S-X2 conditions on the summed score as if each person's form were fixed;
in an adaptive test the items a person gets depend on their answers, and S-X2 then rejects
most items even when the model is true (about 70 % at the 5 % level on simulated CAT data).
:func:`prequential_fit` is the check that stays valid there: each answer is compared with its
probability given only the answers *before* it (exactly the information that chose the item),
:math:`E_{pi} = \\int P_i(\\theta)\\, \\pi(\\theta \\mid u_{p,<i})\\, d\\theta`, and
:math:`X^2_i = \\sum_g (O_g - E_g)^2 / \\sum_{p \\in g} E_{pi} (1 - E_{pi})` over groups
of persons with similar :math:`E_{pi}`, with :math:`G - m` degrees of freedom.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from .calibration import _check_long_data
from .irt import probability, validate_params

#: Quadrature for S-X2's integrals over a standard normal ability.
QUADRATURE_POINTS = 41
QUADRATURE_BOUNDS = (-5.0, 5.0)
#: Score groups are merged with their neighbours until each expects at least this many
#: correct and this many wrong answers (mirt's default ``mincell = 1``).
MIN_EXPECTED = 1.0
#: Mean squares outside this range are flagged.
MEAN_SQUARE_RANGE = (0.7, 1.3)
#: Persons per block in the S-X2 recursion (bounds memory: block x nodes x (length + 1)).
_BLOCK = 1000


def mean_squares(theta, item_idx, responses, params, *, person_idx=None, n_items=None):
    """Infit and outfit mean squares of every item.

    Parameters
    ----------
    theta : array_like, shape (r,) or (n_persons,)
        Ability of the person behind each response; or, with ``person_idx``, of each person.
    item_idx, responses : array_like, shape (r,)
    params : array_like, shape (n_items, 4)
    person_idx : array_like, shape (r,), optional
    n_items : int, optional

    Returns
    -------
    infit, outfit : numpy.ndarray, shape (n_items,)
        NaN for items without responses.
    """
    item = np.asarray(item_idx, dtype=np.intp)
    answer = np.asarray(responses, dtype=float)
    ability = np.asarray(theta, dtype=float)
    if person_idx is not None:
        ability = ability[np.asarray(person_idx, dtype=np.intp)]
    bank = validate_params(params)
    n_items = len(bank) if n_items is None else n_items
    a, b, c, d = (bank[item, k] for k in range(4))
    p = c + (d - c) / (1.0 + np.exp(-a * (ability - b)))
    p = np.clip(p, 1e-9, 1 - 1e-9)
    variance = p * (1 - p)
    squared = (answer - p) ** 2
    count = np.bincount(item, minlength=n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        outfit = np.bincount(item, weights=squared / variance, minlength=n_items) / count
        infit = np.bincount(item, weights=squared, minlength=n_items) / np.bincount(
            item, weights=variance, minlength=n_items
        )
    return infit, outfit


def s_x2(
    person_idx,
    item_idx,
    responses,
    params,
    *,
    n_estimated=2,
    min_expected: float = MIN_EXPECTED,
    quadrature_points: int = QUADRATURE_POINTS,
    quadrature_bounds: tuple[float, float] = QUADRATURE_BOUNDS,
):
    """Orlando-Thissen S-X2 of every item, its degrees of freedom and p-value.

    Parameters
    ----------
    person_idx, item_idx, responses : array_like, shape (r,)
        Long-format 0/1 responses; each person's summed score is over the items they answered.
    params : array_like, shape (n_items, 4)
        Parameters of every item answered (all must be valid).
    n_estimated : int or array_like of int
        Parameters estimated per item (1 for 1PL, 2 for 2PL, 3 for 3PL), subtracted from the
        number of score groups for the degrees of freedom.
    min_expected : float
        Adjacent score groups are merged until each has at least this many expected correct
        and expected wrong answers.

    Returns
    -------
    statistic, df, p_value : numpy.ndarray, shape (n_items,)
        NaN (and df 0) for items without responses or with too few score groups.
    """
    bank = validate_params(params)
    person, item, answer, n_persons, n_items = _check_long_data(
        person_idx, item_idx, responses, None, len(bank)
    )
    estimated = np.broadcast_to(np.asarray(n_estimated, dtype=int), (n_items,))
    grid = np.linspace(*quadrature_bounds, quadrature_points)
    weights = np.exp(-0.5 * grid**2)
    weights /= weights.sum()
    p_grid = probability(grid, bank).T  # (items, Q)

    # Each person's items in a padded (persons, length) table; padding answers nothing (P = 0).
    order = np.lexsort((item, person))
    person, item, answer = person[order], item[order], answer[order]
    lengths = np.bincount(person, minlength=n_persons)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    slot = np.arange(len(person)) - starts[person]
    length = int(lengths.max())
    items = np.full((n_persons, length), -1, dtype=np.intp)
    items[person, slot] = item
    scores = np.bincount(person, weights=answer, minlength=n_persons).astype(np.intp)

    expected = np.zeros(len(person))  # E(u_pi | score k_p) per response, aligned with `order`
    position = np.full((n_persons, length), -1, dtype=np.intp)
    position[person, slot] = np.arange(len(person))
    for start in range(0, n_persons, _BLOCK):
        block = slice(start, min(start + _BLOCK, n_persons))
        expected_block = _expected_given_score(
            items[block], scores[block], p_grid, weights
        )  # (block, length)
        filled = position[block] >= 0
        expected[position[block][filled]] = expected_block[filled]

    statistic = np.full(n_items, np.nan)
    df = np.zeros(n_items, dtype=int)
    for i in np.unique(item).tolist():  # one short pass per item over its score groups
        mine = item == i
        groups = scores[person[mine]]
        observed, predicted, counts = _collapse(groups, answer[mine], expected[mine], min_expected)
        degrees = len(counts) - int(estimated[i])
        if degrees < 1:
            continue
        rate = predicted / counts
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = counts * (observed / counts - rate) ** 2 / (rate * (1 - rate))
        statistic[i] = float(np.nansum(terms))
        df[i] = degrees
    p_value = np.where(df > 0, chi2.sf(statistic, np.maximum(df, 1)), np.nan)
    return statistic, df, p_value


def _expected_given_score(items, scores, p_grid, weights):
    """For each person and each of their items, P(correct | the person's summed score)."""
    n, length = items.shape
    present = items >= 0
    p = np.where(present[:, :, None], p_grid[np.where(present, items, 0)], 0.0)  # (n, L, Q)
    q = 1.0 - p
    # Lord-Wingersky over all of the person's items: f[n, k, Q].
    full = np.zeros((n, length + 1, p.shape[2]))
    full[:, 0] = 1.0
    for j in range(length):
        shifted = np.zeros_like(full)
        shifted[:, 1:] = full[:, :-1] * p[:, j, None, :]
        full = full * q[:, j, None, :] + shifted
    rows = np.arange(n)
    denominator = full[rows, scores] @ weights  # (n,)
    out = np.zeros((n, length))
    for j in range(length):
        # Divide item j out of the recursion, from whichever side is numerically stable.
        without = _remove_item(full, p[:, j], q[:, j])
        previous = np.where(scores > 0, scores - 1, 0)
        numerator = (p[:, j] * without[rows, previous]) @ weights
        numerator = np.where(scores > 0, numerator, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, j] = np.where(denominator > 0, numerator / denominator, np.nan)
    return out


def _remove_item(full, p, q):
    """Score distribution without one item, from f_k = g_k q + g_{k-1} p (shapes (n, K, Q))."""
    size = full.shape[1]
    # Both recursions are computed everywhere and the stable one is kept per node; the other
    # may overflow where its divisor is tiny, which is expected and discarded below.
    with np.errstate(over="ignore", invalid="ignore"):
        forward = np.zeros_like(full)  # from k = 0 upwards: g_k = (f_k - g_{k-1} p) / q
        safe_q = np.maximum(q, 1e-300)
        forward[:, 0] = full[:, 0] / safe_q
        for k in range(1, size):
            forward[:, k] = (full[:, k] - forward[:, k - 1] * p) / safe_q
        backward = np.zeros_like(full)  # from the top down: g_{k-1} = (f_k - g_k q) / p
        safe_p = np.maximum(p, 1e-300)
        for k in range(size - 1, 0, -1):
            upper = backward[:, k] if k < size - 1 else 0.0
            backward[:, k - 1] = (full[:, k] - upper * q) / safe_p
    use_forward = (q >= 0.5)[:, None, :]
    return np.clip(np.where(use_forward, forward, backward), 0.0, None)


def _collapse(groups, answers, expected, min_expected):
    """Observed correct, expected correct and counts per score group, merging neighbours until
    each group expects at least `min_expected` correct and wrong answers."""
    keys, inverse = np.unique(groups, return_inverse=True)
    observed = np.bincount(inverse, weights=answers)
    predicted = np.bincount(inverse, weights=np.nan_to_num(expected))
    counts = np.bincount(inverse).astype(float)
    merged_o, merged_e, merged_n = [], [], []
    o = e = n = 0.0
    for k in range(len(keys)):
        o, e, n = o + observed[k], e + predicted[k], n + counts[k]
        if e >= min_expected and n - e >= min_expected:
            merged_o.append(o)
            merged_e.append(e)
            merged_n.append(n)
            o = e = n = 0.0
    if n > 0 and merged_n:  # a thin tail joins the last full group
        merged_o[-1] += o
        merged_e[-1] += e
        merged_n[-1] += n
    return np.array(merged_o), np.array(merged_e), np.array(merged_n)


#: Groups of the prequential check (by expected probability), and least answers per group.
PREQUENTIAL_GROUPS = 10
PREQUENTIAL_MIN_GROUP = 10


def prequential_fit(
    person_idx,
    item_idx,
    responses,
    order,
    params,
    *,
    n_estimated=2,
    quadrature_points: int = QUADRATURE_POINTS,
    quadrature_bounds: tuple[float, float] = QUADRATURE_BOUNDS,
):
    """Fit of every item on adaptive data: answers against their probability given the
    person's earlier answers (see the module docstring).

    Parameters
    ----------
    person_idx, item_idx, responses : array_like, shape (r,)
    order : array_like, shape (r,)
        Position of each answer within its person's test (any increasing numbers).
    params : array_like, shape (n_items, 4)
    n_estimated : int or array_like of int

    Returns
    -------
    statistic, df, p_value : numpy.ndarray, shape (n_items,)
    """
    bank = validate_params(params)
    person, item, answer, _n_persons, n_items = _check_long_data(
        person_idx, item_idx, responses, None, len(bank)
    )
    position = np.asarray(order, dtype=float)
    estimated = np.broadcast_to(np.asarray(n_estimated, dtype=int), (n_items,))
    sort = np.lexsort((position, person))
    person, item, answer = person[sort], item[sort], answer[sort]
    grid = np.linspace(*quadrature_bounds, quadrature_points)
    p_grid = np.clip(probability(grid, bank).T, 1e-12, 1 - 1e-12)  # (items, Q)
    rows = np.where(answer[:, None] == 1, np.log(p_grid[item]), np.log1p(-p_grid[item]))
    running = np.cumsum(rows, axis=0)
    # Log-likelihood of the answers before each one, within its person: an exclusive prefix sum.
    first = np.flatnonzero(np.r_[True, person[1:] != person[:-1]])
    starts = np.repeat(first, np.diff(np.r_[first, len(person)]))
    before_start = np.where(starts[:, None] > 0, running[np.maximum(starts - 1, 0)], 0.0)
    prefix = running - rows - before_start
    prefix += -0.5 * grid**2
    prefix -= prefix.max(axis=1, keepdims=True)
    posterior = np.exp(prefix)
    posterior /= posterior.sum(axis=1, keepdims=True)
    expected = (posterior * p_grid[item]).sum(axis=1)

    statistic = np.full(n_items, np.nan)
    df = np.zeros(n_items, dtype=int)
    for i in np.unique(item).tolist():  # a short pass per item over its groups
        mine = np.flatnonzero(item == i)
        n_groups = min(PREQUENTIAL_GROUPS, len(mine) // PREQUENTIAL_MIN_GROUP)
        degrees = n_groups - int(estimated[i])
        if degrees < 1:
            continue
        ranked = mine[np.argsort(expected[mine], kind="stable")]
        chi = 0.0
        for group in np.array_split(ranked, n_groups):
            variance = float((expected[group] * (1 - expected[group])).sum())
            chi += (answer[group].sum() - expected[group].sum()) ** 2 / max(variance, 1e-12)
        statistic[i] = chi
        df[i] = degrees
    p_value = np.where(df > 0, chi2.sf(statistic, np.maximum(df, 1)), np.nan)
    return statistic, df, p_value


def flag_mean_square(infit, outfit, low=MEAN_SQUARE_RANGE[0], high=MEAN_SQUARE_RANGE[1]):
    """True where infit or outfit lies outside ``[low, high]``."""
    infit, outfit = np.asarray(infit, dtype=float), np.asarray(outfit, dtype=float)
    outside = lambda x: np.isfinite(x) & ((x < low) | (x > high))  # noqa: E731
    return outside(infit) | outside(outfit)
