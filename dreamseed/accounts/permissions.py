"""The one place that decides who may use a school page."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from dreamseed.accounts.models import Role


def role_required(*roles: str):
    """Allow only signed-in, active users with one of `roles`.

    Anonymous visitors are sent to the login page; signed-in users of another role get 403.
    """
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user.role not in allowed:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_required = role_required(Role.ADMIN)
staff_required = role_required(Role.ADMIN, Role.TEACHER)
student_required = role_required(Role.STUDENT)
