from django.conf import settings
from django.db import connection


def site(request):
    """The current school (None on the public site) for the layout."""
    tenant = getattr(request, "tenant", None)
    is_public = tenant is None or connection.schema_name == "public"
    return {
        "school": None if is_public else tenant,
        "is_public_site": is_public,
        "base_domain": settings.BASE_DOMAIN,
    }
