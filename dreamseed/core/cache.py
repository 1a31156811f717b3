"""Django's Redis cache, made to degrade instead of fail, with one redis-py client per pool.

Redis is only a cache here: losing it must slow the product down, not stop it. Every cache
operation that fails with a Redis error is treated as a miss (a read returns the default, a write
is dropped) and logged once per `CACHE_ERROR_LOG_SECONDS`, with the number of failures since.
Sessions (`cached_db`) then come from the database, and everything else that is cached is
rebuilt from the database as on a cold start.

After a failure the process stops asking Redis for `CACHE_RETRY_SECONDS` (a circuit breaker), so
an unreachable server costs one connect timeout per interval, not one per cache call. Writes that
were dropped may have left an older value in a Redis that was only unreachable (not restarted):
their keys are remembered and deleted as soon as Redis answers again, so a session that was
ended or changed during the outage is not brought back from the cache.

`add()` is the project's once-only guard (single-use sign-in links, LTI nonces): when Redis
cannot say whether a key is new, it answers "not added", so a replay is refused rather than let
through. `incr()` of an unreachable counter returns the delta, as for a fresh counter.

The stock backend builds a new `redis.Redis` for every cache call; building one copies redis-py's
table of ~170 response callbacks, which showed up as a measurable share of every request (the
session load alone is one cache call). redis-py clients are thread-safe and hold no connection
of their own (the pool does), so one per pool is enough.
"""

import contextlib
import logging
import threading
import time

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

log = logging.getLogger("dreamseed.cache")

# Keys to delete when Redis is back; past this many, the whole cache database is flushed instead.
STALE_KEYS_MAX = 10_000


class _Outage:
    """Per-process state of one Redis cache location: is it down, what to log, what to clean."""

    def __init__(self, location: str):
        self.location = location
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.logged_at = 0.0
        self.failures = 0  # since the last log line
        self.stale_keys: set[str] = set()
        self.stale_overflow = False

    def skipping(self) -> bool:
        """True while the breaker is open: do not even try Redis."""
        return self.down_since is not None and time.monotonic() < self.retry_at

    def failed(self, operation: str, error: Exception, keys=()) -> None:
        now = time.monotonic()
        with self.lock:
            first = self.down_since is None
            if first:
                self.down_since = now
            self.retry_at = now + settings.CACHE_RETRY_SECONDS
            self.failures += 1
            self._remember(keys)
            if first or now - self.logged_at >= settings.CACHE_ERROR_LOG_SECONDS:
                failures, self.failures, self.logged_at = self.failures, 0, now
                log.warning(
                    "cache %s unavailable (%s on %s: %s); treating reads as misses and dropping "
                    "writes, %d failed operations since the last message",
                    self.location, type(error).__name__, operation, error, failures,
                )  # fmt: skip

    def dropped(self, keys) -> None:
        """A write skipped while the breaker is open."""
        with self.lock:
            self.failures += 1
            self._remember(keys)

    def _remember(self, keys) -> None:
        if self.stale_overflow:
            return
        self.stale_keys.update(keys)
        if len(self.stale_keys) > STALE_KEYS_MAX:
            self.stale_keys.clear()
            self.stale_overflow = True

    def recovered(self, client) -> None:
        """Redis answered again: drop what may be stale, then say so."""
        with self.lock:
            if self.down_since is None:
                return
            keys, overflow = list(self.stale_keys), self.stale_overflow
            try:
                if overflow:
                    client.flushdb()
                elif keys:
                    client.delete(*keys)
            except redis.RedisError:
                return  # still flaky: keep the keys for the next success
            down_for = time.monotonic() - self.down_since
            self.down_since, self.failures = None, 0
            self.stale_keys.clear()
            self.stale_overflow = False
        log.warning(
            "cache %s is back after %.1f s; %s",
            self.location, down_for,
            "flushed it (too many writes were dropped)" if overflow
            else f"deleted {len(keys)} keys written during the outage",
        )  # fmt: skip


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    outage = _outages.get(location)
    if outage is None:
        with _outages_lock:
            outage = _outages.setdefault(location, _Outage(location))
    return outage


def cache_outages_reset() -> None:
    """Forget every outage (tests)."""
    with _outages_lock:
        _outages.clear()


class _Miss(Exception):
    """Redis was not asked, or failed: the caller returns its miss value."""


class DegradingRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, *args, **kwargs):
        super().__init__(servers, *args, **kwargs)
        self._clients = {}
        self._location = ",".join(servers)

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def _call(self, operation, method, *args, keys=(), writes=False):
        # Looked up per call (one dict read), not kept on the client: the client lives as long
        # as the thread's cache object, and `cache_outages_reset` must reach it too.
        outage = _outage_for(self._location)
        if outage.skipping():
            if writes:
                outage.dropped(keys)
            raise _Miss
        try:
            result = method(*args)
        except redis.RedisError as error:
            outage.failed(operation, error, keys if writes else ())
            raise _Miss from error
        if outage.down_since is not None:
            outage.recovered(self.get_client(write=True))
        return result

    def add(self, key, value, timeout):
        try:
            return self._call("add", super().add, key, value, timeout, keys=(key,), writes=True)
        except _Miss:
            return False

    def get(self, key, default):
        try:
            return self._call("get", super().get, key, default)
        except _Miss:
            return default

    def set(self, key, value, timeout):
        with contextlib.suppress(_Miss):
            self._call("set", super().set, key, value, timeout, keys=(key,), writes=True)

    def touch(self, key, timeout):
        try:
            return self._call("touch", super().touch, key, timeout)
        except _Miss:
            return False

    def delete(self, key):
        try:
            return self._call("delete", super().delete, key, keys=(key,), writes=True)
        except _Miss:
            return False

    def get_many(self, keys):
        try:
            return self._call("get_many", super().get_many, keys)
        except _Miss:
            return {}

    def has_key(self, key):
        try:
            return self._call("has_key", super().has_key, key)
        except _Miss:
            return False

    def incr(self, key, delta):
        try:
            return self._call("incr", super().incr, key, delta, keys=(key,), writes=True)
        except _Miss:
            return delta

    def set_many(self, data, timeout):
        with contextlib.suppress(_Miss):
            self._call("set_many", super().set_many, data, timeout, keys=data, writes=True)

    def delete_many(self, keys):
        with contextlib.suppress(_Miss):
            self._call("delete_many", super().delete_many, keys, keys=keys, writes=True)

    def clear(self):
        try:
            return self._call("clear", super().clear)
        except _Miss:
            return False


class DreamSeedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = DegradingRedisCacheClient
