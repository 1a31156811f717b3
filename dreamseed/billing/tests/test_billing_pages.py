"""The billing pages on a school's host: who may see them, what they show, and the exact requests
they make to Stripe (through the fake HTTP client) for Checkout, the portal and invoices."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from dreamseed.billing.models import BillingDeployment
from dreamseed.billing.tests.conftest import (
    CUSTOMER_ID,
    PRICE_ID,
    SECRET_KEY,
    SUBSCRIPTION_ID,
    for_school,
    load,
    subscription,
)
from dreamseed.schools.models import LicenceStatus, School
from dreamseed.testing import in_schema

pytestmark = pytest.mark.django_db


def _reload(school: School) -> School:
    return School.objects.get(pk=school.pk)


def _active_students(persona) -> int:
    from dreamseed.accounts.models import Role, User

    with in_schema(persona.schema_name):
        return User.objects.filter(role=Role.STUDENT, is_active=True).count()


# --- Who may use them ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alpha_teacher", "alpha_student"])
@pytest.mark.parametrize(
    "method,path",
    [("get", "/billing/"), ("post", "/billing/checkout/"), ("post", "/billing/portal/"),
     ("get", "/billing/success/")],
)  # fmt: skip
def test_only_school_admins_may_use_billing(
    fake_stripe, client_for, request, persona, method, path
):
    person = request.getfixturevalue(persona)
    response = getattr(client_for(person), method)(
        path, {"seats": "10"} if method == "post" else {}
    )
    assert response.status_code == 403
    assert fake_stripe.requests == []


def test_signed_out_visitors_are_sent_to_sign_in(fake_stripe, client_for, alpha_admin):
    response = client_for(host=alpha_admin.host).get("/billing/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_billing_pages_do_not_exist_on_the_public_host(public_client):
    assert public_client.get("/billing/").status_code == 404


# --- Without Stripe keys (the development default) ----------------------------------------------


def test_without_keys_the_page_says_so_and_shows_the_licence(no_stripe, client_for, alpha_admin):
    response = client_for(alpha_admin).get("/billing/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Online billing is not set up" in page
    assert "Free trial" in page
    used = _active_students(alpha_admin)
    assert f"{used} / 50" in page  # seats used / paid (the trial's seats)
    assert "Trial ends" in page
    assert no_stripe.requests == []


def test_without_keys_buying_does_nothing_but_explain(no_stripe, client_for, alpha_admin):
    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": "30"}, follow=True)

    assert "Online billing is not set up on this server." in response.content.decode()
    assert no_stripe.requests == []
    school = alpha_admin.school
    assert (school.licence_status, school.seats, school.stripe_customer_id) == (
        LicenceStatus.TRIALING,
        50,
        "",
    )


# --- Buying: Checkout ----------------------------------------------------------------------------


def test_buying_creates_the_customer_and_a_subscription_checkout_for_the_seats(
    fake_stripe, client_for, alpha_admin
):
    used = _active_students(alpha_admin)
    before = int(time.time())

    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": "30"})

    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    school = alpha_admin.school
    customer = fake_stripe.last("POST", "/v1/customers")
    assert customer.params == {
        "name": "Alpha School",
        "email": "admin@alpha.example",
        "metadata[school_id]": str(school.pk),
        "metadata[school_schema]": "alpha",
    }
    deployment = BillingDeployment.objects.get().value
    assert customer.headers["Idempotency-Key"] == (
        f"dreamseed-{deployment}-school-{school.pk}-customer"
    )
    assert customer.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    session = fake_stripe.last("POST", "/v1/checkout/sessions")
    success_url = session.params.pop("success_url")
    assert success_url.startswith("http://alpha.localhost/billing/success/?started=")
    assert int(success_url.rsplit("=", 1)[1]) >= before
    assert session.params == {
        "mode": "subscription",
        "customer": school.stripe_customer_id,
        "client_reference_id": str(school.pk),
        "metadata[school_id]": str(school.pk),
        "metadata[school_schema]": "alpha",
        "subscription_data[metadata][school_id]": str(school.pk),
        "subscription_data[metadata][school_schema]": "alpha",
        "line_items[0][price]": PRICE_ID,
        "line_items[0][quantity]": "30",
        "line_items[0][adjustable_quantity][enabled]": "true",
        "line_items[0][adjustable_quantity][minimum]": str(used),
        "line_items[0][adjustable_quantity][maximum]": "10000",
        "billing_address_collection": "required",
        "tax_id_collection[enabled]": "true",
        "customer_update[address]": "auto",
        "customer_update[name]": "auto",
        "automatic_tax[enabled]": "false",
        "cancel_url": "http://alpha.localhost/billing/?canceled=1",
        "locale": "en",
    }
    # Starting a payment grants nothing: only Stripe's webhook changes the licence.
    assert school.stripe_customer_id.startswith("cus_Fake")
    assert (school.licence_status, school.seats, school.stripe_subscription_id) == (
        LicenceStatus.TRIALING,
        50,
        "",
    )


def test_a_school_with_a_customer_is_not_given_another(fake_stripe, client_for, alpha_admin):
    School.objects.filter(schema_name="alpha").update(stripe_customer_id=CUSTOMER_ID)

    client_for(alpha_admin).post("/billing/checkout/", {"seats": "20"})

    assert fake_stripe.calls("POST", "/v1/customers") == []
    assert fake_stripe.last("POST", "/v1/checkout/sessions").params["customer"] == CUSTOMER_ID


def test_checkout_speaks_the_admins_language(fake_stripe, client_for, alpha_admin):
    client = client_for(alpha_admin)
    client.cookies["django_language"] = "ko"
    client.post("/billing/checkout/", {"seats": "20"})
    assert fake_stripe.last("POST", "/v1/checkout/sessions").params["locale"] == "ko"


def test_fewer_seats_than_active_students_is_refused_with_the_reason(
    fake_stripe, client_for, alpha_admin
):
    used = _active_students(alpha_admin)
    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": str(used - 1)})

    assert response.status_code == 400
    assert f"Your school has {used} active students" in response.content.decode()
    assert fake_stripe.requests == []


@pytest.mark.parametrize("seats", ["0", "10001", "many", ""])
def test_nonsense_seat_counts_are_refused(fake_stripe, client_for, alpha_admin, seats):
    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": seats})
    assert response.status_code == 400
    assert fake_stripe.requests == []


def test_when_stripe_refuses_the_admin_is_told_and_nothing_breaks(
    fake_stripe, client_for, alpha_admin
):
    School.objects.filter(schema_name="alpha").update(stripe_customer_id=CUSTOMER_ID)
    fake_stripe.fail_next(message="No such price: 'price_1SVq2dreamSeedSeatYr'", param="price")

    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": "20"}, follow=True)

    assert response.redirect_chain[-1] == ("/billing/", 302)
    assert "Stripe could not open the payment page just now" in response.content.decode()


def test_a_paying_school_changes_seats_in_the_portal_not_a_second_checkout(
    fake_stripe, client_for, alpha_admin
):
    School.objects.filter(schema_name="alpha").update(
        stripe_customer_id=CUSTOMER_ID,
        stripe_subscription_id=SUBSCRIPTION_ID,
        stripe_subscription_status="active",
        licence_status=LicenceStatus.ACTIVE,
        plan="per_seat_year",
        seats=30,
    )
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_admin.school, quantity=30)

    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": "45"})

    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []
    portal = fake_stripe.last("POST", "/v1/billing_portal/sessions")
    assert portal.params["customer"] == CUSTOMER_ID
    assert portal.params["return_url"] == "http://alpha.localhost/billing/?canceled=1"
    assert portal.params["flow_data[type]"] == "subscription_update_confirm"
    assert portal.params["flow_data[subscription_update_confirm][subscription]"] == SUBSCRIPTION_ID
    assert portal.params["flow_data[subscription_update_confirm][items][0][id]"] == (
        "si_TQv8dreamSeedSeat"
    )
    assert portal.params["flow_data[subscription_update_confirm][items][0][quantity]"] == "45"
    assert portal.params["flow_data[after_completion][type]"] == "redirect"
    assert portal.params["flow_data[after_completion][redirect][return_url]"].startswith(
        "http://alpha.localhost/billing/success/?started="
    )
    assert alpha_admin.school.seats == 30  # until Stripe's webhook says otherwise


def test_asking_a_paying_school_for_the_seats_it_has_opens_the_portal_home(
    fake_stripe, client_for, alpha_admin
):
    School.objects.filter(schema_name="alpha").update(
        stripe_customer_id=CUSTOMER_ID,
        stripe_subscription_id=SUBSCRIPTION_ID,
        stripe_subscription_status="past_due",
        licence_status=LicenceStatus.PAST_DUE,
        seats=30,
    )
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_admin.school, quantity=30)

    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": "30"})

    assert response.status_code == 303
    portal = fake_stripe.last("POST", "/v1/billing_portal/sessions")
    assert portal.params == {
        "customer": CUSTOMER_ID,
        "return_url": "http://alpha.localhost/billing/",
        "locale": "en",
    }
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []


# --- Managing: the customer portal ---------------------------------------------------------------


def test_manage_billing_opens_the_customer_portal(fake_stripe, client_for, alpha_admin):
    School.objects.filter(schema_name="alpha").update(stripe_customer_id=CUSTOMER_ID)

    response = client_for(alpha_admin).post("/billing/portal/")

    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.com/p/session/test_bps_")
    portal = fake_stripe.last("POST", "/v1/billing_portal/sessions")
    assert portal.params == {
        "customer": CUSTOMER_ID,
        "return_url": "http://alpha.localhost/billing/",
        "locale": "en",
    }


def test_manage_billing_before_any_purchase_explains(fake_stripe, client_for, alpha_admin):
    response = client_for(alpha_admin).post("/billing/portal/", follow=True)

    assert "no billing account yet" in response.content.decode()
    assert fake_stripe.requests == []


# --- The page with Stripe ------------------------------------------------------------------------


def test_the_page_lists_the_schools_invoices(fake_stripe, client_for, alpha_admin):
    School.objects.filter(schema_name="alpha").update(stripe_customer_id=CUSTOMER_ID)
    paid = load("invoice_paid")["data"]["object"]
    failed = load("invoice_payment_failed")["data"]["object"]
    fake_stripe.invoices[CUSTOMER_ID] = [failed, paid]

    response = client_for(alpha_admin).get("/billing/")

    assert response.status_code == 200
    listing = fake_stripe.last("GET", "/v1/invoices")
    assert listing.query == {"customer": CUSTOMER_ID, "limit": "12"}
    page = response.content.decode()
    assert "DS-0001" in page and "DS-0002" in page
    assert "150.00 USD" in page
    assert paid["hosted_invoice_url"] in page and paid["invoice_pdf"] in page
    assert "Paid" in page and "Due" in page
    assert "Manage billing" in page
    assert "Online billing is not set up" not in page


def test_invoices_that_cannot_be_loaded_do_not_break_the_page(fake_stripe, client_for, alpha_admin):
    School.objects.filter(schema_name="alpha").update(stripe_customer_id=CUSTOMER_ID)
    fake_stripe.fail_next(
        status=401, message="Invalid API Key provided", type="invalid_request_error"
    )

    response = client_for(alpha_admin).get("/billing/")

    assert response.status_code == 200
    assert "Invoices could not be loaded from Stripe just now" in response.content.decode()


def test_the_page_shows_a_past_due_licence_and_its_deadline(fake_stripe, client_for, alpha_admin):
    deadline = timezone.now() + timedelta(days=9)
    School.objects.filter(schema_name="alpha").update(
        licence_status=LicenceStatus.PAST_DUE,
        licence_expires_at=deadline,
        plan="per_seat_year",
        seats=30,
    )

    page = client_for(alpha_admin).get("/billing/").content.decode()

    assert "Payment overdue" in page
    assert "Stripe could not collect the last payment" in page
    assert "Per student seat, yearly" in page


def test_the_checkout_cancel_return_says_nothing_changed(fake_stripe, client_for, alpha_admin):
    response = client_for(alpha_admin).get("/billing/?canceled=1", follow=True)
    assert "Payment canceled" in response.content.decode()


# --- Coming back from Stripe ---------------------------------------------------------------------


def test_the_success_page_grants_nothing_and_waits_for_stripe(fake_stripe, client_for, alpha_admin):
    started = int(time.time())

    response = client_for(alpha_admin).get(f"/billing/success/?started={started}")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Your payment is being confirmed" in page
    assert f'<meta http-equiv="refresh" content="3;url=?started={started}&amp;tries=1">' in page
    school = alpha_admin.school
    assert (school.licence_status, school.seats, school.stripe_subscription_id) == (
        LicenceStatus.TRIALING,
        50,
        "",
    )
    assert fake_stripe.requests == []


def test_the_success_page_stops_refreshing_after_a_while(fake_stripe, client_for, alpha_admin):
    page = client_for(alpha_admin).get("/billing/success/?started=1&tries=40").content.decode()
    assert "Still waiting for Stripe" in page
    assert "http-equiv" not in page


def test_the_success_page_shows_the_licence_once_the_webhook_applied_it(
    fake_stripe, client_for, alpha_admin, deliver
):
    started = int(time.time()) - 1
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_admin.school, quantity=30)
    deliver(for_school(load("checkout_session_completed"), alpha_admin.school))

    page = client_for(alpha_admin).get(f"/billing/success/?started={started}").content.decode()

    assert "Your licence is updated" in page
    assert "30 student seats" in page
    assert "http-equiv" not in page


def test_the_page_lets_its_forms_continue_to_stripe(fake_stripe, client_for, alpha_admin):
    # Browsers apply form-action to where a form's redirect leads, too.
    policy = client_for(alpha_admin).get("/billing/")["Content-Security-Policy"]
    form_action = next(part for part in policy.split(";") if "form-action" in part)
    assert "https://checkout.stripe.com" in form_action
    assert "https://billing.stripe.com" in form_action
    assert "'self'" in form_action


def test_idempotency_keys_name_this_deployment(fake_stripe, client_for, alpha_admin, settings):
    from dreamseed.billing.services import deployment_id

    made = deployment_id()
    assert made == deployment_id() == BillingDeployment.objects.get().value  # made once, kept
    assert len(made) == 16

    settings.BILLING_DEPLOYMENT_ID = "staging-eu"
    client_for(alpha_admin).post("/billing/checkout/", {"seats": "30"})

    customer = fake_stripe.last("POST", "/v1/customers")
    school = alpha_admin.school
    assert (
        customer.headers["Idempotency-Key"] == f"dreamseed-staging-eu-school-{school.pk}-customer"
    )
