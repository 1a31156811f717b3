"""The one module that talks to Stripe: every outgoing API call, and webhook verification.

Everything returns plain dicts shaped exactly like Stripe's JSON, so the services handle an object
fetched here and one delivered inside a webhook event the same way. Tests swap the SDK's HTTP
client (see `use_http_client`) for a fake that records requests; nothing else is patched.
"""

import json
from contextlib import contextmanager

import stripe
from django.conf import settings

#: Seconds a webhook signature stays valid (Stripe's default: five minutes).
WEBHOOK_TOLERANCE_SECONDS = 300
# Retries with backoff for network errors and 409/5xx; Stripe makes POSTs safe to retry with the
# idempotency keys the SDK adds.
MAX_NETWORK_RETRIES = 2

_http_client: stripe.HTTPClient | None = None


class BillingNotConfigured(Exception):
    """No Stripe keys on this server (the development default)."""


class BillingError(Exception):
    """Stripe refused a request or could not be reached; the message is safe to show."""


class WebhookSignatureError(Exception):
    """The payload was not signed with our webhook secret, or the signature is too old."""


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PRICE_ID)


def webhooks_configured() -> bool:
    return bool(settings.STRIPE_WEBHOOK_SECRET)


@contextmanager
def use_http_client(client: stripe.HTTPClient):
    """Route every Stripe call made inside the block through `client` (tests: a fake)."""
    global _http_client
    previous, _http_client = _http_client, client
    try:
        yield client
    finally:
        _http_client = previous


def _client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingNotConfigured
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        http_client=_http_client,
        max_network_retries=MAX_NETWORK_RETRIES,
    )


def _call(method, *args, **kwargs) -> dict:
    try:
        result = method(*args, **kwargs)
    except stripe.StripeError as error:
        raise BillingError(error.user_message or str(error)) from error
    return result.to_dict()


# --- Outgoing calls ------------------------------------------------------------------------------


def customer_create(*, name: str, email: str, metadata: dict, idempotency_key: str) -> dict:
    params = {"name": name, "metadata": metadata}
    if email:
        params["email"] = email
    return _call(
        _client().v1.customers.create, params, options={"idempotency_key": idempotency_key}
    )


def checkout_session_create(params: dict) -> dict:
    return _call(_client().v1.checkout.sessions.create, params)


def portal_session_create(params: dict) -> dict:
    return _call(_client().v1.billing_portal.sessions.create, params)


def subscription_retrieve(subscription_id: str) -> dict:
    return _call(_client().v1.subscriptions.retrieve, subscription_id)


def invoices_list(*, customer: str, limit: int = 12) -> list[dict]:
    page = _call(_client().v1.invoices.list, {"customer": customer, "limit": limit})
    return page["data"]


# --- Incoming webhooks ---------------------------------------------------------------------------


def webhook_event_verify(*, payload: bytes, signature: str) -> dict:
    """Check Stripe's signature on the raw request body and return the event as a dict.

    Raises WebhookSignatureError for a wrong or stale signature, ValueError for a body that is
    not JSON, BillingNotConfigured without a webhook secret.
    """
    if not webhooks_configured():
        raise BillingNotConfigured
    try:
        stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureError(str(error)) from error
    # construct_event has parsed it already; the raw JSON keeps Stripe's exact shape.
    return json.loads(payload)
