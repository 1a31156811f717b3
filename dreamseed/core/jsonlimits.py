"""Limits on JSON from outside, checked before parsing: depth and size.

Python's json parser recurses once per nesting level, so 2 KB of `[[[[...` (depth 1000) raises
RecursionError, which would be a 500 to anyone. Every place JSON enters (the API's parser, the
item import, the Stripe webhook) calls `json_limits_check` first. The depth is counted without
parsing: strings are dropped (brackets inside them do not nest), then the brackets left are
summed, in time linear in the text.
"""

import re
from itertools import accumulate

from django.conf import settings
from django.utils.translation import gettext as _

from dreamseed.core.uploads import megabytes

# A JSON string: quotes around anything but an unescaped quote.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_OPENING = {"[": 1, "{": 1, "]": -1, "}": -1}
DEFAULT = object()  # "the setting", where None means "no limit"


class JSONLimitError(ValueError):
    """A document over a limit; `status` is the HTTP status to answer with (400 or 413)."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


def json_depth(text: str | bytes) -> int:
    """The deepest nesting of arrays and objects in `text` (0 for a scalar)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(_OPENING[bracket] for bracket in brackets), default=0)


def json_limits_check(text: str | bytes, *, max_bytes=DEFAULT, max_depth=DEFAULT) -> None:
    """Raise JSONLimitError if `text` is larger than `max_bytes` (413; None: no size limit) or
    nests deeper than `max_depth` (400). Defaults: DATA_UPLOAD_MAX_MEMORY_SIZE and
    JSON_MAX_DEPTH."""
    if max_bytes is DEFAULT:
        max_bytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if max_depth is DEFAULT:
        max_depth = settings.JSON_MAX_DEPTH
    size = len(text.encode() if isinstance(text, str) else text)
    if max_bytes is not None and size > max_bytes:
        raise JSONLimitError(
            _("The JSON is larger than %(limit)s.") % {"limit": megabytes(max_bytes)}, status=413
        )
    # Cheap first: a document with fewer opening brackets than the limit cannot be deeper.
    opening = text.count("[" if isinstance(text, str) else b"[") + text.count(
        "{" if isinstance(text, str) else b"{"
    )
    if opening > max_depth and json_depth(text) > max_depth:
        raise JSONLimitError(
            _(
                "The JSON is nested more than %(depth)s levels deep. Flatten it: no real "
                "document needs that many."
            )
            % {"depth": max_depth},
            status=400,
        )
