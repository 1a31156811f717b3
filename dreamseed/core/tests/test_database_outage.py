"""While PostgreSQL refuses connections (a restart), requests get a short 503 with Retry-After,
readiness fails, and the same process serves again as soon as the database is back."""

import logging

import pytest
from django.db import connection
from django.test import Client

from dreamseed.testing import free_port


@pytest.fixture
def database_down(committed_db):
    """The next connection goes to a loopback port where nothing listens; put back afterwards."""
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    yield
    connection.close()
    connection.settings_dict["PORT"] = real_port


def _client(host):
    return Client(HTTP_HOST=host, raise_request_exception=False)


def test_a_page_during_the_outage_is_a_short_503_with_retry_after(database_down, personas):
    response = _client(personas["alpha_admin"].host).get("/accounts/login/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Back in a moment" in response.text
    assert "Answers you already saved are kept." in response.text
    assert 'lang="en"' in response.text


def test_the_api_and_the_test_script_get_json(database_down, personas):
    api = _client(personas["alpha_admin"].host).get("/api/classes/", HTTP_AUTHORIZATION="Token abc")
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert api.json()["code"] == "database_unavailable"
    answer = _client(personas["alpha_admin"].host).post(
        "/tests/session/1/", {"item": 1, "choice": "B"}, HTTP_X_REQUESTED_WITH="fetch"
    )
    assert answer.status_code == 503
    assert answer.json()["retry_after"] == 5


def test_readyz_fails_while_the_database_is_away(database_down):
    response = _client("10.0.0.7").get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] == "OperationalError"
    assert response["Retry-After"] == "5"


def test_the_same_process_serves_again_when_the_database_is_back(committed_db, personas):
    real_port = connection.settings_dict["PORT"]
    client = _client(personas["alpha_admin"].host)
    assert client.get("/accounts/login/").status_code == 200
    try:
        connection.close()
        connection.settings_dict["PORT"] = str(free_port())
        assert client.get("/accounts/login/").status_code == 503
    finally:
        connection.settings_dict["PORT"] = real_port
    assert client.get("/accounts/login/").status_code == 200
    assert _client("localhost").get("/readyz").status_code == 200


def test_other_errors_still_get_the_500_page(rf):
    from dreamseed.core.dbdown import server_error

    request = rf.get("/")
    try:
        raise ValueError("a bug, not an outage")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_the_outage_is_logged_once_per_interval_not_per_request(database_down, personas, caplog):
    from dreamseed.core.dbdown import DatabaseOutageLogFilter

    for log_filter in logging.getLogger("django.request").filters:
        if isinstance(log_filter, DatabaseOutageLogFilter):
            log_filter._logged_at = float("-inf")  # earlier tests' outages are over
    client = _client(personas["alpha_admin"].host)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        for _ in range(5):
            assert client.get("/accounts/login/").status_code == 503
    logged = [record for record in caplog.records if record.name == "django.request"]
    assert len(logged) == 1
    assert logged[0].getMessage().startswith("database unavailable (503 with Retry-After)")
