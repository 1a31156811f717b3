"""Adaptive tests on mixed banks of dichotomous, GPCM and GRM items.

:class:`PolyItemPool` is an :class:`~dreamseed.cat.pool.ItemPool` whose tables come from a
:class:`~dreamseed.cat.polytomous.PolyBank`:

* ``selection_order`` sorts the items by decreasing Fisher information
  :math:`\\sum_k P_{ik}'^2 / P_{ik}` at each point of the selection grid, so every selector
  of :mod:`dreamseed.cat.selection` (maximum information, randomesque, Sympson-Hetter, and
  Kingsbury-Zara content balancing) works on a mixed pool unchanged:
  :func:`dreamseed.cat.selection.select_item` accepts a :class:`PolyItemPool`.
* ``response_log_table`` holds :math:`\\ln P_{ik}(\\theta_q)` in row
  ``row_offsets[i] + k``, so an EAP posterior is the prior plus one row per answered item,
  whatever the item's number of categories.

:func:`dreamseed.cat.step.cat_step`, :class:`dreamseed.cat.step.CatSession` and
:func:`dreamseed.cat.simulation.simulate` run on a :class:`PolyItemPool` as they are, with item
scores :math:`0..m_i` as responses: the pool answers what differs (``response_rows``,
``check_answers``, ``check_answer``, ``point_estimate``, ``item_information``).
``poly_cat_step``, ``PolyCatSession`` and ``simulate_poly`` are their names here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .estimation import (
    QUADRATURE_BOUNDS,
    QUADRATURE_POINTS,
    THETA_BOUNDS,
    Prior,
    quadrature_grid,
)
from .estimation_poly import map_poly, mle_poly, wle_poly
from .exceptions import InvalidResponsesError
from .polytomous import (
    PolyBank,
    as_bank,
    category_probabilities,
    information,
    item_information_scalar,
    log_category_probabilities,
)
from .pool import SELECTION_GRID_BOUNDS, SELECTION_GRID_STEP, ItemPool, _read_only
from .simulation import simulate
from .step import CatSession, cat_step


class PolyItemPool(ItemPool):
    """A mixed item pool with precomputed selection and estimation tables.

    Parameters
    ----------
    bank : PolyBank or array_like, shape (n, 4)
        The items (a dichotomous ``[a, b, c, d]`` array is converted).
    ids, content, exposure_k, quadrature_points, quadrature_bounds, selection_step,
    selection_bounds :
        As for :class:`~dreamseed.cat.pool.ItemPool`.

    Attributes
    ----------
    bank : PolyBank
    row_offsets : numpy.ndarray, shape (n,)
        First row of each item in ``response_log_table``.
    max_score : numpy.ndarray, shape (n,)
        Largest score :math:`m_i` of each item.
    params : numpy.ndarray or None
        ``[a, b, c, d]`` when every item is dichotomous, else None.
    """

    def __init__(
        self,
        bank,
        *,
        ids: Sequence[str] | None = None,
        content: Sequence[str] | None = None,
        exposure_k=None,
        quadrature_points: int = QUADRATURE_POINTS,
        quadrature_bounds=QUADRATURE_BOUNDS,
        selection_step: float = SELECTION_GRID_STEP,
        selection_bounds=SELECTION_GRID_BOUNDS,
    ):
        self.bank = as_bank(bank)
        n = self.bank.n_items
        self.params = (
            _read_only(self.bank.dichotomous_params()) if self.bank.is_dichotomous else None
        )
        self.ids = self._check_ids(ids, n)
        self.index_by_id = {item_id: i for i, item_id in enumerate(self.ids)} if self.ids else {}
        self.content_labels, self.content = self._check_content(content, n)
        self.exposure_k = self._check_exposure(exposure_k, n)
        self.row_offsets = self.bank.row_offsets
        self.max_score = _read_only(self.bank.n_categories - 1)
        self._items = [self.bank.item_row(i) for i in range(n)]  # for per-step information

        self.quadrature = _read_only(quadrature_grid(quadrature_points, quadrature_bounds))
        grid = self.quadrature
        self.quadrature_moments = _read_only(np.vstack([np.ones_like(grid), grid, grid * grid]))
        log_p = log_category_probabilities(grid, self.bank)  # (Q, n, K)
        has_category = np.arange(self.bank.max_categories) < self.bank.n_categories[:, None]
        self.response_log_table = _read_only(
            np.ascontiguousarray(log_p.transpose(1, 2, 0)[has_category])
        )
        self._log_priors: dict[Prior, np.ndarray] = {}

        self._selection_setup(n, selection_bounds, selection_step)

    @property
    def n_items(self) -> int:
        return self.bank.n_items

    def __len__(self) -> int:
        return self.bank.n_items

    def __repr__(self) -> str:
        areas = f", {len(self.content_labels)} content areas" if self.content_labels else ""
        return f"<PolyItemPool {self.bank!r}{areas}, {self.nbytes / 1e6:.1f} MB>"

    def information_at(self, theta) -> np.ndarray:
        return information(theta, self.bank)

    def item_information(self, item: int, theta: float) -> float:
        """Fisher information of pool item ``item`` at ``theta`` (scalar arithmetic)."""
        return item_information_scalar(theta, *self._items[item])

    def response_rows(self, items, answers):
        return self.row_offsets[items] + answers

    def check_answers(self, items: np.ndarray, answers: np.ndarray) -> None:
        top = self.max_score[items]
        if ((answers < 0) | (answers > top)).any():
            position = int(np.flatnonzero((answers < 0) | (answers > top))[0])
            raise InvalidResponsesError(
                f"response {position} is {int(answers[position])}: item "
                f"{int(items[position])} is scored 0 to {int(top[position])}"
            )

    def check_answer(self, item: int, response: int) -> None:
        top = int(self.max_score[item])
        if not 0 <= response <= top:
            raise InvalidResponsesError(f"item {item} is scored 0 to {top}; got {response!r}")

    def point_estimate(self, items, answers, estimator: str, prior: Prior) -> tuple[float, float]:
        if len(items) == 0:
            return prior.mean, prior.sd
        bank = self.bank.subset(items)
        if estimator == "map":
            return map_poly(bank, answers, prior, THETA_BOUNDS)
        if estimator == "mle":
            return mle_poly(bank, answers, THETA_BOUNDS)
        return wle_poly(bank, answers, THETA_BOUNDS)

    def with_exposure_k(self, exposure_k) -> PolyItemPool:
        copy = object.__new__(PolyItemPool)
        copy.__dict__.update(self.__dict__)
        copy.exposure_k = self._check_exposure(exposure_k, self.n_items)
        return copy


#: The step and the session of dichotomous pools, which take a PolyItemPool as they are
#: (``StepResult.information`` is then the polytomous information of the next item).
poly_cat_step = cat_step
PolyCatSession = CatSession


def simulate_scores(bank: PolyBank, thetas, rng: np.random.Generator) -> np.ndarray:
    """Draw item scores for abilities ``thetas`` (shape (p,)): an integer array (p, n).

    A uniform draw :math:`u` per person and item gives the largest :math:`k` with
    :math:`u < P(X \\ge k)` (see :func:`~dreamseed.cat.polytomous.draw_score`).
    """
    probabilities = category_probabilities(np.asarray(thetas, dtype=float), bank)
    tails = 1.0 - np.cumsum(probabilities, axis=-1)[..., :-1]  # P(X >= k), k = 1..K-1
    draws = rng.random((*tails.shape[:-1], 1))
    scores = (draws < tails).sum(axis=-1)
    return np.minimum(scores, bank.n_categories - 1)


#: :func:`dreamseed.cat.simulation.simulate` simulates a mixed pool with item scores 0..m.
simulate_poly = simulate
