"""Stripe's webhook, end to end: signed deliveries of real-shaped events posted to the real
endpoint on the public host; the subscription is re-read from the (fake) Stripe API."""

import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from dreamseed.billing import services
from dreamseed.billing.models import EventOutcome, StripeEvent
from dreamseed.billing.tests.conftest import (
    CUSTOMER_ID,
    DAY,
    SECRET_KEY,
    SUBSCRIPTION_ID,
    for_school,
    load,
    sign,
    subscription,
)
from dreamseed.schools.licensing import licence_state, school_can_start_tests, school_is_read_only
from dreamseed.schools.models import LicenceStatus, School

pytestmark = pytest.mark.django_db


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _reload(school: School) -> School:
    return School.objects.get(pk=school.pk)


def test_checkout_completed_gives_the_school_the_licence_stripe_reports(
    fake_stripe, deliver, alpha_school, settings
):
    current = subscription(alpha_school, quantity=30)
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = current

    response, _row = deliver(for_school(load("checkout_session_completed"), alpha_school))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    school = _reload(alpha_school)
    period_end = _at(current["items"]["data"][0]["current_period_end"])
    assert school.licence_status == LicenceStatus.ACTIVE
    assert school.seats == 30
    assert school.plan == "per_seat_year"
    assert school.licence_period_end == period_end
    assert school.licence_expires_at == period_end + timedelta(days=settings.BILLING_GRACE_DAYS)
    assert school.stripe_subscription_id == SUBSCRIPTION_ID
    assert school.stripe_customer_id == CUSTOMER_ID
    assert school.stripe_subscription_status == "active"
    # The subscriptions were read from Stripe with our key, not taken from the event.
    fetch = fake_stripe.last("GET", "/v1/subscriptions")
    assert fetch.query == {"customer": CUSTOMER_ID, "status": "all", "limit": "100"}
    assert fetch.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    event = StripeEvent.objects.get(event_id="evt_1SVq8dreamSeedCheckout")
    assert event.type == "checkout.session.completed"
    assert event.school == school
    assert event.outcome == EventOutcome.PROCESSED
    assert event.processed_at is not None
    assert event.attempts == 1
    assert event.api_version == "2026-10-28.endive"
    assert event.payload["data"]["object"]["client_reference_id"] == str(school.pk)


def test_a_wrong_signature_is_refused_and_nothing_is_recorded(
    fake_stripe, post_event, alpha_school
):
    event = for_school(load("checkout_session_completed"), alpha_school)

    response = post_event(event, secret="whsec_someone_else")

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert fake_stripe.requests == []
    assert _reload(alpha_school).licence_status == LicenceStatus.TRIALING


def test_a_payload_changed_after_signing_is_refused(fake_stripe, post_event, alpha_school):
    event = for_school(load("checkout_session_completed"), alpha_school)
    header = sign(json.dumps(event))
    event["data"]["object"]["client_reference_id"] = "1"

    assert post_event(event, header=header).status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_missing_signature_is_refused(fake_stripe, post_event, alpha_school):
    event = for_school(load("invoice_paid"), alpha_school)
    assert post_event(event, header="").status_code == 400


def test_a_stale_timestamp_is_refused_even_with_the_right_secret(
    fake_stripe, post_event, alpha_school
):
    event = for_school(load("invoice_paid"), alpha_school)

    response = post_event(event, timestamp=int(time.time()) - 10 * 60)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert fake_stripe.requests == []


def test_a_signed_body_that_is_not_json_is_refused(fake_stripe, post_event):
    assert post_event(None, raw="this is not json").status_code == 400


def test_an_event_type_we_do_not_handle_is_acknowledged_and_recorded_without_its_payload(
    fake_stripe, deliver, alpha_school
):
    response, event = deliver(load("customer_created"))

    assert response.status_code == 200
    assert event.type == "customer.created"
    assert event.outcome == EventOutcome.IGNORED
    assert event.payload == {}  # nothing of ours in it: not kept
    assert fake_stripe.requests == []
    assert _reload(alpha_school).licence_status == LicenceStatus.TRIALING


