"""An item pool with the tables that make each CAT step cheap.

An :class:`ItemPool` is built once per version of a pool (the web layer caches it per process)
and is read-only afterwards, so threads may share it. Building it precomputes:

* ``selection_order``: for every point of a fine ability grid (:data:`SELECTION_GRID_STEP` over
  :data:`SELECTION_GRID_BOUNDS`), the items sorted by decreasing Fisher information there. Item
  selection at an estimate is then a walk down one row, skipping administered items: O(k) per
  step instead of O(n log n). The same table exists per content area when items are labelled.
* ``response_log_table``: :math:`\\ln P(u \\mid \\theta_q)` of every item and both responses on
  the EAP quadrature grid, so a posterior is the prior plus one table row per answer.

Memory: for 5,000 items the order table is 801 x 5,000 int16 = 8 MB (int32 beyond 32,767
items), the log table 2 x 5,000 x 121 float64 = 9.7 MB.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .estimation import (
    _SOLVERS,
    DEFAULT_PRIOR,
    QUADRATURE_BOUNDS,
    QUADRATURE_POINTS,
    THETA_BOUNDS,
    Prior,
    quadrature_grid,
)
from .exceptions import ConfigurationError, InvalidParametersError, InvalidResponsesError
from .irt import information, item_information, log_probabilities, make_params, validate_params

#: Ability range of the selection grid, logits; estimates outside are clamped to its ends.
SELECTION_GRID_BOUNDS = (-4.0, 4.0)
#: Spacing of the selection grid, logits (801 points on [-4, 4]).
SELECTION_GRID_STEP = 0.01
#: Grid rows whose information is computed at once while building (bounds peak memory).
_BUILD_CHUNK_ROWS = 32


class ItemPool:
    """Validated item parameters plus precomputed selection and estimation tables.

    Parameters
    ----------
    params : array_like, shape (n, 4)
        Item parameters ``[a, b, c, d]`` (2 or 3 columns are completed with c = 0, d = 1).
    ids : sequence of str, optional
        External item identifiers, unique; ``pool.ids[i]`` names item ``i``.
    content : sequence of str, optional
        Content area label of each item, used by content balancing.
    exposure_k : array_like, shape (n,), optional
        Sympson-Hetter exposure-control parameters in ``[0, 1]``: the probability that an item,
        once selected, is administered. Defaults to 1 (no control).
    quadrature_points, quadrature_bounds :
        EAP grid (see :mod:`dreamseed.cat.estimation`).
    selection_step, selection_bounds :
        Selection grid spacing and range, logits.

    Raises
    ------
    InvalidParametersError
        Bad parameters, or ids/content/exposure_k of the wrong length or with bad values.
    """

    def __init__(
        self,
        params,
        *,
        ids: Sequence[str] | None = None,
        content: Sequence[str] | None = None,
        exposure_k=None,
        quadrature_points: int = QUADRATURE_POINTS,
        quadrature_bounds=QUADRATURE_BOUNDS,
        selection_step: float = SELECTION_GRID_STEP,
        selection_bounds=SELECTION_GRID_BOUNDS,
    ):
        self.params = _read_only(validate_params(params))
        n = len(self.params)
        self.ids = self._check_ids(ids, n)
        self.index_by_id = {item_id: i for i, item_id in enumerate(self.ids)} if self.ids else {}
        self.content_labels, self.content = self._check_content(content, n)
        self.exposure_k = self._check_exposure(exposure_k, n)

        # EAP: log P(u | theta_q), row 2 i + u, so one gather sums a whole pattern.
        self.quadrature = _read_only(quadrature_grid(quadrature_points, quadrature_bounds))
        grid = self.quadrature
        self.quadrature_moments = _read_only(np.vstack([np.ones_like(grid), grid, grid * grid]))
        log_p, log_q = log_probabilities(self.quadrature, self.params)
        table = np.empty((2 * n, len(self.quadrature)))
        table[0::2] = log_q.T
        table[1::2] = log_p.T
        self.response_log_table = _read_only(table)
        self._log_priors: dict[Prior, np.ndarray] = {}

        self._selection_setup(n, selection_bounds, selection_step)

    def _selection_setup(self, n, selection_bounds, selection_step) -> None:
        """Selection: item order by decreasing information at each point of the theta grid."""
        low, high = selection_bounds
        if not (selection_step > 0 and low < high):
            raise ConfigurationError(
                f"selection grid needs step > 0 and low < high; got {selection_step}, "
                f"{selection_bounds}"
            )
        steps = round((high - low) / selection_step)
        self.selection_grid = _read_only(np.linspace(low, low + steps * selection_step, steps + 1))
        self._grid_low = float(self.selection_grid[0])
        self._grid_step = float(selection_step)
        self._grid_last = steps
        self._index_dtype = np.int16 if n <= np.iinfo(np.int16).max else np.int32
        self.selection_order, self.content_order = self._build_orders()

    @classmethod
    def from_arrays(
        cls,
        *,
        b,
        a=1.0,
        c=0.0,
        d=1.0,
        ids: Sequence[str] | None = None,
        content: Sequence[str] | None = None,
        exposure_k=None,
        **options,
    ) -> ItemPool:
        """Build a pool from parameter columns (scalars broadcast), e.g. from database rows."""
        return cls(
            make_params(b, a=a, c=c, d=d),
            ids=ids,
            content=content,
            exposure_k=exposure_k,
            **options,
        )

    # --- sizes and lookups --------------------------------------------------------------------

    @property
    def n_items(self) -> int:
        return len(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        areas = f", {len(self.content_labels)} content areas" if self.content_labels else ""
        return f"<ItemPool {self.n_items} items{areas}, {self.nbytes / 1e6:.1f} MB>"

    @property
    def nbytes(self) -> int:
        """Memory held by the precomputed tables, bytes."""
        orders = sum(order.nbytes for order in self.content_order.values())
        return self.selection_order.nbytes + self.response_log_table.nbytes + orders

    def indices_of(self, item_ids: Sequence[str]) -> np.ndarray:
        """Pool indices of external item ids (raises :class:`ConfigurationError` if unknown)."""
        if not self.ids:
            raise ConfigurationError("this pool was built without item ids")
        try:
            return np.fromiter(
                (self.index_by_id[i] for i in item_ids), dtype=np.intp, count=len(item_ids)
            )
        except KeyError as exc:
            raise ConfigurationError(f"item id {exc.args[0]!r} is not in the pool") from None

    def log_prior(self, prior: Prior = DEFAULT_PRIOR) -> np.ndarray:
        """Log prior density on the EAP grid, cached per prior."""
        cached = self._log_priors.get(prior)
        if cached is None:
            cached = _read_only(prior.log_density(self.quadrature))
            self._log_priors[prior] = cached
        return cached

    def grid_index(self, theta: float) -> int:
        """Row of the selection grid nearest to ``theta`` (clamped to the grid)."""
        row = round((theta - self._grid_low) / self._grid_step)
        return 0 if row < 0 else (self._grid_last if row > self._grid_last else row)

    def with_exposure_k(self, exposure_k) -> ItemPool:
        """A copy sharing this pool's tables but with other Sympson-Hetter parameters."""
        copy = object.__new__(ItemPool)
        copy.__dict__.update(self.__dict__)
        copy.exposure_k = self._check_exposure(exposure_k, self.n_items)
        return copy

    def information_at(self, theta) -> np.ndarray:
        """Fisher information of every item at abilities ``theta``, shape ``theta.shape + (n,)``
        (the quantity the selection order sorts by)."""
        return information(theta, self.params)

    # --- what an adaptive test needs of its items (step.cat_step, step.CatSession) ----------
    # A mixed pool (adaptive_poly.PolyItemPool) answers the same questions for items scored
    # 0..m, so one step and one session serve both.

    def item_information(self, item: int, theta: float) -> float:
        """Fisher information of pool item ``item`` at ``theta`` (scalar arithmetic)."""
        a, b, c, d = self.params[item].tolist()
        return item_information(theta, a, b, c, d)

    def response_rows(self, items, answers):
        """Rows of ``response_log_table`` for these answers (arrays, or one item and answer)."""
        return 2 * items + answers

    def check_answers(self, items: np.ndarray, answers: np.ndarray) -> None:
        """Refuse answers other than 0/1 (``items`` are valid indices, as many as answers)."""
        # Viewed as unsigned, negative values become huge: one max() checks both ends.
        if answers.view(np.uintp).max() > 1:
            position = int(np.flatnonzero((answers < 0) | (answers > 1))[0])
            raise InvalidResponsesError(
                f"responses must be 0 or 1; response {position} is {int(answers[position])}"
            )

    def check_answer(self, item: int, response: int) -> None:
        if response not in (0, 1):
            raise InvalidResponsesError(f"response must be 0 or 1; got {response!r}")

    def point_estimate(self, items, answers, estimator: str, prior: Prior) -> tuple[float, float]:
        """MAP, MLE or WLE on the answered items (prior mean and SD before the first answer)."""
        if len(items) == 0:
            return prior.mean, prior.sd
        params = self.params[items]
        if estimator == "map":
            return _SOLVERS["map"](params, answers, prior, THETA_BOUNDS)
        return _SOLVERS[estimator](params, answers, THETA_BOUNDS)

    # --- construction helpers -----------------------------------------------------------------

    def _build_orders(self):
        grid = self.selection_grid
        order = np.empty((len(grid), self.n_items), dtype=self._index_dtype)
        members = {
            code: np.flatnonzero(self.content == code) for code in range(len(self.content_labels))
        }  # one entry per content area (none without labels), not per item
        area_orders = {
            code: np.empty((len(grid), len(items)), dtype=self._index_dtype)
            for code, items in members.items()
        }
        for start in range(0, len(grid), _BUILD_CHUNK_ROWS):
            rows = slice(start, start + _BUILD_CHUNK_ROWS)
            # Negated so that a stable ascending sort gives decreasing information, ties by index.
            negative_info = -self.information_at(grid[rows])
            order[rows] = np.argsort(negative_info, axis=1, kind="stable")
            for code, items in members.items():
                within = np.argsort(negative_info[:, items], axis=1, kind="stable")
                area_orders[code][rows] = items[within]
        return _read_only(order), {code: _read_only(o) for code, o in area_orders.items()}

    @staticmethod
    def _check_ids(ids, n):
        if ids is None:
            return None
        ids = tuple(str(i) for i in ids)
        if len(ids) != n:
            raise InvalidParametersError(f"{len(ids)} item ids for {n} items: lengths must match")
        if len(set(ids)) != n:
            seen = set()
            duplicate = next(i for i in ids if i in seen or seen.add(i))
            raise InvalidParametersError(f"item id {duplicate!r} appears more than once")
        return ids

    @staticmethod
    def _check_content(content, n):
        if content is None:
            return (), None
        labels = np.asarray([str(x) for x in content])
        if len(labels) != n:
            raise InvalidParametersError(
                f"{len(labels)} content labels for {n} items: lengths must match"
            )
        unique, codes = np.unique(labels, return_inverse=True)
        return tuple(str(u) for u in unique), _read_only(codes.astype(np.intp))

    @staticmethod
    def _check_exposure(exposure_k, n):
        if exposure_k is None:
            return _read_only(np.ones(n))
        k = np.array(exposure_k, dtype=float)  # a copy: it is frozen below
        if k.shape != (n,):
            raise InvalidParametersError(
                f"{k.size} Sympson-Hetter exposure parameters for {n} items: lengths must match"
            )
        bad = ~np.isfinite(k) | (k < 0) | (k > 1)
        if bad.any():
            item = int(np.flatnonzero(bad)[0])
            raise InvalidParametersError(
                f"item {item}: exposure_k = {float(k[item])!r}: "
                "Sympson-Hetter parameter must be in [0, 1]",
                item=item,
                column="exposure_k",
            )
        return _read_only(k)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
