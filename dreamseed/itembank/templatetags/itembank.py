"""Template helpers for item content: render stored rich text safely, and short plain excerpts."""

from django import template
from django.utils.safestring import mark_safe

from dreamseed.itembank.sanitize import html_render, plain_text

register = template.Library()


@register.filter
def item_html(value: str) -> str:
    """A stem's stored HTML, sanitised again on the way out (defence in depth)."""
    return mark_safe(html_render(value, block=True))


@register.filter
def option_html(value: str) -> str:
    return mark_safe(html_render(value, block=False))


@register.filter
def item_excerpt(value: str, limit: int = 90) -> str:
    """Plain text of a stem, shortened; the template escapes it."""
    return plain_text(value, int(limit))


@register.filter
def signed(value, digits: int = 2) -> str:
    """A number with its sign, for parameter changes: +0.25, -1.10."""
    if value is None:
        return "—"
    return f"{float(value):+.{int(digits)}f}"


@register.filter
def ms_to_seconds(value) -> str:
    if value is None:
        return "—"
    return f"{float(value) / 1000:.1f}"


@register.filter
def percent(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"
