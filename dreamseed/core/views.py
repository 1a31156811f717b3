"""The 404 answer. (The school home page is classes.views.dashboard.)"""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def page_not_found(request, exception):
    """The 404 page, or under /api/ the JSON answer DRF gives for a missing object."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
