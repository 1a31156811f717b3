"""Switches for `answer_cpu.py --toggle bench.answer_toggles:NAME`: each turns one of the answer
path's shortcuts on (True, the code as shipped) or off (False, the stock library behaviour), so
the two can be measured in alternate rounds of the same process.

    .venv/bin/python bench/answer_cpu.py --answers 500 --rounds 4 --toggle bench.answer_toggles:csp
"""

from django.conf import settings


def _swap(owner, name: str, replacement, on: bool) -> None:
    """Keep `owner.name` as shipped when on; replace it while off."""
    original = owner.__dict__.get(f"_shipped_{name}") or getattr(owner, name)
    setattr(owner, f"_shipped_{name}", original)
    setattr(owner, name, original if on else replacement)


def user_load(on: bool) -> None:
    """The per-request user load as one precompiled SELECT, or Django's ORM query."""
    from dreamseed.accounts import backends
    from dreamseed.core import hotpath

    class Orm:
        @staticmethod
        def get(model, pk):
            return model._default_manager.filter(pk=pk).first()

    backends.hotpath = hotpath if on else Orm


def redis_client(on: bool) -> None:
    """One redis.Redis per connection pool, or a new one per cache call (Django's)."""
    from django.core.cache.backends.redis import RedisCacheClient

    from dreamseed.core.cache import DegradingRedisCacheClient

    _swap(DegradingRedisCacheClient, "get_client", RedisCacheClient.get_client, on)


def csp(on: bool) -> None:
    """The site-wide CSP header built once per process, or on every response (django-csp's)."""
    import csp.middleware

    from dreamseed.core.middleware import CSPMiddleware

    _swap(CSPMiddleware, "process_response", csp.middleware.CSPMiddleware.process_response, on)


def search_path(on: bool) -> None:
    """The connection's search_path remembered across requests, or SET again each request."""
    from django_tenants.postgresql_backend import base

    from dreamseed.core.db.base import DatabaseWrapper

    _swap(DatabaseWrapper, "_handle_search_path", base.DatabaseWrapper._handle_search_path, on)


def health_check(on: bool) -> None:
    """A busy connection spared Django's per-request health check, or checked every request."""
    settings.DATABASE_HEALTH_CHECK_GRACE = 1.0 if on else 0.0


def host_cache(on: bool) -> None:
    """The host -> school map kept in the process, or looked up on every request."""
    from dreamseed.schools.middleware import tenant_host_cache_clear

    settings.TENANT_HOST_CACHE_SECONDS = 30 if on else 0
    tenant_host_cache_clear()
