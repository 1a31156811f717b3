"""Exceptions raised by the CAT engine.

Every error the engine raises on bad input is a :class:`CatError`, a ``ValueError`` subclass,
so callers can catch one type and show its message: messages always name the problem
(which parameter, which item, which line and column of which file).
"""

from __future__ import annotations


class CatError(ValueError):
    """Base class of every error the engine raises on bad input."""


class InvalidParametersError(CatError):
    """Item parameters are malformed: NaN, a <= 0, c outside [0, 1), d <= c, wrong shape.

    Attributes
    ----------
    item : int or None
        Row (0-based) of the first offending item, when one item is to blame.
    column : str or None
        Name of the offending parameter (``"a"``, ``"b"``, ``"c"`` or ``"d"``), when known.
    """

    def __init__(self, message: str, *, item: int | None = None, column: str | None = None):
        super().__init__(message)
        self.item = item
        self.column = column


class EmptyBankError(InvalidParametersError):
    """An item bank (or a pool) has no items."""


class InvalidResponsesError(CatError):
    """Responses are not 0/1, or do not line up with the items they answer."""


class ConfigurationError(CatError):
    """An option is out of range: unknown estimator or selector, min_items > max_items, ..."""


class CsvFormatError(CatError):
    """A CSV file given to a command-line tool is unreadable or malformed.

    The message names the file and, when the problem is in one cell, its line (1-based,
    the header being line 1) and column.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None = None,
        column: str | None = None,
    ):
        where = path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.column = column
