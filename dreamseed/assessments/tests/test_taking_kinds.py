"""Every item kind through the real take page and the API: the controls a student gets, what a
right and a wrong answer record, and the message for an answer that cannot be marked."""

import pytest
from django.db import connection

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.itembank.models import BankRevision, ItemVersion
from dreamseed.testing import in_schema

# kind -> (what the version stores, the page's control, a right answer, a wrong answer)
KINDS = {
    "multiple": (
        {"correct_key": "", "answer": {"keys": ["B", "D"]}},
        'type="checkbox" name="choices"',
        {"choices": ["D", "B"]},
        {"choices": ["B"]},
    ),
    "truefalse": (
        {"options": [], "correct_key": "F", "answer": {}},
        'name="choice" value="F"',
        {"choice": "F"},
        {"choice": "T"},
    ),
    "numeric": (
        {
            "options": [],
            "correct_key": "",
            "answer": {"value": 2.5, "tolerance": 0.1, "units": ["cm"], "unit_required": False},
        },
        'name="response" inputmode="decimal"',
        {"response": "2,55 cm"},
        {"response": "2.7"},
    ),
    "text": (
        {
            "options": [],
            "correct_key": "",
            "answer": {"accepted": ["Séoul"], "case_sensitive": False},
        },
        'type="text" name="response"',
        {"response": "  seoul "},
        {"response": "Busan"},
    ),
    "ordering": (
        {"correct_key": "", "answer": {"order": ["D", "C", "B", "A"]}},
        'select name="order"',
        {"order": ["D", "C", "B", "A"]},
        {"order": ["A", "B", "C", "D"]},
    ),
}


def _make_kind(world, kind):
    stored = KINDS[kind][0]
    with in_schema(world.school.schema_name):
        ItemVersion.objects.all().update(kind=kind, **stored)
        BankRevision.bump()


def _start(client, world):
    response = client.post(f"/tests/take/{world.assignment.pk}/")
    return int(response["Location"].rstrip("/").split("/")[-1])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_shown_with_its_control_and_marked(client_for, alpha_student, world, kind):
    _make_kind(world, kind)
    _stored, control, right, wrong = KINDS[kind]
    client = client_for(alpha_student)
    session_id = _start(client, world)
    page = client.get(f"/tests/session/{session_id}/")
    assert control in page.text
    for answer in (right, wrong):
        connection.set_tenant(world.school)
        item = ExamSession.objects.get(pk=session_id).pending_item_id
        response = client.post(f"/tests/session/{session_id}/", {"item": item, **answer})
        assert response.status_code == 302, response.text if hasattr(response, "text") else ""
    connection.set_tenant(world.school)
    first, second = Attempt.objects.filter(session_id=session_id).order_by("position")
    assert first.correct and not second.correct
    assert first.theta_after > second.theta_after


@pytest.mark.parametrize(
    ("kind", "answer", "message"),
    [
        ("multiple", {"choices": ["B", "Z"]}, "Please choose among the answers shown."),
        ("ordering", {"order": ["D", "D", "B", "A"]}, "Put every answer in a place"),
        ("numeric", {"response": " "}, "Please choose an answer before going on."),
        ("text", {"response": "x" * 600}, "Your answer is too long"),
    ],
)
def test_an_answer_that_cannot_be_marked_records_nothing(
    client_for, alpha_student, world, kind, answer, message
):
    _make_kind(world, kind)
    client = client_for(alpha_student)
    session_id = _start(client, world)
    connection.set_tenant(world.school)
    item = ExamSession.objects.get(pk=session_id).pending_item_id
    response = client.post(f"/tests/session/{session_id}/", {"item": item, **answer})
    assert response.status_code == 400 and message in response.context["error"]
    connection.set_tenant(world.school)
    assert not Attempt.objects.filter(session_id=session_id).exists()


def test_the_api_takes_each_kinds_field(client_for, alpha_student, world):
    _make_kind(world, "multiple")
    client = client_for(alpha_student)
    started = client.post(
        "/api/sessions/", {"assignment": world.assignment.pk}, content_type="application/json"
    )
    assert started.status_code == 201, started.content
    session = started.json()
    assert session["pending_item"]["kind"] == "multiple"
    item = session["pending_item"]["item"]
    both = client.post(
        f"/api/sessions/{session['id']}/answer/",
        {"item": item, "choice": "B", "choices": ["B"]},
        content_type="application/json",
    )
    assert both.status_code == 400
    assert both.json()["non_field_errors"] == [
        "Give exactly one of choice, choices, order or response."
    ]
    answered = client.post(
        f"/api/sessions/{session['id']}/answer/",
        {"item": item, "choices": ["D", "B"]},
        content_type="application/json",
    )
    assert answered.status_code == 200, answered.content
    connection.set_tenant(world.school)
    attempt = Attempt.objects.get(session_id=session["id"])
    assert attempt.selected_choice == "B,D" and attempt.correct
