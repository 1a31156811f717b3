"""Our library subclasses lean on private attributes of django-tenants, Django and django-csp.

An upgrade that renames or drops one would not raise: the override would quietly stop being
called, or a `getattr(..., None)` would quietly read None. These tests pin every private name the
subclasses use, so such an upgrade fails here instead (fix the subclass, then this list).
"""

import inspect

import csp.middleware
import csp.utils
import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.decorators import csp as csp_config
from csp.decorators import csp_exempt, csp_replace, csp_update
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse
from django_tenants.postgresql_backend import base as tenants_base

from dreamseed.core.cache import DegradingRedisCacheClient, DreamSeedRedisCache
from dreamseed.core.db.base import DatabaseWrapper
from dreamseed.core.middleware import _CSP_PER_RESPONSE, CSPMiddleware

# --- django-tenants: the remembered search_path (dreamseed/core/db/base.py) ---------------------


def test_the_database_backend_is_ours_on_django_tenants():
    assert isinstance(connections["default"], DatabaseWrapper)
    assert issubclass(DatabaseWrapper, tenants_base.DatabaseWrapper)


def test_django_tenants_still_has_the_search_path_internals_we_use():
    upstream = tenants_base.DatabaseWrapper
    for method in ("_handle_search_path", "_get_cursor_search_paths", "set_tenant"):
        assert callable(getattr(upstream, method, None)), method
    assert "cursor" in inspect.signature(upstream._handle_search_path).parameters
    for attribute in ("search_path_set_schemas", "_setting_search_path", "schema_name"):
        assert hasattr(connection, attribute), attribute


def test_we_forget_the_search_path_on_every_event_django_tenants_does():
    """django-tenants resets `search_path_set_schemas` where PostgreSQL may have dropped the SET;
    our `_live_search_path` must be reset by the same events (except `set_tenant`, which is the
    reset this subclass exists to skip). A new reset upstream fails this test."""
    resets = {
        name
        for name, member in vars(tenants_base.DatabaseWrapper).items()
        if callable(member) and "search_path_set_schemas = None" in inspect.getsource(member)
    }
    assert resets == {"__init__", "close", "rollback", "savepoint_rollback", "set_tenant", "_handle_search_path"}  # fmt: skip
    for name in resets - {"set_tenant"}:
        assert name in vars(DatabaseWrapper), name


def test_django_still_has_the_health_check_hooks_we_use():
    for method in ("close_if_health_check_failed", "close_if_unusable_or_obsolete", "connect"):
        assert callable(getattr(BaseDatabaseWrapper, method, None)), method
    for attribute in ("health_check_done", "errors_occurred", "in_atomic_block"):
        assert hasattr(connection, attribute), attribute


# --- Django's Redis cache: one client per pool, degrading on errors (dreamseed/core/cache.py) ---


def test_the_cache_builds_our_client_through_djangos_private_class_attribute():
    cache = caches["default"]
    assert isinstance(cache, DreamSeedRedisCache) and isinstance(cache, RedisCache)
    assert "_class" in vars(cache)
    # RedisCache._cache builds its client from `_class`: if that stopped being read, every cache
    # call would go to the stock client, with neither the breaker nor the shared redis.Redis.
    assert isinstance(cache._cache, DegradingRedisCacheClient)


def test_djangos_redis_client_still_has_the_internals_we_use():
    assert callable(getattr(RedisCacheClient, "_get_connection_pool", None))
    assert "write" in inspect.signature(RedisCacheClient._get_connection_pool).parameters
    client = caches["default"]._cache
    assert "_client" in vars(client) and callable(client._client)
    assert client.get_client() is client.get_client()  # one redis.Redis per pool


def test_every_cache_operation_of_djangos_client_degrades():
    """A cache method Django adds to its client would bypass the breaker: it must be wrapped."""
    public = {
        name
        for name, member in vars(RedisCacheClient).items()
        if callable(member) and not name.startswith("_")
    }
    assert public - set(vars(DegradingRedisCacheClient)) == set()


# --- django-csp: the site-wide header built once (dreamseed/core/middleware.py) ------------------


def test_our_csp_middleware_is_django_csps():
    assert issubclass(CSPMiddleware, csp.middleware.CSPMiddleware)
    assert callable(getattr(csp.middleware.CSPMiddleware, "_csp_nonce_post_response", None))
    assert callable(getattr(csp.middleware, "CheckableLazyObject", None))
    assert "report_only" in inspect.signature(csp.utils.build_policy).parameters
    assert (HEADER, HEADER_REPORT_ONLY) == (
        "Content-Security-Policy",
        "Content-Security-Policy-Report-Only",
    )


def test_upstream_middleware_reads_the_private_names_we_check():
    source = inspect.getsource(csp.middleware)
    for name in (*_CSP_PER_RESPONSE, "_csp_exempt", "_csp_exempt_ro", "_csp_nonce"):
        assert f'"{name}"' in source, name


@pytest.mark.parametrize(
    "decorator",
    [
        csp_exempt(),
        csp_exempt(REPORT_ONLY=True),
        csp_update({"img-src": ["data:"]}),
        csp_update({"img-src": ["data:"]}, REPORT_ONLY=True),
        csp_replace({"img-src": ["data:"]}),
        csp_replace({"img-src": ["data:"]}, REPORT_ONLY=True),
        csp_config({"default-src": ["'self'"]}),
        csp_config({"default-src": ["'self'"]}, REPORT_ONLY=True),
    ],
)
def test_every_per_view_csp_change_is_one_our_fast_path_steps_aside_for(decorator):
    """The fast path skips a response only when it carries one of `_CSP_PER_RESPONSE`; a
    decorator that marked responses under a new name would get the site-wide header instead."""
    response = decorator(lambda request: HttpResponse())(None)
    marks = {name for name in vars(response) if name.startswith("_csp")}
    assert marks, "the decorator no longer marks the response"
    assert marks <= {*_CSP_PER_RESPONSE, "_csp_exempt", "_csp_exempt_ro"}
