"""Read-only mode for schools whose licence has expired or was canceled.

Reading stays possible everywhere (GET/HEAD/OPTIONS); anything that writes is refused with a 403
page that says why, except what people need to get in and out, to renew, and to get their
results and reports. Belongs after AuthenticationMiddleware (the page shows who is signed in).
"""

import logging
import re

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from dreamseed.schools.licensing import school_is_read_only

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Writes still allowed on a read-only school's host (path prefixes, mirroring dreamseed/urls.py
# and dreamseed/accounts/urls.py; a test checks they still match).
ALLOWED_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/password/",  # change and reset
    "/accounts/welcome/",  # the signed hand-off from signup
    "/accounts/invitation/",  # an invited teacher choosing their password
    "/api/token/",  # API sign-in: a token to read results with
    "/i18n/",  # language switch
    "/billing/",  # renewing is the way out
    "/reports/",  # results and reports stay readable: requesting a report is allowed
    "/privacy/",  # a student's data export and deletion are owed whatever the licence
    "/lti/login/",  # signing in from an LMS (people there often have no password); the launch
    "/lti/launch/",  # itself creates nothing while read-only (dreamseed/lti/services.py)
)
# A student half-way through a test when the licence runs out may finish it (answers only; starting
# a new test stays refused, here and in assessments.services).
ALLOWED_PATTERNS = (
    re.compile(r"^/tests/session/\d+/$"),
    re.compile(r"^/api/sessions/\d+/answer/$"),
)


def write_allowed_when_read_only(path: str) -> bool:
    return path.startswith(ALLOWED_PREFIXES) or any(p.match(path) for p in ALLOWED_PATTERNS)


class LicenceReadOnlyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS:
            return self.get_response(request)
        tenant = getattr(request, "tenant", None)
        if (
            tenant is None
            or tenant.schema_name == get_public_schema_name()
            or not school_is_read_only(tenant)
            or write_allowed_when_read_only(request.path_info)
        ):
            return self.get_response(request)
        logger.info(
            "write refused: school is read-only",
            extra={"path": request.path_info, "method": request.method},
        )
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": _(
                        "The school's licence has ended, so the school is read-only. "
                        "A school administrator can renew it on the Billing page."
                    ),
                    "code": "licence_read_only",
                },
                status=403,
            )
        return render(request, "billing/read_only.html", status=403)
