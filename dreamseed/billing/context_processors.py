from django.db import connection
from django_tenants.utils import get_public_schema_name

from dreamseed.schools.licensing import licence_summary


def licence(request):
    """`licence` (a LicenceSummary) for school staff pages: the licence banner reads it.

    No query: the school row is already on the request.
    """
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    if (
        tenant is None
        or connection.schema_name == get_public_schema_name()
        or user is None
        or not user.is_authenticated
        or not getattr(user, "is_staff_member", False)
    ):
        return {}
    return {"licence": licence_summary(tenant)}
