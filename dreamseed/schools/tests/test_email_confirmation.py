"""A school made at signup has an unconfirmed administrator address: until the link e-mailed to it
is followed, the school cannot invite anyone or buy seats (anyone can sign up, with anyone's
address; invitations and payments are how such a school would reach or cost other people)."""

import pytest
from django.core import signing
from django.utils import timezone

from dreamseed.accounts.models import User
from dreamseed.schools.confirmation import CONFIRMATION_SALT
from dreamseed.schools.models import School
from dreamseed.schools.tests.test_signup import VALID
from dreamseed.testing import in_schema, school_client

NEW_TEACHER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@maple.example",
    "role": "teacher",
}


@pytest.fixture
def signed_up(public_client, personas, mailoutbox, django_capture_on_commit_callbacks):
    """Maple Ridge, just signed up: its admin signed in at the school's host."""
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/signup/", VALID)
    assert response.status_code == 302
    admin = school_client("maple-ridge.localhost")
    admin.get(response["Location"].removeprefix("http://maple-ridge.localhost"))
    return admin


def _link(mailoutbox) -> str:
    (message,) = mailoutbox
    return next(line for line in message.body.splitlines() if "/confirm-email/" in line)


def test_signup_mails_a_confirmation_link_to_the_admin(signed_up, mailoutbox):
    school = School.objects.get(schema_name="maple_ridge")
    assert school.email_confirmed_at is None
    assert school.admin_email == "rosa@maple.example"
    (message,) = mailoutbox
    assert message.to == ["rosa@maple.example"]
    assert "Maple Ridge Elementary" in message.subject
    assert _link(mailoutbox).startswith("http://localhost/confirm-email/")


def test_an_unconfirmed_school_cannot_invite_staff(signed_up, mailoutbox):
    response = signed_up.post("/accounts/staff/", NEW_TEACHER)
    assert response.status_code == 400
    assert "Confirm your e-mail address" in response.text
    with in_schema("maple_ridge"):
        assert not User.objects.filter(username="ada@maple.example").exists()
    assert "Confirm your e-mail address" in signed_up.get("/accounts/staff/").text  # the banner


def test_an_unconfirmed_school_cannot_buy_seats(signed_up, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    settings.STRIPE_PRICE_ID = "price_x"
    response = signed_up.post("/billing/checkout/", {"seats": "60"}, follow=True)
    assert response.redirect_chain[-1][0] == "/billing/"
    assert "Confirm your e-mail address" in response.text
    school = School.objects.get(schema_name="maple_ridge")
    assert school.stripe_customer_id == ""


def test_following_the_link_confirms_and_unlocks_invitations(
    signed_up, mailoutbox, public_client, django_capture_on_commit_callbacks
):
    link = _link(mailoutbox)
    page = public_client.get(link.removeprefix("http://localhost"))
    assert page.status_code == 200
    assert "confirmed" in page.text and "http://maple-ridge.localhost/" in page.text
    assert School.objects.get(schema_name="maple_ridge").email_confirmed_at is not None
    with django_capture_on_commit_callbacks(execute=False):
        response = signed_up.post("/accounts/staff/", NEW_TEACHER)
    assert response.status_code == 302
    assert "Confirm your e-mail address" not in signed_up.get("/accounts/staff/").text
    # Following it again is harmless.
    assert public_client.get(link.removeprefix("http://localhost")).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        signing.dumps({"school": 10**9, "email": "rosa@maple.example"}, salt=CONFIRMATION_SALT),
        signing.dumps({"school": 1, "email": "rosa@maple.example"}, salt="another-salt"),
    ],
)
def test_a_bad_link_confirms_nothing(signed_up, public_client, token):
    page = public_client.get(f"/confirm-email/{token}/")
    assert page.status_code == 400
    assert "expired or is not valid" in page.text
    assert School.objects.get(schema_name="maple_ridge").email_confirmed_at is None


def test_a_link_for_an_old_address_confirms_nothing(signed_up, public_client):
    school = School.objects.get(schema_name="maple_ridge")
    token = signing.dumps(
        {"school": school.pk, "email": "old@maple.example"}, salt=CONFIRMATION_SALT
    )
    assert public_client.get(f"/confirm-email/{token}/").status_code == 400
    assert School.objects.get(pk=school.pk).email_confirmed_at is None


def test_the_admin_can_have_the_link_sent_again(signed_up, mailoutbox):
    response = signed_up.post("/school/confirm-email/resend/")
    assert response.status_code == 302
    assert len(mailoutbox) == 2 and mailoutbox[1].to == ["rosa@maple.example"]


def test_only_an_admin_of_that_school_may_resend(client_for, alpha_teacher, beta_admin, mailoutbox):
    School.objects.filter(schema_name="alpha").update(email_confirmed_at=None)
    assert client_for(alpha_teacher).post("/school/confirm-email/resend/").status_code == 403
    anonymous = client_for(host="alpha.localhost").post("/school/confirm-email/resend/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert mailoutbox == []


def test_schools_the_platform_made_are_confirmed(client_for, alpha_admin):
    school = School.objects.get(schema_name="alpha")
    assert school.email_confirmed_at is not None and school.email_confirmed_at <= timezone.now()
    response = client_for(alpha_admin).get("/accounts/staff/")
    assert "Confirm your e-mail address" not in response.text


def test_the_operator_sees_and_can_set_the_confirmation(signed_up, public_client):
    with in_schema("public"):
        operator = User.objects.create_superuser("ops", "ops@dreamseed.example", "x-long-pass")
        public_client.force_login(operator, backend="dreamseed.accounts.backends.AccountBackend")
    school = School.objects.get(schema_name="maple_ridge")
    page = public_client.get(f"/operator/schools/school/{school.pk}/change/")
    assert page.status_code == 200
    assert "rosa@maple.example" in page.text and "email_confirmed_at" in page.text
