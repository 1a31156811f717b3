import pytest


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "10.0.0.7", "unknown.example"])
def test_healthz_answers_on_any_host(client, host, db):
    response = client.get("/healthz", HTTP_HOST=host)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_redis(client, db):
    response = client.get("/readyz", HTTP_HOST="10.0.0.7")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_stays_ready_but_degraded_when_redis_is_down(client, db, settings):
    """Redis only caches and brokers: every instance shares it, so failing readiness on it would
    pull them all out of the load balancer and turn a slowdown into an outage."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    response = client.get("/readyz", HTTP_HOST="localhost")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] != "ok"


def test_every_response_carries_a_request_id(public_client):
    response = public_client.get("/", HTTP_X_REQUEST_ID="trace-123")
    assert response["X-Request-ID"] == "trace-123"
    response = public_client.get("/", HTTP_X_REQUEST_ID="bad id with spaces\n")
    assert response["X-Request-ID"] != "bad id with spaces\n"
    assert len(response["X-Request-ID"]) == 32
