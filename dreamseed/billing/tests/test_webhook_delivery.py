"""The webhook's own job: verify, record, answer fast; refuse for good what can never succeed,
and keep a record of every refusal; forget payloads after the retention period."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from dreamseed.billing import services
from dreamseed.billing.models import EventOutcome, RejectedDelivery, StripeEvent
from dreamseed.billing.tests.conftest import SUBSCRIPTION_ID, for_school, load, subscription
from dreamseed.schools.models import LicenceStatus, School

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body,detail",
    [
        ("[1, 2, 3]", "a JSON list, not an object"),
        ('"evt_1SVq8dreamSeedCheckout"', "a JSON str, not an object"),
        ('{"id": "evt_1NoData", "object": "event", "type": "invoice.paid"}', "no data object"),
        (
            '{"id": "evt_1StringObject", "object": "event", "type": "invoice.paid", '
            '"data": {"object": "in_1SVq8dreamSeedInv001"}}',
            "data.object is not an object",
        ),
        ('{"object": "event", "type": "invoice.paid", "data": {"object": {}}}', "no event id"),
    ],
    ids=["array", "string", "no-data", "string-object", "no-id"],
)
def test_signed_bodies_that_can_never_succeed_get_a_permanent_400_and_are_recorded(
    fake_stripe, post_event, body, detail
):
    response = post_event(None, raw=body)

    assert response.status_code == 400
    assert response.content == b"Invalid payload: not a Stripe event."
    assert not StripeEvent.objects.exists()
    refused = RejectedDelivery.objects.get()
    assert refused.detail == detail
    assert refused.reason == "not_an_event"
    assert refused.remote_address == "127.0.0.1"
    assert refused.body_bytes == len(body.encode())
    assert fake_stripe.requests == []


def test_json_nested_too_deep_is_refused_before_parsing_and_recorded(fake_stripe, post_event):
    body = "[" * 5_000 + "]" * 5_000

    response = post_event(None, raw=body)

    assert response.status_code == 400
    assert "nested more than" in response.content.decode()
    refused = RejectedDelivery.objects.get()
    assert (refused.reason, refused.body_bytes) == ("not_json", 10_000)
    assert not StripeEvent.objects.exists()


def test_a_bad_signature_is_recorded_with_the_senders_address(fake_stripe, public_client):
    payload = json.dumps(load("invoice_paid"))

    response = public_client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=deadbeef"},
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 400
    refused = RejectedDelivery.objects.get()
    assert (refused.reason, refused.remote_address) == ("bad_signature", "203.0.113.9")
    assert "timestamp" in refused.detail or "signature" in refused.detail.lower()
    assert not StripeEvent.objects.exists()


def test_the_webhook_answers_without_calling_stripe_even_when_stripe_is_down(
    fake_stripe, post_event, alpha_school
):
    for _ in range(3):
        fake_stripe.fail_next(status=500, message="Stripe is down", type="api_error")

    response = post_event(for_school(load("invoice_paid"), alpha_school))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    assert fake_stripe.requests == []
    row = StripeEvent.objects.get()
    assert (row.outcome, row.processed_at, row.attempts) == (EventOutcome.QUEUED, None, 0)
    assert row.payload["data"]["object"]["id"] == "in_1SVq8dreamSeedInv001"


def test_a_redelivery_of_a_failed_event_sends_it_to_the_worker_again(
    fake_stripe, post_event, deliver, alpha_school, django_capture_on_commit_callbacks
):
    event = for_school(load("invoice_paid"), alpha_school)
    for _ in range(3):
        fake_stripe.fail_next(status=500, message="Stripe is down", type="api_error")
    _response, row = deliver(event)
    assert row.outcome == EventOutcome.FAILED

    with django_capture_on_commit_callbacks() as enqueued:
        again = post_event(event)
    with django_capture_on_commit_callbacks() as not_enqueued:
        fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=22)
        services.stripe_event_process(event_pk=row.pk)
        post_event(event)

    assert again.json() == {"received": True, "duplicate": True}
    assert len(enqueued) == 1  # the task, after the recording transaction commits
    assert not_enqueued == []  # processed now: a redelivery changes nothing
    row.refresh_from_db()
    assert (row.outcome, row.deliveries) == (EventOutcome.PROCESSED, 3)
    assert School.objects.get(pk=alpha_school.pk).seats == 22


def test_processing_twice_applies_once(fake_stripe, post_event, alpha_school):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=30)
    post_event(for_school(load("invoice_paid"), alpha_school))
    row = StripeEvent.objects.get()

    services.stripe_event_process(event_pk=row.pk)
    services.stripe_event_process(event_pk=row.pk)

    row.refresh_from_db()
    assert row.attempts == 1
    assert len(fake_stripe.calls("GET", "/v1/subscriptions")) == 1


def test_payloads_and_refused_deliveries_are_forgotten_after_the_retention_period(
    fake_stripe, deliver, post_event, alpha_school, settings
):
    settings.BILLING_EVENT_RETENTION_DAYS = 30
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=30)
    deliver(for_school(load("invoice_paid"), alpha_school))
    deliver(for_school(load("customer_subscription_created"), alpha_school))
    post_event(None, raw="[]")
    old = timezone.now() - timedelta(days=31)
    StripeEvent.objects.filter(event_id="evt_1SVq8dreamSeedInvPaid").update(received=old)
    RejectedDelivery.objects.update(received=old)

    assert services.billing_records_prune() == (1, 1)

    pruned = StripeEvent.objects.get(event_id="evt_1SVq8dreamSeedInvPaid")
    kept = StripeEvent.objects.get(event_id="evt_1SVq8dreamSeedSubCreated")
    assert pruned.payload == {} and pruned.outcome == EventOutcome.PROCESSED
    assert kept.payload["id"] == "evt_1SVq8dreamSeedSubCreated"
    assert not RejectedDelivery.objects.exists()
    # The row stays, so a very late redelivery is still recognised and not applied again.
    response, _row = deliver(for_school(load("invoice_paid"), alpha_school))
    assert response.json()["duplicate"] is True


def test_a_school_on_its_trial_is_untouched_by_refused_deliveries(
    fake_stripe, post_event, alpha_school
):
    post_event(None, raw='{"id": "evt_1X", "type": "invoice.paid", "data": []}')
    assert School.objects.get(pk=alpha_school.pk).licence_status == LicenceStatus.TRIALING
