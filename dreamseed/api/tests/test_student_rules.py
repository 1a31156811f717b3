"""One set of rules for a student: the add-a-student page, a roster line and the API refuse the
same values with the same messages (they all use classes.forms.StudentAddForm)."""

import pytest

from dreamseed.accounts.models import User
from dreamseed.classes.models import Class
from dreamseed.classes.roster import roster_plan
from dreamseed.testing import in_schema

GOOD = {"first_name": "Ana", "last_name": "Lopez", "username": "ana", "email": "", "grade": "5"}
COLUMNS = ("first_name", "last_name", "username", "email", "grade")
USERNAME_RULE = (
    "is not a valid username: use at most 150 letters, digits and @ . + - _ (no spaces)."
)

BAD_VALUES = [
    ({"first_name": ""}, {"first_name": ["A first name is required."]}),
    ({"last_name": ""}, {"last_name": ["A last name is required."]}),
    ({"first_name": "x" * 151}, {"first_name": ["Longer than 150 characters."]}),
    ({"username": "ana lopez"}, {"username": [f"'ana lopez' {USERNAME_RULE}"]}),
    # Too long and with a space: one message, not the same one twice.
    ({"username": "a b" * 60}, {"username": [f"'{'a b' * 60}' {USERNAME_RULE}"]}),
    ({"email": "ana@"}, {"email": ["'ana@' is not a valid email address."]}),
    (
        {"username": "", "email": ""},
        {"username": ["A username or an email address is required."]},
    ),
    (
        {"username": "", "email": "a" * 140 + "@example.org"},
        {"email": ["An email address used as a username can have at most 150 characters."]},
    ),
    ({"grade": "x" * 21}, {"grade": ["Longer than 20 characters."]}),
    (
        {"first_name": "", "username": "ana lopez", "email": "ana@"},
        {
            "first_name": ["A first name is required."],
            "username": [f"'ana lopez' {USERNAME_RULE}"],
            "email": ["'ana@' is not a valid email address."],
        },
    ),
]


def _page_errors(client, school_class, values):
    response = client.post(f"/classes/{school_class.pk}/students/new/", values)
    assert response.status_code == 400
    return {name: list(messages) for name, messages in response.context["form"].errors.items()}


def _api_errors(client, values):
    response = client.post("/api/students/", values, format="json")
    assert response.status_code == 400
    return response.json()


def _roster_errors(persona, school_class, values):
    line = ",".join(values[name] for name in COLUMNS)
    text = ",".join(COLUMNS) + "\n" + line + "\n"
    with in_schema(persona.schema_name):
        plan = roster_plan(text=text, default_class=school_class, classes=Class.objects.all())
    errors: dict[str, list[str]] = {}
    for problem in plan.problems:
        assert problem.line == 2
        errors.setdefault(problem.column, []).append(problem.message)
    return errors


@pytest.mark.parametrize(("bad", "expected"), BAD_VALUES)
def test_the_page_the_roster_and_the_api_give_the_same_messages(
    client_for, api_for, alpha_teacher, math_class, bad, expected
):
    values = GOOD | bad
    assert _page_errors(client_for(alpha_teacher), math_class, values) == expected
    assert _roster_errors(alpha_teacher, math_class, values) == expected
    assert _api_errors(api_for(alpha_teacher), values) == expected
    with in_schema(alpha_teacher.schema_name):
        assert not User.objects.filter(last_name="Lopez").exists()


def test_a_missing_or_null_api_field_gets_the_pages_message(api_for, alpha_teacher):
    client = api_for(alpha_teacher)
    for body in ({"last_name": "Lopez", "username": "ana"}, GOOD | {"first_name": None}):
        assert _api_errors(client, body) == {"first_name": ["A first name is required."]}


def test_the_api_still_checks_types(api_for, alpha_teacher):
    errors = _api_errors(api_for(alpha_teacher), GOOD | {"first_name": ["Ana"]})
    assert errors == {"first_name": ["Not a valid string."]}


def test_all_three_accept_the_same_student(client_for, api_for, alpha_teacher, math_class):
    values = GOOD | {"username": "Ana.Lopez", "email": "Ana@Example.org"}
    with in_schema(alpha_teacher.schema_name):
        plan = roster_plan(
            text=",".join(COLUMNS) + "\n" + ",".join(values[name] for name in COLUMNS) + "\n",
            default_class=math_class,
            classes=Class.objects.all(),
        )
    assert plan.is_valid
    assert (plan.rows[0].username, plan.rows[0].email) == ("ana.lopez", "ana@example.org")
    created = api_for(alpha_teacher).post("/api/students/", values, format="json")
    assert created.status_code == 201
    assert (created.json()["username"], created.json()["email"]) == (
        plan.rows[0].username,
        plan.rows[0].email,
    )
    again = client_for(alpha_teacher).post(f"/classes/{math_class.pk}/students/new/", values)
    assert "already has the username" in " ".join(again.context["form"].errors["username"])
