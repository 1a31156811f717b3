"""Billing test support: Stripe test keys, the fake Stripe API, fixture events addressed to a
school, and webhook deliveries signed exactly the way Stripe signs them."""

import contextlib
import copy
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from dreamseed.billing import services, stripe_gateway
from dreamseed.billing.models import StripeEvent
from dreamseed.billing.tests.fake_stripe import FakeStripe
from dreamseed.schools.models import School

FIXTURES = Path(__file__).parent / "fixtures"
SECRET_KEY = "sk_test_51DreamSeedFakeKeyForTestsOnly"
WEBHOOK_SECRET = "whsec_dreamseed_tests_only_0123456789"
PRICE_ID = "price_1SVq2dreamSeedSeatYr"  # as in the fixtures
SUBSCRIPTION_ID = "sub_1SVq8dreamSeedAlpha"
CUSTOMER_ID = "cus_TQv8dreamSeed01"
DAY = 86400
YEAR = 365 * DAY


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def school_metadata(school: School) -> dict:
    return {"school_id": str(school.pk), "school_schema": school.schema_name}


def for_school(event: dict, school: School) -> dict:
    """The fixture event with its school references (client_reference_id, metadata) pointing at
    `school`, as our own Checkout Session and subscription metadata would make them."""
    event = copy.deepcopy(event)
    obj = event["data"]["object"]
    if "client_reference_id" in obj:
        obj["client_reference_id"] = str(school.pk)
    if obj.get("object") in ("checkout.session", "subscription"):
        obj["metadata"] = school_metadata(school)
    details = (obj.get("parent") or {}).get("subscription_details")
    if details is not None:
        details["metadata"] = school_metadata(school)
    if "subscription_details" in obj:
        obj["subscription_details"]["metadata"] = school_metadata(school)
    return event


def subscription(
    school: School | None = None,
    *,
    status: str = "active",
    quantity: int = 30,
    period_start: int | None = None,
    period_end: int | None = None,
    **changes,
) -> dict:
    """A subscription as GET /v1/subscriptions/{id} returns it now, with its period around now."""
    sub = copy.deepcopy(load("customer_subscription_created")["data"]["object"])
    item = sub["items"]["data"][0]
    item["quantity"] = quantity
    item["current_period_start"] = period_start or int(time.time()) - DAY
    item["current_period_end"] = period_end or item["current_period_start"] + YEAR
    sub["status"] = status
    if school is not None:
        sub["metadata"] = school_metadata(school)
    sub.update(changes)
    return sub


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=TIMESTAMP,v1=HEX(HMAC_SHA256(secret, f"{t}.{payload}"))."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


@pytest.fixture
def stripe_keys(settings):
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_ID = PRICE_ID
    return settings


@pytest.fixture
def fake_stripe(stripe_keys):
    with stripe_gateway.use_http_client(FakeStripe()) as fake:
        yield fake


@pytest.fixture
def no_stripe(settings):
    """The development default: no keys. A fake is installed anyway, to prove nothing calls out."""
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_PRICE_ID = ""
    with stripe_gateway.use_http_client(FakeStripe()) as fake:
        yield fake


@pytest.fixture
def alpha_school(alpha_admin) -> School:
    return School.objects.get(schema_name=alpha_admin.schema_name)


@pytest.fixture
def beta_school(beta_admin) -> School:
    return School.objects.get(schema_name=beta_admin.schema_name)


@pytest.fixture
def operator_client(public_client):
    operator = _operator_model().objects.create_superuser(
        "operator", "ops@dreamseed.example", "x-long-password"
    )
    public_client.force_login(operator, backend="dreamseed.accounts.backends.AccountBackend")
    return public_client


def _operator_model():
    from dreamseed.accounts.models import User

    return User


@pytest.fixture
def post_event(public_client):
    """post_event(event_dict) -> the response of our real webhook endpoint to a signed delivery.
    Nothing is handled yet: the event is recorded for the worker (see `deliver`)."""

    def post(event, *, secret=WEBHOOK_SECRET, timestamp=None, header=None, raw=None):
        payload = raw if raw is not None else json.dumps(event)
        if header is None:
            header = sign(payload, secret=secret, timestamp=timestamp)
        return public_client.post(
            "/stripe/webhook/",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": header},
        )

    return post


def process_recorded_events() -> list[StripeEvent]:
    """What the worker does with each event the webhook recorded: run `stripe_event_process`
    (the task's body) on every row waiting for it, in the order received. Failures stay
    recorded on their rows, as after the worker's attempt."""
    rows = []
    waiting = StripeEvent.objects.filter(processed_at__isnull=True).order_by("received", "pk")
    for pk in waiting.values_list("pk", flat=True):
        with contextlib.suppress(services.EventProcessingFailed):
            services.stripe_event_process(event_pk=pk)
        rows.append(StripeEvent.objects.get(pk=pk))
    return rows


@pytest.fixture
def deliver(post_event, django_capture_on_commit_callbacks):
    """deliver(event) -> (response, the event's row after processing): a signed delivery to the
    real endpoint, then the worker's processing of what it recorded (e-mails sent on commit)."""

    def run(event, **kwargs):
        response = post_event(event, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            process_recorded_events()
        row = StripeEvent.objects.filter(event_id=event["id"]).first() if event else None
        return response, row

    return run
