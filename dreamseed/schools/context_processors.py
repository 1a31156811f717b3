from django.db import connection
from django_tenants.utils import get_public_schema_name


def email_confirmation(request):
    """`school_email_unconfirmed` (the address) for a school admin whose address still needs its
    confirmation: the banner in base.html reads it. No query: the school is on the request."""
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    if (
        tenant is None
        or connection.schema_name == get_public_schema_name()
        or getattr(tenant, "email_confirmed_at", True) is not None
        or user is None
        or not getattr(user, "is_school_admin", False)
    ):
        return {}
    return {"school_email_unconfirmed": tenant.admin_email}
