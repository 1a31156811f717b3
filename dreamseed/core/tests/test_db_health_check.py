"""Django's per-request connection health check (a `SELECT 1`) is skipped for a connection that
finished a request without a database error within DATABASE_HEALTH_CHECK_GRACE seconds; an idle
connection, or one that just had an error, is still checked (and replaced if it is dead)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connections

from dreamseed.core.db import base as backend
from dreamseed.env import env_float


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def wrapper(db, monkeypatch, settings):
    """A connection of its own (outside the test's transaction), with health checks on, a fake
    clock and a count of the checks' round trips."""
    settings.DATABASE_HEALTH_CHECK_GRACE = 1.0
    clock = Clock()
    monkeypatch.setattr(backend.time, "monotonic", clock)
    options = {**connections["default"].settings_dict, "CONN_HEALTH_CHECKS": True}
    conn = backend.DatabaseWrapper({**options, "CONN_MAX_AGE": None}, "default")
    assert conn.settings_dict["NAME"].startswith("test_")
    checks = []
    usable = conn.is_usable

    def counted():
        checks.append(clock.now)
        return usable()

    conn.is_usable = counted
    conn.clock = clock
    conn.checks = checks
    yield conn
    conn.close()


def _request(conn, sql="SELECT 1"):
    """What Django does around a request: the start and end hooks, and a query in between."""
    conn.close_if_unusable_or_obsolete()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close_if_unusable_or_obsolete()


def test_a_connection_busy_a_moment_ago_is_not_checked_again(wrapper):
    _request(wrapper)  # a new connection needs no check
    assert wrapper.checks == []
    wrapper.clock.now += 0.5
    _request(wrapper)
    wrapper.clock.now += 0.9
    _request(wrapper)
    assert wrapper.checks == []


def test_an_idle_connection_is_checked_first(wrapper):
    _request(wrapper)
    wrapper.clock.now += 1.5
    _request(wrapper)
    assert wrapper.checks == [1001.5]
    wrapper.clock.now += 0.2  # just proven by the request that followed the check
    _request(wrapper)
    assert wrapper.checks == [1001.5]


def test_a_dead_idle_connection_is_replaced_before_the_request_uses_it(wrapper):
    _request(wrapper)
    first = wrapper.connection
    first.close()  # as if the server went away while the connection sat idle
    wrapper.clock.now += 5
    _request(wrapper)
    assert wrapper.checks == [1005.0]
    assert wrapper.connection is not first and not wrapper.connection.closed


def test_a_request_with_a_database_error_proves_nothing(wrapper):
    _request(wrapper)
    wrapper.clock.now += 0.1
    with pytest.raises(OperationalError):
        _request(wrapper, "SELECT pg_terminate_backend(pg_backend_pid())")
    # The end hook saw the error and found the connection unusable: closed, to be reopened.
    assert wrapper.connection is None
    wrapper.clock.now += 0.1
    _request(wrapper)
    assert wrapper.connection is not None


def test_grace_zero_checks_before_every_request_as_django_does(wrapper, settings):
    settings.DATABASE_HEALTH_CHECK_GRACE = 0
    _request(wrapper)
    _request(wrapper)
    wrapper.clock.now += 0.01
    _request(wrapper)
    assert len(wrapper.checks) == 2


@pytest.mark.parametrize("raw", ["soon", "nan", "inf"])
def test_a_malformed_grace_fails_at_start_up(monkeypatch, raw):
    monkeypatch.setenv("DATABASE_HEALTH_CHECK_GRACE", raw)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_HEALTH_CHECK_GRACE"):
        env_float("DATABASE_HEALTH_CHECK_GRACE", 1.0)


def test_the_grace_reads_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_HEALTH_CHECK_GRACE", "0.25")
    assert env_float("DATABASE_HEALTH_CHECK_GRACE", 1.0) == 0.25
    monkeypatch.delenv("DATABASE_HEALTH_CHECK_GRACE")
    assert env_float("DATABASE_HEALTH_CHECK_GRACE", 1.0) == 1.0
