"""Fixtures every test can use. See dreamseed/testing.py for what they are built from."""

import os

import pytest

from dreamseed import devstack
from dreamseed.testing import (
    CeleryWorker,
    LiveServer,
    create_personas,
    reset_connection_schema,
    school_client,
)

# Playwright's sync API runs an event loop in the test thread; Django's ORM is still safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    # Plain `pytest` works too: start the embedded stack if `make test` did not.
    if not (devstack._port_open(devstack.PG_PORT) and devstack._port_open(devstack.REDIS_PORT)):
        devstack.up()


def pytest_collection_modifyitems(config, items):
    """A quick run with `-p no:playwright` leaves the browser tests out (deselected, reported as
    such) instead of erroring on the missing `page` fixture. `make test` runs them all."""
    if config.pluginmanager.has_plugin("playwright"):
        return
    browser = [item for item in items if "browser" in item.keywords]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [item for item in items if "browser" not in item.keywords]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    own = None
    with django_db_blocker.unblock():
        if not connection.settings_dict["NAME"].startswith("test_"):
            # pytest-django creates the test database only when a collected test is marked as
            # using it (db, transactional_db, live_server); a run of only the tests that use
            # committed data (committed_db, the worker tests) would otherwise use the dev
            # database.
            own = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        assert connection.settings_dict["NAME"].startswith("test_"), "not a test database"
        personas = create_personas()
        reset_connection_schema()
    yield personas
    # Connections left by live-server threads and worker processes would stop pytest-django
    # from dropping the test database.
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        if own is not None:
            teardown_databases(own, verbosity=0)


@pytest.fixture(scope="session")
def personas(django_db_setup):
    return django_db_setup


@pytest.fixture(autouse=True)
def _public_schema_after_each_test():
    yield
    reset_connection_schema()


@pytest.fixture(autouse=True)
def _fresh_failure_counters():
    """Failure counters (wrong join codes, sign-in badges) live in the cache for minutes, keyed by
    student or address: the URL fuzzers' wrong answers would otherwise throttle a later test's
    persona. Only this run's counters are dropped; other cache entries stay."""
    from django.conf import settings
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    pattern = f"*{settings.CACHES['default']['KEY_PREFIX']}:*-failures:*"
    try:
        stale = list(client.scan_iter(match=pattern, count=1000))
        if stale:
            client.delete(*stale)
    except Exception:  # a test that takes Redis away must not fail here
        pass
    yield


def _persona_fixture(key):
    @pytest.fixture
    def fixture(personas, db):
        return personas[key]

    fixture.__name__ = key
    return fixture


alpha_admin = _persona_fixture("alpha_admin")
alpha_teacher = _persona_fixture("alpha_teacher")
alpha_teacher2 = _persona_fixture("alpha_teacher2")
alpha_student = _persona_fixture("alpha_student")
alpha_student2 = _persona_fixture("alpha_student2")
beta_admin = _persona_fixture("beta_admin")
beta_teacher = _persona_fixture("beta_teacher")
beta_student = _persona_fixture("beta_student")


@pytest.fixture
def client_for(db):
    """client_for(persona) -> a Client signed in as them at their school's host;
    client_for(host=...) -> an anonymous client at that host."""

    def make(persona=None, *, host=None):
        return school_client(host or persona.host, persona)

    return make


@pytest.fixture
def public_client(db):
    return school_client("localhost")


@pytest.fixture(autouse=True)
def _live_server_helper():
    """Replace pytest-django's helper, which would flush the database after every test that uses
    `live_server` (and with it the session's schools). Ours serves the committed session data;
    browser tests use `committed_db` and clean up what they create."""
    yield


@pytest.fixture(scope="session")
def live_server(django_db_setup, django_db_blocker):
    django_db_blocker.unblock()
    server = LiveServer().start()
    yield server
    server.stop()
    django_db_blocker.restore()


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Database access without a wrapping transaction, for data another process must see."""
    with django_db_blocker.unblock():
        yield
    reset_connection_schema()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup):
    worker = CeleryWorker().start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session", autouse=True)
def _patient_browser_assertions():
    """A 2-core CI machine running the suite can be slow: give page assertions time."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
