"""The sessions API follows the same rules as the pages."""

import pytest
from django.db import connection

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.testing import in_schema


@pytest.fixture
def api(client_for, alpha_student):
    return client_for(alpha_student)


def test_start_read_and_answer_through_the_api(api, world):
    started = api.post(
        "/api/sessions/", {"assignment": world.assignment.pk}, content_type="application/json"
    )
    assert started.status_code == 201
    body = started.json()
    pending = body["pending_item"]
    assert body["status"] == "in_progress" and pending["item"] and len(pending["options"]) == 4
    assert "correct_key" not in str(body) and "key" in pending["options"][0]
    again = api.post(
        "/api/sessions/", {"assignment": world.assignment.pk}, content_type="application/json"
    )
    assert again.status_code == 200 and again.json()["id"] == body["id"]

    answered = api.post(
        f"/api/sessions/{body['id']}/answer/",
        {"item": pending["item"], "choice": "B"},
        content_type="application/json",
    )
    assert answered.status_code == 200 and answered.json()["n_items"] == 1
    repeat = api.post(
        f"/api/sessions/{body['id']}/answer/",
        {"item": pending["item"], "choice": "B"},
        content_type="application/json",
    )
    assert repeat.status_code == 409
    with in_schema(world.school.schema_name):
        assert Attempt.objects.count() == 1


def test_api_validation_errors_are_400_with_field_names(api, world):
    assert api.post("/api/sessions/", {}, content_type="application/json").json() == {
        "assignment": ["This field is required."]
    }
    body = api.post(
        "/api/sessions/", {"assignment": world.assignment.pk}, content_type="application/json"
    ).json()
    bad = api.post(
        f"/api/sessions/{body['id']}/answer/",
        {"item": body["pending_item"]["item"], "choice": "Q"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "choose one of the answers" in str(bad.json())


def test_the_score_is_shown_only_when_finished_and_allowed(api, make_world):
    world = make_world(max_items=1, min_items=1)
    body = api.post(
        "/api/sessions/", {"assignment": world.assignment.pk}, content_type="application/json"
    ).json()
    assert body["score"] is None
    done = api.post(
        f"/api/sessions/{body['id']}/answer/",
        {"item": body["pending_item"]["item"], "choice": "B"},
        content_type="application/json",
    ).json()
    assert done["finished"] and done["pending_item"] is None and done["score"]["score"] > 200


def test_api_access_rules(client_for, alpha_teacher, alpha_student2, beta_student, api, world):
    body = api.post(
        "/api/sessions/", {"assignment": world.assignment.pk}, content_type="application/json"
    ).json()
    assert client_for(alpha_teacher).get(f"/api/sessions/{body['id']}/").status_code == 403
    assert client_for(alpha_student2).get(f"/api/sessions/{body['id']}/").status_code == 404
    assert client_for(beta_student).get(f"/api/sessions/{body['id']}/").status_code == 404
    assert (
        client_for(beta_student)
        .post(
            "/api/sessions/", {"assignment": world.assignment.pk}, content_type="application/json"
        )
        .status_code
        == 404
    )
    assert client_for(host="alpha.localhost").get(f"/api/sessions/{body['id']}/").status_code == 401
    connection.set_tenant(world.school)
    assert ExamSession.objects.count() == 1