def test_a_duplicate_delivery_is_acknowledged_and_processed_once(
    fake_stripe, deliver, alpha_school
):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=30)
    event = for_school(load("invoice_paid"), alpha_school)

    first, _row = deliver(event)
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=99)
    second, _row = deliver(event)

    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert len(fake_stripe.calls("GET", "/v1/subscriptions")) == 1
    assert _reload(alpha_school).seats == 30  # the second delivery applied nothing
    row = StripeEvent.objects.get(event_id="evt_1SVq8dreamSeedInvPaid")
    assert row.deliveries == 2
    assert StripeEvent.objects.count() == 1


def test_events_out_of_order_leave_the_state_stripe_has_now(fake_stripe, deliver, alpha_school):
    # Stripe's truth today: active, 40 seats. The events tell older stories, in a scrambled order,
    # including one whose own copy says past_due.
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=40)
    events = [
        for_school(load(name), alpha_school)
        for name in (
            "invoice_paid",
            "customer_subscription_updated",  # past_due in the event's copy
            "customer_subscription_created",
            "checkout_session_completed",
            "invoice_payment_failed",
        )
    ]

    for event in events:
        assert deliver(event)[0].status_code == 200

    school = _reload(alpha_school)
    assert school.licence_status == LicenceStatus.ACTIVE
    assert school.seats == 40
    assert school_can_start_tests(school)
    assert StripeEvent.objects.filter(outcome=EventOutcome.PROCESSED).count() == 5


def test_a_cancellation_delivered_before_the_creation_still_ends_canceled(
    fake_stripe, deliver, alpha_school
):
    ended = int(time.time()) - 60
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(
        alpha_school, status="canceled", canceled_at=ended, ended_at=ended
    )
    for name in (
        "customer_subscription_deleted",
        "customer_subscription_created",
        "checkout_session_completed",
        "invoice_paid",
    ):
        assert deliver(for_school(load(name), alpha_school))[0].status_code == 200

    school = _reload(alpha_school)
    assert school.licence_status == LicenceStatus.CANCELED
    assert school.licence_expires_at == _at(ended)
    assert school_is_read_only(school)


def test_an_event_for_an_unknown_school_is_logged_and_acknowledged(fake_stripe, deliver, caplog):
    event = load("checkout_session_completed")
    event["data"]["object"]["client_reference_id"] = "987654321"
    event["data"]["object"]["metadata"] = {"school_id": "987654321"}
    event["data"]["object"]["customer"] = "cus_NobodyWeKnow"
    event["data"]["object"]["subscription"] = "sub_NobodyWeKnow"

    with caplog.at_level(logging.WARNING, logger="dreamseed.billing.services"):
        response, row = deliver(event)

    assert response.status_code == 200
    assert "stripe event for unknown school" in caplog.text
    assert row.outcome == EventOutcome.UNKNOWN_SCHOOL
    assert row.school is None
    assert fake_stripe.requests == []


def test_a_school_is_found_by_its_customer_when_metadata_is_missing(
    fake_stripe, deliver, alpha_school
):
    School.objects.filter(pk=alpha_school.pk).update(stripe_customer_id=CUSTOMER_ID)
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(quantity=12)
    event = load("invoice_paid")
    event["data"]["object"]["parent"]["subscription_details"]["metadata"] = {}

    assert deliver(event)[1].outcome == EventOutcome.PROCESSED
    assert _reload(alpha_school).seats == 12


def test_when_stripe_cannot_be_read_the_event_fails_and_a_later_attempt_succeeds(
    fake_stripe, deliver, alpha_school
):
    event = for_school(load("customer_subscription_created"), alpha_school)
    fake_stripe.fail_next(status=500, message="An unknown error occurred", type="api_error")
    fake_stripe.fail_next(status=500, message="An unknown error occurred", type="api_error")
    fake_stripe.fail_next(status=500, message="An unknown error occurred", type="api_error")

    response, row = deliver(event)

    # Stripe is told the event arrived (no retries from its side): the worker retries it.
    assert response.status_code == 200
    assert row.outcome == EventOutcome.FAILED
    assert "unknown error" in row.error
    assert row.processed_at is None
    assert row.attempts == 1
    assert _reload(alpha_school).licence_status == LicenceStatus.TRIALING

    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=25)
    row = services.stripe_event_process(event_pk=row.pk)

    assert (row.outcome, row.error, row.attempts) == (EventOutcome.PROCESSED, "", 2)
    assert _reload(alpha_school).seats == 25


