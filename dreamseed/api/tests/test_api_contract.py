"""The API's contract as a generated client reads it: JSON errors everywhere under /api/, 401 with
a WWW-Authenticate challenge when credentials are missing or wrong (403 only when the caller is
known and not allowed), and the rules the serializers enforce written in the schema."""

import pytest


@pytest.mark.parametrize(
    "path", ["/api/nope/", "/api/classes/1/nothing/", "/api/v2/classes/", "/api/"]
)
def test_unknown_api_urls_answer_a_json_404(api_for, alpha_teacher, path):
    for client in (api_for(alpha_teacher), api_for(host=alpha_teacher.host)):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}


def test_unknown_pages_keep_the_html_404(client_for, alpha_teacher):
    response = client_for(alpha_teacher).get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_missing_slash_under_api_still_redirects(api_for, alpha_teacher):
    response = api_for(alpha_teacher).get("/api/classes")
    assert response.status_code == 301 and response["Location"] == "/api/classes/"


@pytest.mark.parametrize(
    "path", ["/api/classes/", "/api/students/", "/api/items/", "/api/sessions/1/"]
)
def test_no_credentials_is_401_with_a_challenge(api_for, personas, path):
    response = api_for(host="alpha.localhost").get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"]


def test_a_wrong_token_is_401_with_a_challenge(api_for, personas):
    client = api_for(host="alpha.localhost")
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/classes/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_another_schools_token_is_401(api_for, beta_teacher, alpha_teacher):
    beta_token = api_for(beta_teacher, token=True)._credentials["HTTP_AUTHORIZATION"]
    client = api_for(host=alpha_teacher.host)
    client.credentials(HTTP_AUTHORIZATION=beta_token)
    assert client.get("/api/classes/").status_code == 401


def test_a_known_caller_who_may_not_is_403(api_for, alpha_student):
    response = api_for(alpha_student).get("/api/students/")
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


def test_a_session_caller_still_works(api_for, alpha_teacher):
    assert api_for(alpha_teacher).get("/api/classes/").status_code == 200


@pytest.mark.parametrize("value", ["null", "maybe", "2", ""])
def test_the_archived_filter_takes_only_a_boolean(api_for, alpha_teacher, value):
    response = api_for(alpha_teacher).get("/api/classes/", {"archived": value})
    if value == "":
        assert response.status_code == 200  # the same as leaving it out
    else:
        assert response.status_code == 400
        assert "archived" in response.json()


@pytest.mark.parametrize("value", ["true", "false", "1", "0", "True", "False"])
def test_the_archived_filter_accepts_booleans(api_for, alpha_teacher, value):
    assert api_for(alpha_teacher).get("/api/classes/", {"archived": value}).status_code == 200


@pytest.fixture
def schema(api_for, alpha_teacher):
    return api_for(alpha_teacher).get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_the_schema_says_id_lists_may_not_be_empty(schema, api_for, alpha_teacher, math_class):
    components = schema["components"]["schemas"]
    assert components["StudentIds"]["properties"]["student_ids"]["minItems"] == 1
    assert components["Class"]["properties"]["teacher_ids"]["minItems"] == 1
    assert components["PatchedClass"]["properties"]["teacher_ids"]["minItems"] == 1
    # ...and the serializers enforce exactly that.
    client = api_for(alpha_teacher)
    empty = client.post(
        f"/api/classes/{math_class.pk}/enrollments/", {"student_ids": []}, format="json"
    )
    assert empty.status_code == 400 and "student_ids" in empty.json()
    no_teacher = client.patch(f"/api/classes/{math_class.pk}/", {"teacher_ids": []}, format="json")
    assert no_teacher.status_code == 400
    assert no_teacher.json()["teacher_ids"] == ["A class needs at least one teacher."]


def test_the_schema_says_what_may_be_null(schema, api_for, alpha_teacher, math_class):
    components = schema["components"]["schemas"]
    # Never null in input: a null is refused, and the schema does not say nullable.
    for name in ("name", "subject", "grade"):
        assert not components["Class"]["properties"][name].get("nullable"), name
    response = api_for(alpha_teacher).patch(
        f"/api/classes/{math_class.pk}/", {"name": None}, format="json"
    )
    assert response.status_code == 400
    assert components["Class"]["properties"]["archived_at"]["nullable"] is True
    archived = next(
        parameter
        for parameter in schema["paths"]["/api/classes/"]["get"]["parameters"]
        if parameter["name"] == "archived"
    )
    assert archived["schema"] == {"type": "boolean"}
    assert "null" in archived["description"].lower() or "true or false" in archived["description"]


def test_the_schema_documents_401_and_the_username_or_email_rule(schema):
    classes = schema["paths"]["/api/classes/"]["get"]["responses"]
    assert "401" in classes and "403" in classes
    token = schema["paths"]["/api/token/"]["post"]["responses"]
    assert "401" not in token  # the token exchange takes no credentials
    student_create = schema["components"]["schemas"]["StudentCreate"]
    assert "username or an email" in student_create["description"]
