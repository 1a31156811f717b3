"""One live subscription per school: Buy changes the existing subscription (even one whose
webhook has not arrived yet), an older open payment page is closed before a new one opens, and a
second live subscription that happens anyway is detected, shown to the operator and does not
make the licence swing between the two."""

import pytest

from dreamseed.billing.models import BillingNotice, NoticeKind
from dreamseed.billing.tests.conftest import (
    CUSTOMER_ID,
    SUBSCRIPTION_ID,
    for_school,
    load,
    subscription,
)
from dreamseed.schools.models import LicenceStatus, School

pytestmark = pytest.mark.django_db

SECOND = "sub_1SVqAdreamSeedSecond"


def _reload(school: School) -> School:
    return School.objects.get(pk=school.pk)


def test_buy_goes_to_the_portal_when_stripe_has_a_subscription_the_webhook_has_not_brought(
    fake_stripe, client_for, alpha_admin, alpha_school
):
    # The first purchase is paid, its webhook still on its way: the school looks unpaid here.
    School.objects.filter(pk=alpha_school.pk).update(stripe_customer_id=CUSTOMER_ID)
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=40)

    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": "45"})

    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []
    portal = fake_stripe.last("POST", "/v1/billing_portal/sessions")
    assert portal.params["flow_data[subscription_update_confirm][subscription]"] == SUBSCRIPTION_ID
    assert portal.params["flow_data[subscription_update_confirm][items][0][quantity]"] == "45"
    school = _reload(alpha_school)
    assert (school.licence_status, school.seats) == (LicenceStatus.ACTIVE, 40)


def test_a_second_buy_closes_the_first_payment_page(fake_stripe, client_for, alpha_admin):
    client = client_for(alpha_admin)
    first = client.post("/billing/checkout/", {"seats": "40"})
    first_id = first["Location"].split("/pay/")[1].split("#")[0]

    second = client.post("/billing/checkout/", {"seats": "10"})

    second_id = second["Location"].split("/pay/")[1].split("#")[0]
    assert first_id != second_id
    expire = fake_stripe.last("POST", f"/v1/checkout/sessions/{first_id}/expire")
    assert expire.params == {}
    assert fake_stripe.checkout_sessions[first_id]["status"] == "expired"
    assert fake_stripe.checkout_sessions[second_id]["status"] == "open"
    # One customer for both.
    assert len(fake_stripe.calls("POST", "/v1/customers")) == 1


def test_two_live_subscriptions_are_detected_and_the_licence_does_not_swing(
    fake_stripe,
    deliver,
    alpha_school,
    operator_client,
):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(
        alpha_school, quantity=40, created=1795132800
    )
    deliver(for_school(load("customer_subscription_created"), alpha_school))
    fake_stripe.subscriptions[SECOND] = subscription(
        alpha_school, id=SECOND, quantity=10, created=1795132900
    )
    second = for_school(load("customer_subscription_created"), alpha_school)
    second["id"], second["data"]["object"]["id"] = "evt_1SVqAdreamSeedSecond", SECOND

    for event in (second, for_school(load("invoice_paid"), alpha_school), second):
        deliver(event)

    school = _reload(alpha_school)
    assert (school.stripe_subscription_id, school.seats) == (SUBSCRIPTION_ID, 40)
    notice = BillingNotice.objects.get(kind=NoticeKind.DUPLICATE_SUBSCRIPTION)
    assert notice.school == school and notice.is_open
    assert [s["id"] for s in notice.details["subscriptions"]] == [SUBSCRIPTION_ID, SECOND]
    assert [s["quantity"] for s in notice.details["subscriptions"]] == [40, 10]
    listing = operator_client.get("/operator/billing/billingnotice/?open=yes").text
    assert "Two live subscriptions" in listing and "Alpha School" in listing
    assert f"the licence follows {SUBSCRIPTION_ID}" in listing

    # The operator cancels (and refunds) the second one: the notice resolves itself.
    fake_stripe.subscriptions[SECOND] = subscription(
        alpha_school, id=SECOND, quantity=10, created=1795132900, status="canceled",
        canceled_at=1795133000, ended_at=1795133000,
    )  # fmt: skip
    deleted = for_school(load("customer_subscription_deleted"), alpha_school)
    deleted["id"], deleted["data"]["object"]["id"] = "evt_1SVqAdreamSeedSecondEnd", SECOND
    deliver(deleted)

    notice.refresh_from_db()
    assert not notice.is_open
    school = _reload(alpha_school)
    assert (school.licence_status, school.stripe_subscription_id, school.seats) == (
        LicenceStatus.ACTIVE,
        SUBSCRIPTION_ID,
        40,
    )


def test_the_school_admin_is_told_about_a_second_subscription(
    fake_stripe, deliver, alpha_school, client_for, alpha_admin
):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, created=1)
    fake_stripe.subscriptions[SECOND] = subscription(alpha_school, id=SECOND, created=2)
    deliver(for_school(load("invoice_paid"), alpha_school))

    page = client_for(alpha_admin).get("/billing/").text
    assert "Stripe shows more than one live subscription for your school" in page


def test_when_the_kept_subscription_ends_the_licence_follows_the_live_one(
    fake_stripe, deliver, alpha_school
):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, created=1, quantity=40)
    fake_stripe.subscriptions[SECOND] = subscription(
        alpha_school, id=SECOND, created=2, quantity=10
    )
    deliver(for_school(load("invoice_paid"), alpha_school))
    fake_stripe.subscriptions[SUBSCRIPTION_ID].update(
        status="canceled", canceled_at=1795133000, ended_at=1795133000
    )

    deliver(for_school(load("customer_subscription_deleted"), alpha_school))

    school = _reload(alpha_school)
    assert (school.licence_status, school.stripe_subscription_id, school.seats) == (
        LicenceStatus.ACTIVE,
        SECOND,
        10,
    )
    assert not BillingNotice.objects.filter(resolved_at__isnull=True).exists()


def test_a_failed_checkout_keeps_the_customer_stripe_made(
    fake_stripe, client_for, alpha_admin, alpha_school
):
    client = client_for(alpha_admin)
    fake_stripe.failing_paths.add("/v1/subscriptions")  # after the customer is made

    response = client.post("/billing/checkout/", {"seats": "30"}, follow=True)

    assert "Stripe could not open the payment page just now" in response.text
    [made] = fake_stripe.calls("POST", "/v1/customers")
    assert _reload(alpha_school).stripe_customer_id.startswith("cus_Fake")
    fake_stripe.failing_paths.clear()
    assert client.post("/billing/checkout/", {"seats": "30"}).status_code == 303
    assert fake_stripe.calls("POST", "/v1/customers") == [made]  # not a second customer
