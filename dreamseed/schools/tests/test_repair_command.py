"""`manage.py schools_repair_schemas`: finding and repairing schools made with a reserved name
before signup refused them."""

from io import StringIO

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from dreamseed.accounts.models import Role, User
from dreamseed.core.tenancy import school_schemas_in_service
from dreamseed.schools.models import Domain, School
from dreamseed.testing import in_schema, school_client


@pytest.fixture
def information_schema_school(db, personas):
    """What signing up as `information-schema` used to leave behind: a school row naming
    PostgreSQL's schema, and its admin (with a session) in the public schema's tables."""
    operator = User.objects.create_superuser("ops", "ops@dreamseed.example", "x-long-password")
    (school,) = School.objects.bulk_create(
        [School(schema_name="information_schema", name="Sneaky School")]
    )
    Domain.objects.create(domain="information-schema.localhost", tenant=school, is_primary=True)
    with schema_context("information_schema"):
        admin = User.objects.create_user(
            username="mallory@example.com",
            email="mallory@example.com",
            password="mallorys-long-password",
            role=Role.ADMIN,
        )
        session = SessionStore()
        session["_auth_user_id"] = str(admin.pk)
        session.create()
    with in_schema("public"):
        operator_session = SessionStore()
        operator_session["_auth_user_id"] = str(operator.pk)
        operator_session.create()
    return {"school": school, "admin": admin, "operator": operator}


def _run(*args) -> str:
    out = StringIO()
    call_command("schools_repair_schemas", *args, stdout=out)
    return out.getvalue()


def test_it_lists_the_broken_school_and_changes_nothing_without_apply(information_schema_school):
    output = _run()
    assert "broken: Sneaky School" in output and "information_schema" in output
    assert "--apply" in output
    school = School.objects.get(pk=information_schema_school["school"].pk)
    assert school.schema_name == "information_schema"
    with in_schema("public"):
        assert User.objects.filter(username="mallory@example.com").exists()


def test_apply_gives_the_school_its_own_schema_and_empties_public(information_schema_school):
    school = information_schema_school["school"]
    output = _run("--apply")
    assert "repaired: Sneaky School" in output and "1 people moved" in output

    school.refresh_from_db()
    assert school.schema_name == f"school_{school.pk}"
    assert school.schema_name in school_schemas_in_service()
    with in_schema("public"):
        # The school's admin and their session are gone from the operator's tables; the operator
        # and their session stay.
        assert list(User.objects.values_list("username", flat=True)) == ["ops"]
        decoded = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
        assert decoded == [str(information_schema_school["operator"].pk)]
    with in_schema(school.schema_name):
        admin = User.objects.get()
        assert admin.username == "mallory@example.com" and admin.role == Role.ADMIN
        assert admin.check_password("mallorys-long-password")
        # New people get ids after the moved ones.
        newcomer = User.objects.create_user(username="new-teacher", role=Role.TEACHER)
        assert newcomer.pk > admin.pk

    # The school keeps its address, and its admin signs in there, in the school's own schema.
    client = school_client("information-schema.localhost")
    response = client.post(
        "/accounts/login/",
        {"username": "mallory@example.com", "password": "mallorys-long-password"},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert "No broken schools." in _run()


def test_the_operator_is_never_moved(information_schema_school):
    _run("--apply")
    with in_schema("public"):
        assert User.objects.get(username="ops").is_superuser


def test_schools_at_reserved_addresses_are_reported_and_moved_on_request(db, personas):
    beta = School.objects.get(schema_name="beta")
    Domain.objects.filter(tenant=beta).update(domain="operator.localhost")
    assert "reserved address: operator.localhost" in _run()

    with pytest.raises(CommandError, match="already taken"):
        _run("--readdress", "operator.localhost=alpha")
    output = _run("--readdress", "operator.localhost=beta-school")
    assert "moved: operator.localhost -> beta-school.localhost" in output
    assert Domain.objects.get(tenant=beta).domain == "beta-school.localhost"
    assert "reserved address" not in _run()
