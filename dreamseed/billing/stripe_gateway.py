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
    # STRIPE_API_BASE points the SDK at stripe-mock or another local stand-in for Stripe.
    base_addresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        http_client=_http_client,
        max_network_retries=MAX_NETWORK_RETRIES,
        base_addresses=base_addresses,
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


def subscriptions_list(*, customer: str, limit: int = 100) -> list[dict]:
    """Every subscription of the customer, canceled ones included, newest first."""
    page = _call(
        _client().v1.subscriptions.list, {"customer": customer, "status": "all", "limit": limit}
    )
    return page["data"]


def checkout_sessions_list_open(*, customer: str, limit: int = 100) -> list[dict]:
    page = _call(
        _client().v1.checkout.sessions.list,
        {"customer": customer, "status": "open", "limit": limit},
    )
    return page["data"]


def checkout_session_expire(session_id: str) -> dict:
    return _call(_client().v1.checkout.sessions.expire, session_id)


def charge_retrieve(charge_id: str) -> dict:
    return _call(_client().v1.charges.retrieve, charge_id)


def invoices_list(*, customer: str, limit: int = 12) -> list[dict]:
    page = _call(_client().v1.invoices.list, {"customer": customer, "limit": limit})
    return page["data"]


# --- Incoming webhooks ---------------------------------------------------------------------------


class WebhookPayloadError(ValueError):
    """Signed by Stripe, but a body no processing could ever accept: answered with a permanent
    400 so that Stripe stops retrying it."""

    def __init__(self, message: str, *, reason: str, event_id: str = ""):
        super().__init__(message)
        self.reason = reason  # a RejectionReason value
        self.event_id = event_id


def webhook_json_parse(payload: bytes | str):
    """JSON from a webhook body; nesting too deep for the parser is refused like invalid JSON."""
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as error:
        raise WebhookPayloadError(f"not JSON: {type(error).__name__}", reason="not_json") from error


def webhook_event_check_shape(event) -> dict:
    """The event if it has what every Stripe event has: a string id and type and a `data`
    object holding an `object` dict. Raises WebhookPayloadError otherwise."""
    if not isinstance(event, dict):
        raise WebhookPayloadError(
            f"a JSON {type(event).__name__}, not an object", reason="not_an_event"
        )
    event_id, kind = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise WebhookPayloadError("no event id", reason="not_an_event")
    if not isinstance(kind, str) or not kind or len(kind) > 100:
        raise WebhookPayloadError("no event type", reason="not_an_event", event_id=event_id)
    data = event.get("data")
    if not isinstance(data, dict):
        raise WebhookPayloadError("no data object", reason="not_an_event", event_id=event_id)
    if not isinstance(data.get("object"), dict):
        raise WebhookPayloadError(
            "data.object is not an object", reason="not_an_event", event_id=event_id
        )
    return event


def webhook_event_verify(*, payload: bytes, signature: str) -> dict:
    """Check Stripe's signature on the raw request body and return the event as a dict.

    Raises WebhookSignatureError for a wrong or stale signature, WebhookPayloadError for a signed
    body that is not JSON or not shaped like an event, BillingNotConfigured without a webhook
    secret.
    """
    if not webhooks_configured():
        raise BillingNotConfigured
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WebhookSignatureError("the body is not UTF-8") from error
    try:
        stripe.WebhookSignature.verify_header(
            text, signature, settings.STRIPE_WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureError(str(error)) from error
    # Parsed here, after the signature: the raw JSON keeps Stripe's exact shape.
    return webhook_event_check_shape(webhook_json_parse(text))
