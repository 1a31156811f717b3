"""In Chromium: the billing page without Stripe keys, on a trial with keys, and past due; buying
goes to (a stand-in for) Stripe Checkout and back to a page that waits for the webhook.

Screenshots land in /tmp/billing-*.png for a look at the layout.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dreamseed.billing.models import BillingNotice
from dreamseed.billing.tests.conftest import CUSTOMER_ID, load
from dreamseed.schools.models import LicenceStatus, School
from dreamseed.testing import PASSWORD, axe_violations

LICENCE_FIELDS = [
    "licence_status",
    "licence_expires_at",
    "licence_period_end",
    "licence_cancel_at_period_end",
    "licence_updated_at",
    "plan",
    "seats",
    "stripe_customer_id",
    "stripe_subscription_id",
    "stripe_subscription_status",
    "licence_over_capacity_since",
]


@pytest.fixture
def alpha_licence_restored(committed_db, personas):
    """The browser needs committed rows; put alpha's licence back afterwards."""
    schema = personas["alpha_admin"].schema_name
    saved = School.objects.filter(schema_name=schema).values(*LICENCE_FIELDS).get()
    yield schema
    School.objects.filter(schema_name=schema).update(**saved)
    BillingNotice.objects.filter(school__schema_name=schema).delete()


def _sign_in(page, live_server, persona):
    page.goto(live_server.url(persona.host, "/accounts/login/?next=/billing/"))
    page.get_by_label("Username or email").fill(persona.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.browser
def test_billing_without_stripe_keys(
    live_server, alpha_licence_restored, personas, page, no_stripe
):
    _sign_in(page, live_server, personas["alpha_admin"])

    expect(page.get_by_role("heading", level=1)).to_have_text("Billing and licence")
    expect(page.get_by_role("heading", name="Online billing is not set up")).to_be_visible()
    expect(page.get_by_role("button", name="Buy a licence")).to_have_count(0)
    page.screenshot(path="/tmp/billing-no-keys.png", full_page=True)
    assert no_stripe.requests == []


@pytest.mark.browser
def test_buy_seats_on_a_trial_and_come_back_to_wait_for_stripe(
    live_server, alpha_licence_restored, personas, page, fake_stripe
):
    # Stripe's pages are not reachable here: answer for checkout.stripe.com in the browser.
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="Stripe Checkout"),
    )
    _sign_in(page, live_server, personas["alpha_admin"])

    expect(page.get_by_text("Free trial").first).to_be_visible()
    page.screenshot(path="/tmp/billing-trial.png", full_page=True)
    page.get_by_label("Student seats").fill("30")
    page.get_by_role("button", name="Buy a licence").click()

    expect(page.get_by_text("Stripe Checkout")).to_be_visible()
    session = fake_stripe.last("POST", "/v1/checkout/sessions")
    assert session.params["line_items[0][quantity]"] == "30"
    school = School.objects.get(schema_name=alpha_licence_restored)
    assert school.licence_status == LicenceStatus.TRIALING  # nothing granted by leaving for Stripe

    success_url = session.params["success_url"]
    assert success_url.startswith(live_server.url("alpha.localhost", "/billing/success/"))
    page.goto(success_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your payment is being confirmed")
    page.screenshot(path="/tmp/billing-success.png", full_page=True)


@pytest.mark.browser
def test_a_past_due_school_sees_its_deadline_invoices_and_the_portal(
    live_server, alpha_licence_restored, personas, page, fake_stripe
):
    now = timezone.now()
    School.objects.filter(schema_name=alpha_licence_restored).update(
        licence_status=LicenceStatus.PAST_DUE,
        licence_expires_at=now + timedelta(days=9),
        licence_period_end=now + timedelta(days=360),
        plan="per_seat_year",
        seats=30,
        stripe_customer_id=CUSTOMER_ID,
        stripe_subscription_id="sub_1SVq8dreamSeedAlpha",
        stripe_subscription_status="past_due",
    )
    fake_stripe.invoices[CUSTOMER_ID] = [
        load("invoice_payment_failed")["data"]["object"],
        load("invoice_paid")["data"]["object"],
    ]
    page.route(
        "https://billing.stripe.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="Stripe portal"),
    )
    _sign_in(page, live_server, personas["alpha_admin"])

    # Said twice: in the page itself and in the licence banner every page shows admins.
    expect(
        page.locator("main").get_by_text("Stripe could not collect the last payment")
    ).to_be_visible()
    expect(page.locator(".banner")).to_contain_text("Payment overdue")
    # No renewal date next to an overdue payment: the date that matters is the deadline.
    expect(page.get_by_text("Renews on")).to_have_count(0)
    expect(page.get_by_text("Keeps working until").first).to_be_visible()
    expect(page.get_by_role("cell", name="DS-0002", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="150.00 USD").first).to_be_visible()
    page.screenshot(path="/tmp/billing-past-due.png", full_page=True)

    page.get_by_role("button", name="Manage billing").click()
    expect(page.get_by_text("Stripe portal")).to_be_visible()
    portal = fake_stripe.last("POST", "/v1/billing_portal/sessions")
    assert portal.params["customer"] == CUSTOMER_ID


@pytest.mark.browser
def test_a_school_over_capacity_is_told_what_to_do(
    live_server, alpha_licence_restored, personas, page, fake_stripe
):
    now = timezone.now()
    # Two active students (sam, sara); the seats were lowered to 1 in Stripe's portal.
    School.objects.filter(schema_name=alpha_licence_restored).update(
        licence_status=LicenceStatus.ACTIVE,
        licence_expires_at=now + timedelta(days=379),
        licence_period_end=now + timedelta(days=365),
        licence_over_capacity_since=now,
        plan="per_seat_year",
        seats=1,
        stripe_customer_id=CUSTOMER_ID,
        stripe_subscription_id="sub_1SVq8dreamSeedAlpha",
        stripe_subscription_status="active",
    )
    _sign_in(page, live_server, personas["alpha_admin"])

    alert = page.get_by_role("alert").filter(has_text="More active students than seats")
    expect(alert.first).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "Your school has 2 active students but its licence has 1 seat (1 too few)"
    )
    expect(page.locator(".banner")).to_contain_text("More active students than seats.")
    expect(page.get_by_text("Renews on").first).to_be_visible()
    expect(page.get_by_label("Student seats")).to_have_value("2")
    expect(page.get_by_role("button", name="Change seats")).to_be_visible()
    page.screenshot(path="/tmp/billing-over-capacity.png", full_page=True)
    assert axe_violations(page) == []


@pytest.mark.browser
def test_a_canceled_school_shows_when_it_ended_not_a_renewal(
    live_server, alpha_licence_restored, personas, page, fake_stripe
):
    now = timezone.now()
    School.objects.filter(schema_name=alpha_licence_restored).update(
        licence_status=LicenceStatus.CANCELED,
        licence_expires_at=now - timedelta(days=3),
        licence_period_end=now + timedelta(days=362),
        plan="per_seat_year",
        seats=30,
        stripe_customer_id=CUSTOMER_ID,
        stripe_subscription_id="sub_1SVq8dreamSeedAlpha",
        stripe_subscription_status="canceled",
    )
    _sign_in(page, live_server, personas["alpha_admin"])

    expect(page.get_by_text("Ended on").first).to_be_visible()
    expect(page.get_by_text("Renews on")).to_have_count(0)
    expect(page.locator(".banner")).to_contain_text("Read-only mode.")
    expect(page.get_by_role("button", name="Buy a licence")).to_be_visible()
    page.screenshot(path="/tmp/billing-canceled.png", full_page=True)
    assert axe_violations(page) == []
