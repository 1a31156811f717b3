"""API rate limits: per token (or signed-in user) and per school, 429 with Retry-After, limits
from settings (the environment), described in the OpenAPI schema."""

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.authtoken.models import Token

from dreamseed.accounts.models import Role, User
from dreamseed.testing import in_schema


@pytest.fixture
def rates(settings):
    """Small limits for the test, and counters of the schools involved cleared."""
    settings.API_THROTTLE_RATES = {
        "token": "3/minute",
        "school": "100000/minute",
        "anonymous": "100000/minute",
    }
    for schema in ("alpha", "beta"):
        with in_schema(schema):
            cache.delete("throttle_school_" + schema)
    connection.set_schema_to_public()
    return settings.API_THROTTLE_RATES


def _teacher_with_token(persona_admin, username):
    with in_schema(persona_admin.schema_name):
        user = User.objects.create_user(username=username, password="x" * 12, role=Role.TEACHER)
        return Token.objects.create(user=user).key


def _client(api_for, persona, token):
    client = api_for(host=persona.host)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_over_its_limit_gets_429_with_retry_after(api_for, alpha_admin, rates):
    client = _client(api_for, alpha_admin, _teacher_with_token(alpha_admin, "t1@alpha.example"))
    assert [client.get("/api/classes/").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/api/classes/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()
    # Another token of the same school has its own allowance.
    other = _client(api_for, alpha_admin, _teacher_with_token(alpha_admin, "t2@alpha.example"))
    assert other.get("/api/classes/").status_code == 200


def test_a_school_over_its_limit_is_refused_and_other_schools_are_not(
    api_for, alpha_admin, beta_admin, rates
):
    rates["token"] = "100000/minute"
    rates["school"] = "4/minute"
    first = _client(api_for, alpha_admin, _teacher_with_token(alpha_admin, "s1@alpha.example"))
    second = _client(api_for, alpha_admin, _teacher_with_token(alpha_admin, "s2@alpha.example"))
    codes = [client.get("/api/classes/").status_code for client in (first, second) * 2]
    assert codes == [200, 200, 200, 200]
    assert second.get("/api/classes/").status_code == 429
    assert first.get("/api/classes/").status_code == 429
    beta = _client(api_for, beta_admin, _teacher_with_token(beta_admin, "s3@beta.example"))
    assert beta.get("/api/classes/").status_code == 200


def test_signed_in_users_are_counted_per_user_and_per_school(
    api_for, alpha_admin, beta_admin, rates
):
    """Without a token the browser's session counts per user; user ids are per school, so the
    counter is keyed by school too."""
    clients = []
    for persona, username in ((alpha_admin, "u1@alpha.example"), (beta_admin, "u1@beta.example")):
        with in_schema(persona.schema_name):
            user = User.objects.create_user(username=username, password="x" * 12, role=Role.TEACHER)
            client = api_for(host=persona.host)
            client.force_login(user, backend="dreamseed.accounts.backends.AccountBackend")
        clients.append(client)
    alpha, beta = clients
    for _ in range(3):
        assert alpha.get("/api/classes/").status_code == 200
    assert alpha.get("/api/classes/").status_code == 429
    assert beta.get("/api/classes/").status_code == 200


def test_the_schema_documents_429_and_503_with_retry_after(api_for, alpha_teacher):
    schema = api_for(alpha_teacher).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/classes/"]["get"]
    for status in ("429", "503"):
        response = operation["responses"][status]
        assert response["headers"]["Retry-After"]["schema"]["type"] == "integer"
        assert response["content"]["application/json"]["schema"]["$ref"].endswith("ErrorDetail")
    assert "API_THROTTLE_TOKEN" in operation["responses"]["429"]["description"]
