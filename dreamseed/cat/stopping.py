"""When to end an adaptive test: maximum and minimum length, a standard-error target, or an
exhausted pool, in any combination."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .exceptions import ConfigurationError

#: Reasons :func:`should_stop` can give, by priority.
STOP_MAX_ITEMS = "max_items"
STOP_POOL_EXHAUSTED = "pool_exhausted"
STOP_SE_TARGET = "se_target"
STOP_REASONS = (STOP_MAX_ITEMS, STOP_POOL_EXHAUSTED, STOP_SE_TARGET)


@dataclass(frozen=True)
class StoppingRule:
    """A combination of stopping criteria.

    Parameters
    ----------
    max_items : int or None
        Stop once this many items were given (a hard limit).
    min_items : int
        Never stop on the SE target before this many items (an exhausted pool still stops).
    se_target : float or None
        Stop once the standard error of the ability estimate is at or below this, logits.

    With neither ``max_items`` nor ``se_target`` the test runs until the pool is exhausted.
    """

    max_items: int | None = None
    min_items: int = 0
    se_target: float | None = None

    def __post_init__(self):
        if self.max_items is not None and (
            not isinstance(self.max_items, int) or self.max_items < 1
        ):
            raise ConfigurationError(
                f"max_items must be a positive integer; got {self.max_items!r}"
            )
        if not isinstance(self.min_items, int) or self.min_items < 0:
            raise ConfigurationError(
                f"min_items must be a non-negative integer; got {self.min_items!r}"
            )
        if self.max_items is not None and self.min_items > self.max_items:
            raise ConfigurationError(
                f"min_items ({self.min_items}) cannot exceed max_items ({self.max_items})"
            )
        if self.se_target is not None and not (
            isinstance(self.se_target, (int, float))
            and math.isfinite(self.se_target)
            and self.se_target > 0
        ):
            raise ConfigurationError(f"se_target must be a positive number; got {self.se_target!r}")


def should_stop(
    rule: StoppingRule, *, n_administered: int, se: float, n_eligible: int
) -> tuple[bool, str | None]:
    """Decide whether the test ends now.

    Parameters
    ----------
    rule : StoppingRule
    n_administered : int
        Items answered so far.
    se : float
        Standard error of the current ability estimate.
    n_eligible : int
        Items still available (not administered, not excluded).

    Returns
    -------
    (stop, reason) : (bool, str or None)
        ``reason`` is one of :data:`STOP_REASONS` when ``stop`` is true. Checked in order: the
        maximum length, an exhausted pool (which overrides ``min_items``), the minimum length,
        then the SE target (never before the first item).
    """
    if rule.max_items is not None and n_administered >= rule.max_items:
        return True, STOP_MAX_ITEMS
    if n_eligible <= 0:
        return True, STOP_POOL_EXHAUSTED
    if n_administered < max(rule.min_items, 1):
        return False, None
    if rule.se_target is not None and se <= rule.se_target:
        return True, STOP_SE_TARGET
    return False, None
