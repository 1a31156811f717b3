"""Hostile JSON (nested a thousand levels in 2 KB, or larger than the limit) is refused before it
is parsed, with a 400/413 and a message saying what is wrong, wherever JSON enters: the API's
parser (anonymous token exchange included), the item import (API and page, a .json file), and the
Stripe webhook. Python's parser would otherwise raise RecursionError: a 500."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dreamseed.core.jsonlimits import JSONLimitError, json_depth, json_limits_check

DEEP = "[" * 1000 + "]" * 1000  # 2 KB
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def test_depth_is_counted_without_parsing():
    assert json_depth("") == 0
    assert json_depth("1") == 0
    assert json_depth('{"a": [1, {"b": []}]}') == 4
    assert json_depth('["[[[[", "{{{{", "\\"[[["]') == 1  # brackets inside strings do not count
    assert json_depth(DEEP) == 1000
    assert json_depth(DEEP_OBJECT) == 1000
    assert json_depth(DEEP.encode()) == 1000


def test_the_check_refuses_deep_and_large_documents(settings):
    settings.JSON_MAX_DEPTH = 32
    json_limits_check('{"items": [{"options": ["a", "b"]}]}')
    with pytest.raises(JSONLimitError, match="nested more than 32 levels") as deep:
        json_limits_check(DEEP)
    assert deep.value.status == 400
    with pytest.raises(JSONLimitError, match="larger than") as large:
        json_limits_check("[" + "1," * 600 + "1]", max_bytes=1000)
    assert large.value.status == 413


def _post_json(client, path, body: str, **extra):
    return client.generic("POST", path, body, content_type="application/json", **extra)


def _assert_refused_as_too_deep(response):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert "nested more than" in json.dumps(response.json())


def test_anonymous_token_exchange_refuses_deep_json(client_for, personas):
    _assert_refused_as_too_deep(_post_json(client_for(host="alpha.localhost"), "/api/token/", DEEP))


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_the_api_refuses_deep_json(client_for, alpha_teacher, world, body):
    client = client_for(alpha_teacher)
    class_id = world.school_class.pk
    for path in (
        "/api/classes/",
        f"/api/classes/{class_id}/enrollments/",
        "/api/students/",
        "/api/items/import/",
        "/api/items/",
    ):
        _assert_refused_as_too_deep(_post_json(client, path, body))
    _assert_refused_as_too_deep(
        client.generic(
            "DELETE",
            f"/api/classes/{class_id}/enrollments/",
            body,
            content_type="application/json",
        )
    )


def test_the_api_refuses_an_oversized_body_with_413(client_for, alpha_teacher, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"name": "x" * 20_000})
    response = _post_json(client_for(alpha_teacher), "/api/classes/", body)
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_item_import_api_refuses_a_deep_json_file(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    upload = SimpleUploadedFile("items.json", DEEP.encode(), content_type="application/json")
    response = client.post("/api/items/import/", {"file": upload, "dry_run": "true"})
    assert response.status_code == 400
    assert "nested more than" in response.json()["errors"][0]["message"]
    as_text = _post_json(client, "/api/items/import/", json.dumps({"content": DEEP}))
    assert as_text.status_code == 400
    assert "nested more than" in as_text.json()["errors"][0]["message"]


def test_item_import_page_refuses_a_deep_json_file(client_for, alpha_teacher):
    upload = SimpleUploadedFile("items.json", DEEP_OBJECT.encode(), content_type="application/json")
    response = client_for(alpha_teacher).post("/items/import/", {"file": upload})
    assert response.status_code == 400
    assert "nested more than" in " ".join(response.context["form"].errors["file"])


def test_the_stripe_webhook_refuses_deep_json_before_anything_else(public_client, settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    response = _post_json(public_client, "/stripe/webhook/", DEEP, HTTP_STRIPE_SIGNATURE="t=1,v1=0")
    assert response.status_code == 400
    assert "nested more than" in response.content.decode()
