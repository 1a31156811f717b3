from datetime import timedelta
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme

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


@register.simple_tag(takes_context=True)
def language_next(context) -> str:
    """Where the language form returns to: a URL that answers GET.

    A GET page returns to itself. After a POST (a form shown again with its errors, e.g. /find/
    or a wrong join code) the page's own URL may accept only POST, so return to the page the form
    was sent from (the Referer, when it is on this host and is not this same URL) or else the
    home page.
    """
    request = context.get("request")
    if request is None:
        return "/"
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        # The same path as this POST (a second failed try) may itself accept only POST.
        if parts.path and parts.path != request.path:
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"
