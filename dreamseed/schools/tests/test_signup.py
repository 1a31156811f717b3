"""Creating a school on the public site."""

import pytest
from django.db import connection

from dreamseed.accounts.models import Role, User
from dreamseed.schools.models import Domain, School
from dreamseed.testing import in_schema, school_client

VALID = {
    "name": "Maple Ridge Elementary",
    "subdomain": "maple-ridge",
    "first_name": "Rosa",
    "last_name": "Parks",
    "email": "Rosa@Maple.example",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
}


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [name])
        return cursor.fetchone() is not None


def test_signup_creates_school_domain_and_admin_and_signs_them_in(public_client):
    response = public_client.post("/signup/", VALID)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("http://maple-ridge.localhost/accounts/welcome/")

    school = School.objects.get(schema_name="maple_ridge")
    assert school.name == "Maple Ridge Elementary"
    assert school.licence_status == "trialing" and school.seats > 0
    assert school.licence_expires_at is not None
    assert Domain.objects.get(tenant=school).domain == "maple-ridge.localhost"
    with in_schema("maple_ridge"):
        admin = User.objects.get()
        assert admin.role == Role.ADMIN
        assert admin.email == "rosa@maple.example"
        assert admin.check_password(VALID["password1"])

    school_browser = school_client("maple-ridge.localhost")
    landed = school_browser.get(location.removeprefix("http://maple-ridge.localhost"), follow=True)
    assert landed.status_code == 200
    assert landed.redirect_chain[-1][0] == "/"
    assert "Welcome to Maple Ridge Elementary!" in landed.text
    assert landed.context["user"].email == "rosa@maple.example"

    # The hand-off link works once only.
    replay = school_client("maple-ridge.localhost").get(
        location.removeprefix("http://maple-ridge.localhost")
    )
    assert replay.status_code == 302 and replay["Location"] == "/accounts/login/"


def test_handoff_token_for_one_school_is_useless_at_another(public_client, personas):
    response = public_client.post("/signup/", {**VALID, "subdomain": "oak-hill"})
    path = response["Location"].removeprefix("http://oak-hill.localhost")
    other = school_client("alpha.localhost").get(path)
    assert other.status_code == 302 and other["Location"] == "/accounts/login/"


def test_a_tampered_handoff_token_is_refused(db, personas):
    response = school_client("alpha.localhost").get("/accounts/welcome/not-a-real-token/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"subdomain": "alpha"}, "subdomain", "already taken"),
        ({"subdomain": "www"}, "subdomain", "is reserved"),
        ({"subdomain": "public"}, "subdomain", "is reserved"),
        ({"subdomain": "Bad_Name!"}, "subdomain", "lowercase letters"),
        ({"subdomain": "x"}, "subdomain", "lowercase letters"),
        ({"subdomain": "ends-with-"}, "subdomain", "lowercase letters"),
        ({"subdomain": "1starts-with-digit"}, "subdomain", "lowercase letters"),
        ({"password1": "password", "password2": "password"}, "password1", "too common"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        (
            {"password1": "rosa@maple.example", "password2": "rosa@maple.example"},
            "password1",
            "too similar",
        ),
        ({"password2": "something-else-entirely"}, "password2", "do not match"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"name": " "}, "name", "required"),
    ],
)
def test_bad_signup_input_gets_field_errors_and_creates_nothing(
    public_client, personas, changes, field, message
):
    schools_before = School.objects.count()
    domains_before = Domain.objects.count()
    response = public_client.post("/signup/", {**VALID, **changes})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert School.objects.count() == schools_before
    assert Domain.objects.count() == domains_before
    assert not _schema_exists("maple_ridge")


def test_signup_page_renders(public_client):
    response = public_client.get("/signup/")
    assert response.status_code == 200
    assert 'name="subdomain"' in response.text


def test_school_creation_clones_the_template_quickly(db, personas):
    from dreamseed.schools.services import school_create

    created = school_create(
        name="Speedy",
        subdomain="speedy",
        admin_email="a@speedy.example",
        admin_first_name="A",
        admin_last_name="B",
        admin_password="irrelevant-here",
    )
    assert _schema_exists("speedy")
    # Cloned, not migrated: the tables are there and migrations recorded as applied.
    with in_schema("speedy"):
        assert User.objects.count() == 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'accounts'")
            assert cursor.fetchone()[0] >= 1
    assert created.seconds < 5  # generous: the benchmark reports the real figure
