"""Who may call which API endpoint. Which *objects* they reach is decided by the selectors in
each app (dreamseed.classes.selectors), the same ones the pages use."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from dreamseed.accounts.models import STAFF_ROLES, Role


class IsSchoolStaff(BasePermission):
    """School administrators and teachers."""

    message = _("Only teachers and school administrators can use this endpoint.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role in STAFF_ROLES)


class IsSchoolStaffOrStudentReading(BasePermission):
    """Staff may do anything the view offers; students may only read (their own objects)."""

    message = _("Students can only read their own classes.")

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.role in STAFF_ROLES:
            return True
        return user.role == Role.STUDENT and request.method in SAFE_METHODS
