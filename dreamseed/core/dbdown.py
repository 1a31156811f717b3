"""While PostgreSQL is away (a restart, a failover), say so briefly instead of a 500.

Django turns an exception raised anywhere in a request (the tenant lookup, the session, a view)
into a response through the URLconf's `handler500`; this one answers a database that cannot be
reached with 503 and `Retry-After`: a short page for people, JSON for the API and the test page's
script (which then sends the answer again: answering is idempotent). Any other error gets
Django's usual 500 page.

Nothing here touches the database. The broken connection itself is closed at the end of the
request (Django drops a connection that raised errors and fails its check), and the next request
opens a new one: no worker restart is needed once PostgreSQL is back.
"""

import logging
import sys
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error as django_server_error

log = logging.getLogger(__name__)


def database_unreachable(error: BaseException | None) -> bool:
    """True for the errors a lost or refused PostgreSQL connection raises (psycopg's
    OperationalError, or InterfaceError on a connection that was already closed)."""
    while error is not None:
        if isinstance(error, OperationalError | InterfaceError):
            return True
        error = error.__cause__ or error.__context__
    return False


def _wants_json(request) -> bool:
    return (
        request.path.startswith("/api/")
        or request.headers.get("X-Requested-With") == "fetch"
        or "application/json" in request.headers.get("Accept", "")
    )


def database_unavailable_response(request) -> HttpResponse:
    retry_after = settings.DATABASE_DOWN_RETRY_AFTER
    message = _("DreamSeed is restarting a part of its service. Please try again in a moment.")
    if _wants_json(request):
        response = JsonResponse(
            {"detail": message, "code": "database_unavailable", "retry_after": retry_after},
            status=503,
        )
    else:
        html = render_to_string("503.html", {"retry_after": retry_after})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """`handler500` of both URLconfs."""
    if database_unreachable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    return django_server_error(request, template_name=template_name)


class DatabaseOutageLogFilter(logging.Filter):
    """On `django.request`: while the database is away every request logs a traceback; keep
    the first one per DATABASE_DOWN_LOG_SECONDS and count the rest into the next."""

    def __init__(self, name=""):
        super().__init__(name)
        self._lock = threading.Lock()
        self._logged_at = float("-inf")
        self._suppressed = 0

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        if not database_unreachable(error):
            return True
        now = time.monotonic()
        with self._lock:
            if now - self._logged_at < settings.DATABASE_DOWN_LOG_SECONDS:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._logged_at = self._suppressed, 0, now
        record.msg = f"database unavailable (503 with Retry-After), {suppressed} more since " + (
            f"the last message: {record.msg}"
        )
        return True
