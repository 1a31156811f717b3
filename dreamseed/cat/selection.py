"""Choosing the next item: maximum Fisher information, with optional exposure control
(randomesque, Sympson-Hetter) and content balancing (Kingsbury-Zara).

All selectors read the pool's precomputed order of items by decreasing information at the
grid point nearest the current estimate (see :class:`~dreamseed.cat.pool.ItemPool`), so a
selection touches only the first ``n_blocked + k`` entries of one row. Items already
administered or explicitly excluded are never chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .exceptions import ConfigurationError

SELECTOR_MFI = "mfi"
SELECTOR_RANDOMESQUE = "randomesque"
SELECTOR_SYMPSON_HETTER = "sympson-hetter"
#: Names accepted as ``selector``.
SELECTORS = (SELECTOR_MFI, SELECTOR_RANDOMESQUE, SELECTOR_SYMPSON_HETTER)

#: Default number of best items randomesque chooses among (Kingsbury & Zara, 1989).
DEFAULT_RANDOMESQUE_K = 5
#: Eligible candidates Sympson-Hetter draws for at once before looking further down the order.
_SYMPSON_HETTER_BATCH = 32
#: Tolerance on the sum of content targets.
CONTENT_TARGET_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Selection:
    """Outcome of one item selection.

    Attributes
    ----------
    item : int or None
        Pool index of the chosen item; None when no eligible item is left.
    n_candidates : int
        Eligible items (not administered, not excluded) when the choice was made.
    content_area : str or None
        Content area chosen by content balancing, if used.
    skipped : tuple of int
        Sympson-Hetter: items selected but not administered this step (their lottery failed).
        The classic procedure sets them aside for the rest of the test: callers add them to
        ``excluded`` on the next steps.
    """

    item: int | None
    n_candidates: int
    content_area: str | None = None
    skipped: tuple[int, ...] = ()


def check_selector(selector: str, randomesque_k: int = DEFAULT_RANDOMESQUE_K) -> str:
    """Return ``selector`` if valid, else raise :class:`ConfigurationError`."""
    if selector not in SELECTORS:
        raise ConfigurationError(
            f"unknown selector {selector!r}: choose one of {', '.join(SELECTORS)}"
        )
    if selector == SELECTOR_RANDOMESQUE and (
        not isinstance(randomesque_k, (int, np.integer)) or randomesque_k < 1
    ):
        raise ConfigurationError(f"randomesque_k must be a positive integer; got {randomesque_k!r}")
    return selector


def content_target_array(pool, content_targets: dict[str, float] | None) -> np.ndarray | None:
    """Turn ``{area: proportion}`` into an array indexed by the pool's content codes.

    Raises
    ------
    ConfigurationError
        The pool has no content labels, an area is unknown, a proportion is negative or not a
        number, or the proportions do not sum to 1.
    """
    if not content_targets:
        return None
    if not pool.content_labels:
        raise ConfigurationError("content targets given but the pool has no content labels")
    targets = np.zeros(len(pool.content_labels))
    codes = {label: code for code, label in enumerate(pool.content_labels)}
    for label, proportion in content_targets.items():
        if label not in codes:
            raise ConfigurationError(
                f"content area {label!r} is not in the pool (areas: {', '.join(codes)})"
            )
        value = float(proportion)
        if not np.isfinite(value) or value < 0:
            raise ConfigurationError(
                f"content target for {label!r} must be a proportion >= 0; got {proportion!r}"
            )
        targets[codes[label]] = value
    if abs(targets.sum() - 1.0) > CONTENT_TARGET_TOLERANCE:
        raise ConfigurationError(f"content targets must sum to 1; they sum to {targets.sum():g}")
    return targets


def blocked_mask(pool, administered, excluded=None) -> tuple[np.ndarray, int]:
    """Boolean mask of items that may not be chosen, and how many there are."""
    blocked = np.zeros(pool.n_items, dtype=bool)
    blocked[administered] = True
    if excluded is not None and len(excluded):
        blocked[excluded] = True
    return blocked, int(np.count_nonzero(blocked))


def choose_content_area(pool, targets: np.ndarray, administered, blocked) -> int | None:
    r"""Kingsbury-Zara: the content area furthest below its target proportion.

    With :math:`n_k` items of area :math:`k` among :math:`n` given and target :math:`t_k`, the
    chosen area maximises :math:`t_k - n_k / n` (ties: larger target, then label order) among
    areas with a positive target and an eligible item left. Returns the area code, or None when
    every targeted area is used up (selection then falls back to the whole pool).
    """
    n_areas = len(targets)
    counts = np.bincount(pool.content[administered], minlength=n_areas)
    given = max(len(administered), 1)
    deficit = targets - counts / given
    available = np.bincount(pool.content[~blocked], minlength=n_areas)
    # lexsort: last key is primary -> deficit descending, then target descending, then code.
    ranking = np.lexsort((np.arange(n_areas), -targets, -deficit))
    usable = ranking[(targets[ranking] > 0) & (available[ranking] > 0)]
    return int(usable[0]) if len(usable) else None


def select_item(
    pool,
    theta: float,
    *,
    administered=(),
    excluded=None,
    selector: str = SELECTOR_MFI,
    randomesque_k: int = DEFAULT_RANDOMESQUE_K,
    content_targets: dict[str, float] | None = None,
    rng: np.random.Generator | int | None = None,
) -> Selection:
    """Choose the next item at ability ``theta``.

    Parameters
    ----------
    pool : ItemPool
    theta : float
        Current ability estimate.
    administered, excluded : sequence of int
        Pool indices that may not be chosen.
    selector : {"mfi", "randomesque", "sympson-hetter"}
        ``mfi``: the most informative item. ``randomesque``: uniformly among the
        ``randomesque_k`` most informative. ``sympson-hetter``: walk down the information order,
        administering each candidate with probability ``pool.exposure_k[item]``.
    content_targets : dict, optional
        ``{area: proportion}`` summing to 1; the area is chosen by :func:`choose_content_area`
        and the selector applied within it.
    rng : numpy.random.Generator or int, optional
        Source of randomness for randomesque and Sympson-Hetter.
    """
    check_selector(selector, randomesque_k)
    administered = np.asarray(administered, dtype=np.intp)
    excluded = None if excluded is None else np.asarray(list(excluded), dtype=np.intp)
    blocked, n_blocked = blocked_mask(pool, administered, excluded)
    targets = content_target_array(pool, content_targets)
    return select_with_mask(
        pool, theta, administered, blocked, n_blocked, selector, randomesque_k, targets, rng
    )


def select_with_mask(
    pool, theta, administered, blocked, n_blocked, selector, randomesque_k, targets, rng
) -> Selection:
    """:func:`select_item` on already checked inputs and a prebuilt ``blocked`` mask."""
    n_candidates = pool.n_items - n_blocked
    if n_candidates <= 0:
        return Selection(None, 0)
    row = pool.grid_index(theta)
    area = None
    order = pool.selection_order[row]
    if targets is not None:
        area = choose_content_area(pool, targets, administered, blocked)
        if area is not None:
            order = pool.content_order[area][row]
    label = pool.content_labels[area] if area is not None else None

    if selector == SELECTOR_MFI:
        best = _first_eligible(order, blocked, n_blocked, 1)
        return Selection(int(best[0]), n_candidates, label)

    rng = _as_generator(rng)
    if selector == SELECTOR_RANDOMESQUE:
        best = _first_eligible(order, blocked, n_blocked, randomesque_k)
        return Selection(int(best[rng.integers(len(best))]), n_candidates, label)

    # Sympson-Hetter: the first candidate in information order whose lottery succeeds.
    seen = 0
    first_choice = None
    skipped: list[np.ndarray] = []
    while seen < len(order):
        head = order[seen : seen + n_blocked + _SYMPSON_HETTER_BATCH]
        seen += len(head)
        candidates = head[~blocked[head]]
        if not len(candidates):
            continue
        if first_choice is None:
            first_choice = int(candidates[0])
        accepted = np.flatnonzero(rng.random(len(candidates)) < pool.exposure_k[candidates])
        if len(accepted):
            skipped.append(candidates[: accepted[0]])
            item = int(candidates[accepted[0]])
            return Selection(item, n_candidates, label, _as_tuple(skipped))
        skipped.append(candidates)
    # Every lottery failed: give the most informative eligible item rather than nothing.
    skipped_all = [i for i in _as_tuple(skipped) if i != first_choice]
    return Selection(first_choice, n_candidates, label, tuple(skipped_all))


def _first_eligible(order: np.ndarray, blocked: np.ndarray, n_blocked: int, k: int) -> np.ndarray:
    """The first ``k`` unblocked entries of ``order``.

    At most ``n_blocked`` entries of the row are blocked, so its first ``n_blocked + k``
    entries hold ``k`` eligible ones whenever that many exist.
    """
    head = order[: n_blocked + k]
    return head[~blocked[head]][:k]


def _as_tuple(chunks: list[np.ndarray]) -> tuple[int, ...]:
    return tuple(int(i) for chunk in chunks for i in chunk)


def _as_generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
