"""API rate limits: per token (or signed-in user), per school, and per address for callers who
are not signed in. Refused calls get 429 with `Retry-After` (DRF's Throttled).

The rates come from the environment (settings.API_THROTTLE_RATES, read on every request so a
test or an operator's override applies at once). Counters live in the cache: while Redis is
down they read as empty, so the API keeps answering without limits rather than failing.
"""

import hashlib

from django.conf import settings
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)


class TokenRateThrottle(_SettingsRateThrottle):
    """Each API token (or, for the browser's session, each user) of each school."""

    scope = "token"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        key = getattr(request.auth, "key", None)
        if key:
            # The token itself never goes to Redis, only a digest of it.
            ident = "t" + hashlib.sha256(key.encode()).hexdigest()[:24]
        else:
            ident = f"u{request.user.pk}"
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{connection.schema_name}:{ident}",
        }


class SchoolRateThrottle(_SettingsRateThrottle):
    """Every caller of one school together: one school's integration cannot starve the others."""

    scope = "school"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": connection.schema_name}


class AnonymousRateThrottle(_SettingsRateThrottle):
    """Callers without credentials, by address (they only ever get 401s and the docs)."""

    scope = "anonymous"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
