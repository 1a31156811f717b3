"""Isolation suite: a school's schema name is attacker-chosen (it comes from the signup address),
so no path may create a school whose schema is one PostgreSQL or the platform already uses.

`information-schema` once became the schema `information_schema`: nothing was cloned into it, its
tables resolved to the public schema, and the new admin was written into the operator's user
table. Every way a school row can be made is tried here: signup, the operator's admin, and the
management commands.
"""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from dreamseed.accounts.models import User
from dreamseed.schools.models import Domain, School
from dreamseed.schools.tests.test_signup import VALID

# (signup address, the schema it would name)
SYSTEM_NAMES = [
    ("information-schema", "information_schema"),
    ("pg-catalog", "pg_catalog"),
    ("pg-toast", "pg_toast"),
    ("pg-temp-1", "pg_temp_1"),
    ("public", "public"),
    ("template-school", "template_school"),
]


def _public_users() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT username FROM public.accounts_user")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def leftover_schema(db):
    """A schema that exists in PostgreSQL without being a school (an extension's, a restore's)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA leftover_data")
        cursor.execute("CREATE TABLE leftover_data.accounts_user (id int)")
    return "leftover_data"


@pytest.fixture
def operator_client(public_client):
    operator = User.objects.create_superuser("operator", "ops@dreamseed.example", "x-long-password")
    public_client.force_login(operator, backend="dreamseed.accounts.backends.AccountBackend")
    return public_client


@pytest.mark.parametrize(("subdomain", "schema"), [*SYSTEM_NAMES, ("leftover-data", "")])
def test_signup_refuses_an_address_whose_schema_postgresql_already_uses(
    public_client, personas, leftover_schema, subdomain, schema
):
    schools_before = set(School.objects.values_list("schema_name", flat=True))
    users_before = _public_users()
    response = public_client.post("/signup/", {**VALID, "subdomain": subdomain})
    assert response.status_code == 400
    errors = response.context["form"].errors["subdomain"]
    assert any("reserved" in message for message in errors), errors
    assert set(School.objects.values_list("schema_name", flat=True)) == schools_before
    assert not Domain.objects.filter(domain=f"{subdomain}.localhost").exists()
    assert _public_users() == users_before


@pytest.mark.parametrize("subdomain", ["operator", "postgres", "metrics", "healthz", "signup"])
def test_signup_refuses_platform_names(public_client, personas, subdomain):
    response = public_client.post("/signup/", {**VALID, "subdomain": subdomain})
    assert response.status_code == 400
    assert "is reserved" in " ".join(response.context["form"].errors["subdomain"])
    assert not Domain.objects.filter(domain=f"{subdomain}.localhost").exists()


@pytest.mark.parametrize(
    "schema", [name for _subdomain, name in SYSTEM_NAMES] + ["leftover_data", "Information_Schema"]
)
def test_the_model_refuses_a_system_schema_whatever_creates_it(
    db, personas, leftover_schema, schema
):
    users_before = _public_users()
    with pytest.raises(ValidationError):
        School.objects.create(schema_name=schema, name="Sneaky")
    assert not School.objects.filter(name="Sneaky").exists()
    assert _public_users() == users_before


@pytest.mark.parametrize(
    "schema", ["information_schema", "pg_catalog", "public", "template_school", "leftover_data"]
)
def test_the_operators_admin_cannot_add_a_school_with_a_system_schema(
    operator_client, personas, leftover_schema, schema
):
    response = operator_client.post(
        "/operator/schools/school/add/",
        {
            "name": "Sneaky",
            "schema_name": schema,
            "licence_status": "trialing",
            "plan": "trial",
            "seats": "5",
            "domains-TOTAL_FORMS": "1",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
            "domains-0-domain": "sneaky.localhost",
            "domains-0-is_primary": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "reserved" in response.text
    assert not School.objects.filter(name="Sneaky").exists()
    assert not Domain.objects.filter(domain="sneaky.localhost").exists()


def test_the_operators_admin_adds_an_ordinary_school(operator_client, personas):
    response = operator_client.post(
        "/operator/schools/school/add/",
        {
            "name": "Cedar Grove",
            "schema_name": "cedar_grove",
            "licence_status": "trialing",
            "plan": "trial",
            "seats": "5",
            "domains-TOTAL_FORMS": "1",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
            "domains-0-domain": "cedar-grove.localhost",
            "domains-0-is_primary": "on",
        },
    )
    assert response.status_code == 302, response.text
    school = School.objects.get(schema_name="cedar_grove")
    assert Domain.objects.get(tenant=school).domain == "cedar-grove.localhost"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('cedar_grove.accounts_user') IS NOT NULL")
        assert cursor.fetchone()[0]


@pytest.mark.parametrize(
    "schema", ["information_schema", "pg_catalog", "public", "template_school", "leftover_data"]
)
def test_the_create_tenant_command_cannot_make_a_school_with_a_system_schema(
    db, personas, leftover_schema, schema
):
    users_before = _public_users()
    # django-tenants' own field check refuses pg_ names before ours runs.
    with pytest.raises((CommandError, ValidationError), match=r"reserved|Invalid string"):
        call_command(
            "create_tenant",
            schema_name=schema,
            name="Sneaky",
            domain_domain="sneaky.localhost",
            domain_is_primary="True",
            interactive=False,
        )
    assert not School.objects.filter(name="Sneaky").exists()
    assert not Domain.objects.filter(domain="sneaky.localhost").exists()
    assert _public_users() == users_before


@pytest.mark.parametrize("schema", ["information_schema", "public", "template_school"])
def test_the_rename_schema_command_cannot_move_a_school_onto_a_system_schema(db, personas, schema):
    with pytest.raises((CommandError, ValidationError)):
        call_command("rename_schema", rename_from="beta", rename_to=schema)
    assert School.objects.filter(schema_name="beta").exists()


def test_the_existing_schools_still_work(client_for, alpha_admin, beta_admin):
    assert client_for(alpha_admin).get("/").status_code == 200
    assert client_for(beta_admin).get("/").status_code == 200


@pytest.mark.parametrize("copy_fields", [True, False])
@pytest.mark.parametrize("schema", ["information_schema", "public", "leftover_data"])
def test_the_clone_tenant_command_cannot_make_a_school_with_a_system_schema(
    db, personas, leftover_schema, schema, copy_fields
):
    """clone_tenant (interactive: it asks again after a refusal) stores the row in store_tenant,
    copying a school by setting its pk to None, so the row still looks saved to Django: the
    check must catch that too."""
    from django_tenants.management.commands.clone_tenant import Command

    schools_before = School.objects.count()
    users_before = _public_users()
    command = Command(stderr=StringIO())
    fields = {"schema_name": schema} if copy_fields else {"schema_name": schema, "name": "Sneaky"}
    assert command.store_tenant("beta", copy_fields, **fields) is None
    assert "reserved" in command.stderr._out.getvalue()
    assert School.objects.count() == schools_before
    assert _public_users() == users_before
