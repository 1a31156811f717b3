"""STRIPE_API_BASE sends every Stripe call to another address (stripe-mock, a local fake)."""

from io import StringIO

import pytest
from django.core.management import call_command

from dreamseed.billing import stripe_gateway
from dreamseed.billing.tests.conftest import CUSTOMER_ID, SECRET_KEY, SUBSCRIPTION_ID, subscription
from dreamseed.billing.tests.fake_stripe import FakeStripeServer
from dreamseed.schools.models import School

pytestmark = pytest.mark.django_db


@pytest.fixture
def served_stripe(stripe_keys):
    server = FakeStripeServer().start()
    stripe_keys.STRIPE_API_BASE = server.url
    yield server
    server.stop()


def test_calls_go_to_the_configured_address(served_stripe):
    served_stripe.fake.subscriptions[SUBSCRIPTION_ID] = subscription(quantity=12)

    found = stripe_gateway.subscription_retrieve(SUBSCRIPTION_ID)

    assert found["items"]["data"][0]["quantity"] == 12
    request = served_stripe.fake.last("GET", f"/v1/subscriptions/{SUBSCRIPTION_ID}")
    assert request.headers["Authorization"] == f"Bearer {SECRET_KEY}"


def test_the_reconciliation_command_runs_against_it(served_stripe, alpha_school):
    School.objects.filter(pk=alpha_school.pk).update(stripe_customer_id=CUSTOMER_ID)
    served_stripe.fake.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=44)

    call_command("billing_reconcile", "--school", "alpha", stdout=(out := StringIO()))

    assert "alpha: processed: active, 44 seats" in out.getvalue()
    assert School.objects.get(pk=alpha_school.pk).seats == 44
