"""The item API writes and reads every question type, with the editor's rules and 400 bodies
that name the field."""

import json

import pytest

from dreamseed.itembank.models import Item, ItemVersion
from dreamseed.testing import in_schema

BASE = {"status": "active", "model": "3PL", "a": 1.1, "b": 0.4, "c": 0, "stem": "Question?"}

# kind -> (what is posted besides BASE, stored correct_key, stored answer, answer in words)
GOOD = {
    "single": ({"options": ["3", "4"], "correct_key": "b"}, "B", {}, "B"),
    "multiple": (
        {
            "options": [{"key": "A", "text": "2"}, {"key": "B", "text": "4"}, "6"],
            "answer": {"keys": ["C", "A"]},
        },
        "",
        {"keys": ["A", "C"]},
        "A, C",
    ),
    "truefalse": ({"correct_key": "false"}, "F", {}, "False"),
    "numeric": (
        {"answer": {"value": "2,5", "tolerance": 0.5, "units": ["m"], "unit_required": True}},
        "",
        {"value": 2.5, "tolerance": 0.5, "units": ["m"], "unit_required": True},
        "2.5 ± 0.5 m",
    ),
    "text": (
        {"accepted_answers": "Seoul|서울", "case_sensitive": "yes"},
        "",
        {"accepted": ["Seoul", "서울"], "case_sensitive": True},
        "Seoul / 서울 (case matters)",
    ),
    "ordering": (
        {"options": ["b", "a", "c"], "answer": {"order": ["B", "A", "C"]}},
        "",
        {"order": ["B", "A", "C"]},
        "B → A → C",
    ),
    "extended": ({"status": "pilot", "b": None}, "", {}, "Not scored: read by the teacher."),
}


def _send(client, method, url, data):
    return getattr(client, method)(url, json.dumps(data), content_type="application/json")


@pytest.mark.parametrize("kind", list(GOOD))
def test_create_and_read_each_type(client_for, alpha_teacher, kind):
    extra, correct_key, answer, in_words = GOOD[kind]
    client = client_for(alpha_teacher)
    response = _send(client, "post", "/api/items/", {**BASE, "kind": kind, **extra})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["correct_key"], body["answer"]) == (kind, correct_key, answer)
    assert body["answer_display"] == in_words
    read = client.get(f"/api/items/{body['id']}/").json()
    assert read["kind"] == kind and read["answer"] == answer
    with in_schema(alpha_teacher.schema_name):
        version = Item.objects.get(pk=body["id"]).current_version
        assert (version.kind, version.correct_key, version.answer) == (kind, correct_key, answer)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "numeric"}, "answer_value", "Enter the correct number"),
        (
            {"kind": "numeric", "answer": {"value": 1, "tolerance": -2}},
            "answer_tolerance",
            "cannot be negative",
        ),
        ({"kind": "numeric", "answer": "3"}, "answer", "as an object"),
        ({"kind": "text", "answer": {"accepted": []}}, "accepted_answers", "at least one"),
        (
            {"kind": "text", "accepted_answers": "x", "case_sensitive": "maybe"},
            "case_sensitive",
            "yes or no",
        ),
        (
            {"kind": "multiple", "options": ["1", "2"], "answer": {"keys": ["A", "Q"]}},
            "correct_key",
            "not one of the options",
        ),
        (
            {"kind": "ordering", "options": ["1", "2", "3"], "answer": {"order": ["A", "B"]}},
            "correct_key",
            "every option key once",
        ),
        (
            {"kind": "truefalse", "correct_key": "T", "options": ["yes", "no"]},
            "options",
            "has no options",
        ),
        ({"kind": "truefalse", "correct_key": "perhaps"}, "correct_key", "true (T) or false"),
        ({"kind": "essay"}, "kind", "is not one of"),
        ({"kind": "extended"}, "status", "cannot be active"),
    ],
)
def test_bad_input_of_each_type_is_a_400_naming_the_field(
    client_for, alpha_teacher, data, field, message
):
    response = _send(client_for(alpha_teacher), "post", "/api/items/", {**BASE, **data})
    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert message in " ".join(body[field])
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists() and not ItemVersion.objects.exists()


def test_updating_the_type_and_answer_makes_a_new_version(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    created = _send(
        client, "post", "/api/items/", {**BASE, "options": ["3", "4"], "correct_key": "A"}
    ).json()
    url = f"/api/items/{created['id']}/"

    # A true/false item has no options: the body says so, and nothing changes.
    refused = _send(client, "patch", url, {"kind": "truefalse", "correct_key": "T"})
    assert refused.status_code == 400 and "has no options" in refused.json()["options"][0]

    changed = _send(client, "patch", url, {"kind": "truefalse", "correct_key": "T", "options": []})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["version"], changed.json()["kind"]) == (2, "truefalse")
    numeric = _send(client, "put", url, {**BASE, "kind": "numeric", "options": [],
                                          "answer": {"value": 12}})  # fmt: skip
    assert numeric.status_code == 200, numeric.content
    assert numeric.json()["version"] == 3 and numeric.json()["answer"]["value"] == 12
    tolerance = _send(client, "patch", url, {"answer_tolerance": "0.5", "answer_value": "12"})
    assert tolerance.json()["version"] == 4 and tolerance.json()["answer_display"] == "12 ± 0.5"
    same = _send(client, "patch", url, {"subject": "Maths"})
    assert same.json()["version"] == 4
    with in_schema(alpha_teacher.schema_name):
        kinds = list(
            ItemVersion.objects.filter(item_id=created["id"])
            .order_by("number")
            .values_list("kind", flat=True)
        )
        assert kinds == ["single", "truefalse", "numeric", "numeric"]


def test_the_schema_documents_kind_and_answer(client_for, alpha_teacher):
    schema = client_for(alpha_teacher).get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "answer_display" in text and "truefalse" in text
