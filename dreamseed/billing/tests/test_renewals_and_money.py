"""Renewal reminders, card confirmations, refunds, disputes and deleted customers: signed events
through the real endpoint, handled as the worker handles them."""

import time

import pytest
from django.core import mail

from dreamseed.billing.models import BillingNotice, EventOutcome, NoticeKind
from dreamseed.billing.tests.conftest import (
    CUSTOMER_ID,
    SUBSCRIPTION_ID,
    for_school,
    load,
    subscription,
)
from dreamseed.schools.models import School

pytestmark = pytest.mark.django_db

PAY_LINK = "https://invoice.stripe.com/i/acct_1SVq2dreamSeed/test_in_1SVq9dreamSeedInv003"


@pytest.fixture
def paying_school(fake_stripe, deliver, alpha_school):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=30)
    deliver(for_school(load("customer_subscription_created"), alpha_school))
    mail.outbox.clear()
    return School.objects.get(pk=alpha_school.pk)


def test_the_admins_get_a_renewal_reminder_from_invoice_upcoming(paying_school, deliver):
    _response, row = deliver(for_school(load("invoice_upcoming"), paying_school))

    assert row.outcome == EventOutcome.PROCESSED
    [email] = mail.outbox
    assert email.to == ["admin@alpha.example"]
    assert email.subject == "Alpha School: your DreamSeed licence renews soon"
    assert "renews on Nov. 20, 2027 for 30 student seats" in email.body
    assert "Stripe will charge 150.00 USD" in email.body
    assert "http://alpha.localhost:8000/billing/" in email.body

    deliver(for_school(load("invoice_upcoming"), paying_school))  # redelivered
    assert len(mail.outbox) == 1


def test_a_payment_waiting_for_the_card_holder_is_shown_with_the_link_to_pay(
    paying_school, deliver, client_for, alpha_admin, fake_stripe
):
    _response, row = deliver(for_school(load("invoice_payment_action_required"), paying_school))

    assert row.outcome == EventOutcome.PROCESSED
    notice = BillingNotice.objects.get(kind=NoticeKind.PAYMENT_ACTION_REQUIRED)
    assert (notice.school, notice.url, notice.amount) == (paying_school, PAY_LINK, 15000)
    page = client_for(alpha_admin).get("/billing/").text
    assert "Confirm your payment" in page
    assert f'href="{PAY_LINK}"' in page

    deliver(for_school(load("invoice_paid_after_action"), paying_school))

    notice.refresh_from_db()
    assert not notice.is_open
    assert "Confirm your payment" not in client_for(alpha_admin).get("/billing/").text


def test_refunds_are_recorded_for_the_operator(paying_school, deliver, operator_client):
    _response, row = deliver(load("charge_refunded"))  # found by its customer

    assert (row.outcome, row.school) == (EventOutcome.PROCESSED, paying_school)
    notice = BillingNotice.objects.get(kind=NoticeKind.REFUND)
    assert (notice.school, notice.stripe_object_id, notice.amount) == (
        paying_school,
        "ch_3SVq9dreamSeedCharge01",
        5000,
    )
    assert notice.url == "https://dashboard.stripe.com/test/payments/pi_3SVq9dreamSeedCharge01"
    listing = operator_client.get("/operator/billing/billingnotice/?kind=refund").text
    assert "50.00 USD refunded of a 150.00 USD payment." in listing
    assert "Alpha School" in listing

    # A second refund on the same charge updates the same record.
    more = load("charge_refunded")
    more["id"] = "evt_3SVq9dreamSeedRefund02"
    more["data"]["object"].update(amount_refunded=15000, refunded=True)
    deliver(more)
    notice = BillingNotice.objects.get(kind=NoticeKind.REFUND)
    assert (notice.amount, notice.details["refunded"]) == (15000, True)


def test_disputes_are_recorded_and_closed_for_the_operator(
    paying_school,
    deliver,
    fake_stripe,
    operator_client,
):
    fake_stripe.charges["ch_3SVq9dreamSeedCharge01"] = load("charge_refunded")["data"]["object"]

    _response, row = deliver(load("charge_dispute_created"))

    assert (row.outcome, row.school) == (EventOutcome.PROCESSED, paying_school)
    assert fake_stripe.last("GET", "/v1/charges/ch_3SVq9dreamSeedCharge01")
    notice = BillingNotice.objects.get(kind=NoticeKind.DISPUTE)
    assert notice.is_open
    assert notice.details["status"] == "needs_response"
    assert notice.details["evidence_due_by"] == 1797000000
    assert "du_1SVq9dreamSeedDispute01" in notice.url
    listing = operator_client.get("/operator/billing/billingnotice/?open=yes").text
    assert "Dispute (fraudulent): needs_response." in listing

    deliver(load("charge_dispute_closed"))

    notice.refresh_from_db()
    assert not notice.is_open
    assert notice.details["status"] == "lost"


def test_a_dispute_is_retried_while_its_charge_cannot_be_read(paying_school, deliver, fake_stripe):
    _response, row = deliver(load("charge_dispute_created"))  # the fake has no such charge

    assert row.outcome == EventOutcome.FAILED
    assert "No such charge" in row.error


def test_a_deleted_customer_is_forgotten_so_the_next_purchase_makes_a_new_one(
    paying_school, deliver, client_for, alpha_admin, fake_stripe
):
    assert paying_school.stripe_customer_id == CUSTOMER_ID
    ended = int(time.time()) - 60
    fake_stripe.subscriptions[SUBSCRIPTION_ID].update(
        status="canceled", canceled_at=ended, ended_at=ended
    )
    deleted = load("customer_deleted")
    deleted["data"]["object"]["metadata"] = {"school_id": str(paying_school.pk)}

    _response, row = deliver(deleted)

    assert row.outcome == EventOutcome.PROCESSED
    assert School.objects.get(pk=paying_school.pk).stripe_customer_id == ""
    deliver(for_school(load("customer_subscription_deleted"), paying_school))
    client_for(alpha_admin).post("/billing/checkout/", {"seats": "20"})
    created = fake_stripe.last("POST", "/v1/customers")
    assert created.params["metadata[school_id]"] == str(paying_school.pk)
    assert fake_stripe.last("POST", "/v1/checkout/sessions").params["customer"] != CUSTOMER_ID


def test_a_deleted_customer_of_another_school_changes_nothing_here(paying_school, deliver):
    deleted = load("customer_deleted")
    deleted["data"]["object"]["id"] = "cus_SomeoneElse"
    deleted["data"]["object"]["metadata"] = {}

    _response, row = deliver(deleted)

    assert row.outcome == EventOutcome.UNKNOWN_SCHOOL
    assert School.objects.get(pk=paying_school.pk).stripe_customer_id == CUSTOMER_ID


def test_another_schools_card_confirmation_is_not_shown(
    paying_school, deliver, client_for, beta_admin
):
    deliver(for_school(load("invoice_payment_action_required"), paying_school))

    page = client_for(beta_admin).get("/billing/").text

    assert "Confirm your payment" not in page
    assert PAY_LINK not in page


def test_a_pay_link_that_is_not_https_is_not_shown(paying_school, deliver, client_for, alpha_admin):
    event = for_school(load("invoice_payment_action_required"), paying_school)
    event["data"]["object"]["hosted_invoice_url"] = "javascript:alert(1)"

    deliver(event)

    page = client_for(alpha_admin).get("/billing/").text
    assert "Confirm your payment" in page
    assert "javascript:" not in page