def test_a_failed_payment_gives_a_grace_period_counted_from_the_unpaid_period(
    fake_stripe, deliver, alpha_school, settings
):
    settings.BILLING_GRACE_DAYS = 14
    unpaid_since = int(time.time()) - 2 * DAY
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(
        alpha_school, status="past_due", period_start=unpaid_since
    )

    assert deliver(for_school(load("invoice_payment_failed"), alpha_school))[0].status_code == 200

    school = _reload(alpha_school)
    assert school.licence_status == LicenceStatus.PAST_DUE
    assert school.licence_expires_at == _at(unpaid_since) + timedelta(days=14)
    assert licence_state(school) == LicenceStatus.PAST_DUE
    assert school_can_start_tests(school)


def test_past_due_beyond_the_grace_period_makes_the_school_read_only(
    fake_stripe, deliver, alpha_school, settings
):
    settings.BILLING_GRACE_DAYS = 14
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(
        alpha_school, status="unpaid", period_start=int(time.time()) - 20 * DAY
    )

    deliver(for_school(load("customer_subscription_updated"), alpha_school))

    school = _reload(alpha_school)
    assert school.licence_status == LicenceStatus.PAST_DUE
    assert licence_state(school) == LicenceStatus.EXPIRED
    assert school_is_read_only(school)
    assert not school_can_start_tests(school)


def test_an_old_subscriptions_cancellation_does_not_end_its_replacement(
    fake_stripe, deliver, alpha_school
):
    fake_stripe.subscriptions["sub_1NewerOne"] = subscription(
        alpha_school, id="sub_1NewerOne", quantity=60
    )
    event = for_school(load("customer_subscription_created"), alpha_school)
    event["id"], event["data"]["object"]["id"] = "evt_1NewerCreated", "sub_1NewerOne"
    assert deliver(event)[1].outcome == EventOutcome.PROCESSED

    ended = int(time.time()) - 60
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(
        alpha_school, status="canceled", canceled_at=ended, ended_at=ended, created=1
    )
    _response, row = deliver(for_school(load("customer_subscription_deleted"), alpha_school))

    assert row.outcome == EventOutcome.PROCESSED
    school = _reload(alpha_school)
    assert (school.licence_status, school.seats) == (LicenceStatus.ACTIVE, 60)
    assert school.stripe_subscription_id == "sub_1NewerOne"


def test_events_in_the_pre_basil_shape_are_understood(fake_stripe, deliver, alpha_school):
    # Invoices name their subscription at the top level before 2025-03-31.basil.
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=33)

    _response, row = deliver(for_school(load("legacy_invoice_paid"), alpha_school))

    assert row.outcome == EventOutcome.PROCESSED
    assert _reload(alpha_school).seats == 33


def test_the_webhook_lives_on_the_public_host_only(fake_stripe, client_for, alpha_admin):
    payload = json.dumps(load("invoice_paid"))
    response = client_for(host=alpha_admin.host).post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload)},
    )
    assert response.status_code == 404


def test_the_webhook_takes_posts_only(fake_stripe, public_client):
    assert public_client.get("/stripe/webhook/").status_code == 405


def test_without_a_webhook_secret_deliveries_are_refused(no_stripe, post_event, alpha_school):
    response = post_event(for_school(load("invoice_paid"), alpha_school))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_checkout_still_awaiting_payment_changes_nothing_yet(fake_stripe, deliver, alpha_school):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, status="incomplete")

    _response, row = deliver(for_school(load("checkout_session_completed"), alpha_school))

    assert row.outcome == EventOutcome.PENDING
    school = _reload(alpha_school)
    assert (school.licence_status, school.stripe_subscription_id) == (LicenceStatus.TRIALING, "")
