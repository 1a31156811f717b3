"""The sign-in backend: Django's ModelBackend with a cheaper per-request user load."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from dreamseed.accounts.models import User
from dreamseed.core import hotpath

# What `login(..., backend=...)` and the session store for users signed in with a password.
PATH = "dreamseed.accounts.backends.AccountBackend"


class AccountBackend(ModelBackend):
    """Every request loads its user again (so a deactivation or a password change takes effect
    at once); this does it with one precompiled SELECT instead of compiling an ORM query each
    time. Same rules as ModelBackend: unknown or inactive users are anonymous."""

    def get_user(self, user_id):
        try:
            pk = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        user = hotpath.get(User, pk)
        return user if user is not None and self.user_can_authenticate(user) else None
