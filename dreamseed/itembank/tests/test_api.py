"""The item bank's REST API: staff only, scoped to the school, same rules as the editor."""

import json

import pytest
from rest_framework.authtoken.models import Token

from dreamseed.itembank.models import BankRevision, Item
from dreamseed.itembank.tests.conftest import make_item
from dreamseed.testing import in_schema, school_client

NEW_ITEM = {
    "external_id": "API-1",
    "status": "active",
    "subject": "Mathematics",
    "content_area": "Algebra",
    "standards": ["8.EE.C.7"],
    "model": "3PL",
    "a": 1.4,
    "b": 0.8,
    "c": 0.2,
    "stem": "Solve $2x + 3 = 11$.",
    "options": [{"key": "A", "text": "4"}, {"key": "B", "text": "7"}],
    "correct_key": "A",
}


def _post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_staff_list_items_with_filters(client_for, alpha_teacher, item):
    make_item(alpha_teacher, external_id="HARD", b=2.5, content_area="Algebra")
    client = client_for(alpha_teacher)
    response = client.get("/api/items/")
    assert response.status_code == 200
    assert {row["external_id"] for row in response.json()["results"]} == {"ALPHA-1", "HARD"}
    hard = client.get("/api/items/?b_min=2&tag=Algebra").json()
    assert [row["external_id"] for row in hard["results"]] == ["HARD"]
    first = response.json()["results"][0]
    assert first["correct_key"] and first["options"] and "statistics" in first


@pytest.mark.parametrize("who", ["alpha_student", None])
def test_students_get_403_visitors_401_and_never_a_key(client_for, personas, item, who):
    client = client_for(personas[who]) if who else school_client("alpha.localhost")
    for method, url in (
        ("get", "/api/items/"),
        ("get", f"/api/items/{item.pk}/"),
        ("post", "/api/items/"),
        ("patch", f"/api/items/{item.pk}/"),
        ("post", "/api/items/import/"),
    ):
        response = getattr(client, method)(url)
        assert response.status_code == (403 if who else 401), (method, url)
        assert "correct_key" not in response.content.decode()
        assert "Alpha secret" not in response.content.decode()


def test_token_authentication_works(alpha_teacher, item):
    with in_schema(alpha_teacher.schema_name):
        token = Token.objects.create(user_id=alpha_teacher.user_id)
    client = school_client("alpha.localhost")
    response = client.get("/api/items/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and response.json()["count"] == 1


def test_a_teacher_at_another_school_gets_404_for_alpha_ids(client_for, beta_teacher, item):
    client = client_for(beta_teacher)
    for method in ("get", "patch", "put"):
        response = (
            getattr(client, method)(
                f"/api/items/{item.pk}/", json.dumps({"b": 1}), content_type="application/json"
            )
            if method != "get"
            else client.get(f"/api/items/{item.pk}/")
        )
        assert response.status_code == 404
        assert "Alpha secret" not in response.content.decode()
    assert client.get("/api/items/").json()["count"] == 0


def test_create_an_item(client_for, alpha_teacher):
    response = _post(client_for(alpha_teacher), "/api/items/", NEW_ITEM)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["external_id"] == "API-1" and body["version"] == 1
    assert body["stem"] == "<p>Solve $2x + 3 = 11$.</p>"
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.get(external_id="API-1").created_by_id == alpha_teacher.user_id


def test_bad_input_is_a_400_naming_the_fields(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    response = _post(
        client, "/api/items/", {**NEW_ITEM, "a": -1, "correct_key": "Z", "status": "gone"}
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"a", "correct_key", "status"}
    assert "above 0" in body["a"][0]
    assert _post(client, "/api/items/", ["not", "an", "object"]).status_code == 400
    nul = _post(client, "/api/items/", {**NEW_ITEM, "subject": "a\x00b", "stem": "x\x00y"})
    assert nul.status_code == 400 and "null character" in nul.json()["subject"][0]
    duplicate = _post(client, "/api/items/", NEW_ITEM)
    assert duplicate.status_code == 201
    again = _post(client, "/api/items/", NEW_ITEM)
    assert again.status_code == 400 and "already exists" in again.json()["external_id"][0]
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.count() == 1


def test_partial_update_changes_parameters_and_content_makes_a_version(
    client_for, alpha_teacher, item
):
    client = client_for(alpha_teacher)
    with in_schema(alpha_teacher.schema_name):
        revision = BankRevision.current()
    response = client.patch(
        f"/api/items/{item.pk}/", json.dumps({"b": 1.75}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["b"] == 1.75 and response.json()["version"] == 1
    with in_schema(alpha_teacher.schema_name):
        assert BankRevision.current() == revision + 1
    response = client.patch(
        f"/api/items/{item.pk}/",
        json.dumps({"stem": "Reworded", "option_c": "five"}),
        content_type="application/json",
    )
    assert response.json()["version"] == 2
    assert [o["text"] for o in response.json()["options"]] == ["3", "4", "five", "22"]
    bad = client.patch(
        f"/api/items/{item.pk}/",
        json.dumps({"external_id": "NEW"}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "cannot change" in bad.json()["external_id"][0]


def test_import_through_the_api(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    good = "external_id,stem,option_a,option_b,correct_key,b,status\nI-1,Q1,1,2,A,0.5,active\n"
    dry = _post(client, "/api/items/import/?", {"content": good, "format": "csv", "dry_run": True})
    assert dry.status_code == 200
    assert dry.json()["counts"] == {"rows": 1, "create": 1, "update": 0, "unchanged": 0}
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()
    done = _post(client, "/api/items/import/", {"content": good})
    assert done.status_code == 200 and done.json()["dry_run"] is False
    bad = _post(client, "/api/items/import/", {"content": good.replace("0.5", "zero")})
    assert bad.status_code == 400
    assert bad.json()["errors"][0] | {"text": ""} == {
        "line": 2, "item": None, "column": "b", "place": None, "message": "“zero” is not a number.",
        "text": "",
    }  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = client.post("/api/items/import/", {"file": SimpleUploadedFile("x.csv", good.encode())})
    assert upload.status_code == 200 and upload.json()["counts"]["unchanged"] == 1
    assert _post(client, "/api/items/import/", {}).status_code == 400
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.get().b == 0.5


def test_the_openapi_schema_includes_the_item_endpoints(client_for, alpha_teacher):
    response = client_for(alpha_teacher).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/items/import/" in response.content
