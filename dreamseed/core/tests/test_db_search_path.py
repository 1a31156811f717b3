"""The database backend keeps a connection's search_path across requests for the same school and
sets it again whenever it could be stale: another school, a rollback, a closed connection."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dreamseed.accounts.models import User
from dreamseed.testing import school_client


def _sets(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SET search_path")]


def _live_path() -> str:
    """The connection's search_path as PostgreSQL has it (no SET sent first)."""
    with connection.connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]


def _in(school) -> None:
    connection.set_schema_to_public()  # what the tenant middleware does before each request
    connection.set_tenant(school)


@pytest.fixture
def schools(alpha_admin, beta_admin, db):
    alpha, beta = alpha_admin.school, beta_admin.school
    connection.set_tenant(beta)
    User.objects.create(username="only-at-beta-sp", role="teacher")
    return alpha, beta


def _sees_beta_only_row() -> bool:
    return User.objects.filter(username="only-at-beta-sp").exists()


def test_the_same_school_again_needs_no_set(schools):
    alpha, _beta = schools
    _in(alpha)
    with CaptureQueriesContext(connection) as first:
        assert not _sees_beta_only_row()
    _in(alpha)
    with CaptureQueriesContext(connection) as again:
        assert not _sees_beta_only_row()
    assert len(_sets(first)) == 1 and _sets(again) == []
    assert alpha.schema_name in _live_path()


def test_another_school_sets_the_path_and_sees_only_its_own_rows(schools):
    alpha, beta = schools
    for school, sees in ((alpha, False), (beta, True), (alpha, False), (beta, True)):
        _in(school)
        with CaptureQueriesContext(connection) as captured:
            assert _sees_beta_only_row() is sees
        assert len(_sets(captured)) == 1
        assert school.schema_name in _live_path()


def test_a_set_undone_by_a_rollback_is_issued_again(schools):
    alpha, beta = schools
    _in(alpha)
    User.objects.count()
    with transaction.atomic():  # a savepoint here (the test runs in a transaction)
        _in(beta)
        with pytest.raises(RuntimeError), transaction.atomic():
            assert _sees_beta_only_row()  # SET beta runs inside this savepoint...
            raise RuntimeError
        # ...and is undone with it; the backend forgot it and set it again (no stale beta or
        # alpha path is trusted).
        assert _sees_beta_only_row()
        assert beta.schema_name in _live_path()
    _in(alpha)
    with CaptureQueriesContext(connection) as captured:
        assert not _sees_beta_only_row()
    assert len(_sets(captured)) == 1 and alpha.schema_name in _live_path()


def test_a_set_inside_a_rolled_back_block_is_not_trusted_afterwards(schools):
    alpha, beta = schools
    _in(alpha)
    User.objects.count()
    with CaptureQueriesContext(connection) as captured:
        with pytest.raises(RuntimeError), transaction.atomic():
            _in(beta)
            assert _sees_beta_only_row()
            raise RuntimeError
        # The rollback restored alpha's path in PostgreSQL; beta's is sent again.
        _in(beta)
        assert _sees_beta_only_row()
    assert len(_sets(captured)) == 2
    assert beta.schema_name in _live_path()


def test_requests_alternating_schools_on_one_connection(alpha_admin, beta_admin, settings):
    """The test client keeps one connection across requests, as production does: each request
    sees only its own school, and only a change of school costs a SET."""
    settings.TENANT_HOST_CACHE_SECONDS = 30
    alpha = school_client(alpha_admin.host, alpha_admin)
    beta = school_client(beta_admin.host, beta_admin)
    for client in (alpha, beta):  # each host's school is looked up once, then cached
        client.get("/accounts/staff/")
    sets = []
    for client, persona, other in (
        (alpha, alpha_admin, beta_admin),
        (beta, beta_admin, alpha_admin),
        (alpha, alpha_admin, beta_admin),
        (alpha, alpha_admin, beta_admin),
        (beta, beta_admin, alpha_admin),
    ):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/accounts/staff/")
        assert response.status_code == 200
        assert persona.username in response.text and other.username not in response.text
        sets.append(len(_sets(captured)))
    assert sets == [1, 1, 1, 0, 1]
