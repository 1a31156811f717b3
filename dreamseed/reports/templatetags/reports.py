"""Template filters for the PDF reports."""

import unicodedata

from django import template

register = template.Library()

#: How much wider than a typical Latin letter a wide (CJK) character is, roughly.
WIDE = 1.8


@register.filter
def fit(value, width: int) -> str:
    """Cut `value` to about `width` Latin letters, counting CJK characters as wide, with "…".

    For columns of fixed width (the appendix listing's tab stops), where text must not run into
    the next column."""
    text = "" if value is None else str(value)
    used, kept = 0.0, []
    for character in text:
        size = WIDE if unicodedata.east_asian_width(character) in ("W", "F") else 1.0
        if used + size > width:
            return "".join(kept).rstrip() + "…"
        used += size
        kept.append(character)
    return text


@register.filter
def fits(value, width: int) -> bool:
    """Whether `fit` would keep `value` whole."""
    text = "" if value is None else str(value)
    return fit(text, width) == text


@register.filter
def one_line(value) -> str:
    """The text on one line: line breaks and tabs (which would jump to the listing's tab stops)
    become single spaces."""
    return " ".join(("" if value is None else str(value)).split())
