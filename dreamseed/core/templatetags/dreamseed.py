from datetime import timedelta

from django import template
from django.conf import settings

from dreamseed.core.uploads import megabytes

register = template.Library()


@register.filter
def duration(value) -> str:
    """A timedelta (or seconds) as m:ss or h:mm:ss."""
    if value is None or value == "":
        return ""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@register.simple_tag
def upload_limit() -> str:
    """The largest request an upload may be, as the 400 page names it ("32 MB")."""
    return megabytes(settings.UPLOAD_MAX_REQUEST_BYTES)
