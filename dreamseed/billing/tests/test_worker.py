"""End to end through a real Celery worker: signed deliveries to the real endpoint are answered at
once, and a worker process (pointed at a fake Stripe over HTTP with STRIPE_API_BASE, as one would
point it at stripe-mock) applies them: a purchase, then seats lowered below the students."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from dreamseed.billing.models import BillingNotice, EventOutcome, NoticeKind, StripeEvent
from dreamseed.billing.tests.conftest import (
    PRICE_ID,
    SECRET_KEY,
    SUBSCRIPTION_ID,
    WEBHOOK_SECRET,
    for_school,
    load,
    sign,
    subscription,
)
from dreamseed.billing.tests.fake_stripe import FakeStripeServer
from dreamseed.schools.models import School
from dreamseed.testing import CeleryWorker, school_client, wait_for

LICENCE_FIELDS = [
    "licence_status",
    "licence_expires_at",
    "licence_period_end",
    "licence_cancel_at_period_end",
    "licence_updated_at",
    "licence_over_capacity_since",
    "plan",
    "seats",
    "stripe_customer_id",
    "stripe_subscription_id",
    "stripe_subscription_status",
]


@pytest.fixture(scope="module")
def stripe_server():
    server = FakeStripeServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("billing-mail")


@pytest.fixture(scope="module")
def billing_worker(django_db_setup, stripe_server, mail_dir):
    queue = f"billing-test-{settings.TEST_RUN_ID}"
    worker = CeleryWorker(
        name="billing",
        queues=[queue],
        extra_env={
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_PRICE_ID": PRICE_ID,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": stripe_server.url,
            "BILLING_TASK_QUEUE": queue,
            "EMAIL_FILE_PATH": str(mail_dir),
        },
    ).start()
    yield queue
    worker.stop()


@pytest.fixture
def alpha_restored(committed_db, personas, stripe_keys, stripe_server, billing_worker):
    stripe_keys.STRIPE_API_BASE = stripe_server.url
    stripe_keys.BILLING_TASK_QUEUE = billing_worker
    school = School.objects.get(schema_name=personas["alpha_admin"].schema_name)
    saved = School.objects.filter(pk=school.pk).values(*LICENCE_FIELDS).get()
    yield school
    School.objects.filter(pk=school.pk).update(**saved)
    StripeEvent.objects.all().delete()
    BillingNotice.objects.filter(school=school).delete()
    stripe_server.fake.subscriptions.clear()
    stripe_server.fake.latency = 0.0


def _post(event: dict):
    payload = json.dumps(event)
    return school_client("localhost").post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload)},
    )


def _processed(event_id: str):
    def check():
        row = StripeEvent.objects.filter(event_id=event_id).first()
        return row if row and row.processed_at else None

    return check


@pytest.mark.worker
def test_the_worker_applies_a_purchase_the_webhook_only_recorded(alpha_restored, stripe_server):
    stripe_server.fake.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_restored, quantity=30)
    event = for_school(load("checkout_session_completed"), alpha_restored)

    started = time.monotonic()
    response = _post(event)
    answered_in = time.monotonic() - started
    again = _post(event)

    assert response.status_code == again.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    assert again.json() == {"received": True, "duplicate": True}
    assert answered_in < 2  # no call to Stripe before answering
    row = wait_for(_processed(event["id"]), timeout=60, message="the worker never handled it")
    assert row.outcome == EventOutcome.PROCESSED
    assert (row.attempts, row.deliveries) == (1, 2)
    school = School.objects.get(pk=alpha_restored.pk)
    assert (school.licence_status, school.seats) == ("active", 30)
    # The worker read Stripe through STRIPE_API_BASE with our key.
    read = stripe_server.fake.last("GET", "/v1/subscriptions")
    assert read.headers["Authorization"] == f"Bearer {SECRET_KEY}"


@pytest.mark.worker
def test_the_worker_puts_a_school_over_capacity_and_emails_its_admin(
    alpha_restored, stripe_server, mail_dir
):
    # Alpha's two students (sam, sara); the seats are lowered to 1 in Stripe's portal.
    stripe_server.fake.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_restored, quantity=1)
    event = for_school(load("customer_subscription_updated"), alpha_restored)

    assert _post(event).status_code == 200

    wait_for(_processed(event["id"]), timeout=60, message="the worker never handled it")
    school = School.objects.get(pk=alpha_restored.pk)
    assert school.seats == 1
    assert school.licence_over_capacity_since is not None
    assert BillingNotice.objects.get(school=school, kind=NoticeKind.OVER_CAPACITY).is_open

    def mailed():
        texts = [path.read_text() for path in mail_dir.glob("*.log")]
        return [text for text in texts if "more active students than licence seats" in text]

    [email] = wait_for(mailed, timeout=30, message="no over-capacity e-mail was written")
    assert "To: admin@alpha.example" in email
    assert "has 2 active students: 1 more than the licence covers" in email


@pytest.mark.worker
def test_concurrent_deliveries_of_one_event_have_one_effect(alpha_restored, stripe_server):
    stripe_server.fake.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_restored, quantity=33)
    event = for_school(load("invoice_paid"), alpha_restored)
    before = len(stripe_server.fake.calls("GET", "/v1/subscriptions"))

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda _: _post(event), range(10)))

    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 9
    row = wait_for(_processed(event["id"]), timeout=60, message="the worker never handled it")
    time.sleep(1)  # any extra task would have run by now
    row.refresh_from_db()
    assert (row.attempts, row.deliveries) == (1, 10)
    assert len(stripe_server.fake.calls("GET", "/v1/subscriptions")) == before + 1
    assert School.objects.get(pk=alpha_restored.pk).seats == 33


@pytest.mark.worker
def test_a_redelivery_is_answered_at_once_while_the_worker_waits_on_stripe(
    alpha_restored, stripe_server
):
    stripe_server.fake.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_restored, quantity=31)
    stripe_server.fake.latency = 4.0
    event = for_school(load("customer_subscription_created"), alpha_restored)
    before = len(stripe_server.fake.requests)
    assert _post(event).status_code == 200
    wait_for(
        lambda: len(stripe_server.fake.requests) > before,
        timeout=30,
        message="the worker never called Stripe",
    )

    started = time.monotonic()
    again = _post(event)  # Stripe retrying, say, while the worker is still at it
    answered_in = time.monotonic() - started

    assert again.json() == {"received": True, "duplicate": True}
    assert answered_in < 2
    row = wait_for(_processed(event["id"]), timeout=60, message="the worker never handled it")
    assert (row.outcome, row.deliveries, row.attempts) == (EventOutcome.PROCESSED, 2, 1)
