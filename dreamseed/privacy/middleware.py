"""Writes an audit row when staff successfully open a page that shows or exports student data.

The views stay unaware of auditing: the list of audited routes is `routes.AUDITED_ROUTES`. The
checks run cheapest first (route, method, status), so requests that are not audited (among them
every request of a student answering a test) never touch `request.user` or the database here.
"""

from django_tenants.utils import get_public_schema_name

from dreamseed.accounts.models import STAFF_ROLES
from dreamseed.privacy.routes import AUDITED_ROUTES, object_id_from, subject_students
from dreamseed.privacy.services import audit_event_record


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = AUDITED_ROUTES.get(match.view_name) if match is not None else None
        if route is None or request.method not in route.methods:
            return response
        if not 200 <= response.status_code < 300:
            return response
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == get_public_schema_name():
            return response
        user = getattr(request, "user", None)  # already loaded by the view's permission check
        if user is None or not user.is_authenticated or user.role not in STAFF_ROLES:
            return response
        object_id = object_id_from(route, match.kwargs)
        audit_event_record(
            actor=user,
            action=route.action,
            what=route.what,
            object_id=object_id,
            request=request,
            students=subject_students(route, object_id),
        )
        return response
