"""Billing services: starting Checkout and the customer portal for a school, and turning what
Stripe says about a school's subscription into its licence.

The licence only ever changes from a verified webhook, and then from the subscription as Stripe
returns it *now* (re-fetched through the gateway), never from the event's copy: events arrive late,
twice and out of order, and the latest read of the subscription is the truth.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from dreamseed.billing import stripe_gateway as gateway
from dreamseed.billing.models import EventOutcome, StripeEvent
from dreamseed.billing.stripe_gateway import BillingError, BillingNotConfigured
from dreamseed.schools.models import LicenceStatus, School

logger = logging.getLogger(__name__)

MAX_SEATS = 10_000
HANDLED_EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    }
)
# Stripe subscription status -> licence status. "incomplete" (first payment still being confirmed)
# is missing on purpose: it changes nothing until Stripe says paid or expired.
LICENCE_FOR_SUBSCRIPTION_STATUS = {
    "trialing": LicenceStatus.TRIALING,
    "active": LicenceStatus.ACTIVE,
    "past_due": LicenceStatus.PAST_DUE,
    "unpaid": LicenceStatus.PAST_DUE,
    "canceled": LicenceStatus.CANCELED,
    "incomplete_expired": LicenceStatus.CANCELED,
    # A trial that ended without a payment method: nothing is being paid for.
    "paused": LicenceStatus.EXPIRED,
}
# Subscriptions Stripe is still billing: a school with one changes seats instead of buying again.
LIVE_SUBSCRIPTION_STATUSES = frozenset({"trialing", "active", "past_due", "unpaid"})
CHECKOUT_LOCALES = {"en", "ko", "es"}
# Currencies Stripe counts in whole units (no cents); amounts arrive in the smallest unit.
ZERO_DECIMAL_CURRENCIES = frozenset([
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
])  # fmt: skip


def _id(value) -> str:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def school_metadata(school: School) -> dict:
    """What we attach to Stripe objects so that their events lead back to the school."""
    return {"school_id": str(school.pk), "school_schema": school.schema_name}


def school_has_live_subscription(school: School) -> bool:
    return bool(
        school.stripe_subscription_id
        and school.stripe_subscription_status in LIVE_SUBSCRIPTION_STATUSES
    )


# --- Buying and managing -------------------------------------------------------------------------


def billing_customer_ensure(*, school: School, email: str = "") -> str:
    """The school's Stripe customer id, creating the customer the first time."""
    if school.stripe_customer_id:
        return school.stripe_customer_id
    # The idempotency key makes a double click (or two admins at once) create one customer.
    customer = gateway.customer_create(
        name=school.name,
        email=email,
        metadata=school_metadata(school),
        idempotency_key=f"dreamseed-school-{school.pk}-customer",
    )
    School.objects.filter(pk=school.pk, stripe_customer_id="").update(
        stripe_customer_id=customer["id"]
    )
    school.refresh_from_db(fields=["stripe_customer_id"])
    return school.stripe_customer_id


def _checkout_locale() -> str:
    language = (translation.get_language() or "").split("-")[0]
    return language if language in CHECKOUT_LOCALES else "auto"


def billing_checkout_start(
    *,
    school: School,
    seats: int,
    success_url: str,
    cancel_url: str,
    customer_email: str = "",
    min_seats: int = 1,
) -> str:
    """Where to send a school admin who asked for `seats` seats: Stripe's payment page.

    A school without a live subscription gets a new Checkout Session (subscription mode, the
    per-seat price, quantity = seats, adjustable on the page down to `min_seats`), tied to the
    school by `client_reference_id` and metadata. A school that already pays gets the customer
    portal's confirm page for the new quantity instead: a second Checkout would start a second,
    parallel subscription. Either way nothing changes here until Stripe's webhook says so.
    """
    if not gateway.is_configured():
        raise BillingNotConfigured
    if not 1 <= seats <= MAX_SEATS:
        raise ValidationError(
            _("Choose between 1 and %(max)s seats.") % {"max": MAX_SEATS}, code="seats"
        )
    school = School.objects.get(pk=school.pk)
    if school_has_live_subscription(school):
        return _seats_change_url(
            school=school, seats=seats, success_url=success_url, cancel_url=cancel_url
        )
    customer = billing_customer_ensure(school=school, email=customer_email)
    metadata = school_metadata(school)
    session = gateway.checkout_session_create(
        {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": str(school.pk),
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
            "line_items": [
                {
                    "price": settings.STRIPE_PRICE_ID,
                    "quantity": seats,
                    "adjustable_quantity": {
                        "enabled": True,
                        "minimum": max(1, min(min_seats, seats)),
                        "maximum": MAX_SEATS,
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "locale": _checkout_locale(),
        }
    )
    logger.info(
        "checkout started",
        extra={"school": school.schema_name, "seats": seats, "session": session["id"]},
    )
    return session["url"]


def _seats_change_url(*, school: School, seats: int, success_url: str, cancel_url: str) -> str:
    subscription = gateway.subscription_retrieve(school.stripe_subscription_id)
    item = _seat_item(subscription)
    if not item.get("id"):
        raise BillingError(_("Your subscription has no seats to change. Contact support."))
    params = {
        "customer": school.stripe_customer_id or _id(subscription.get("customer")),
        # "Return" without confirming: back to billing, where nothing has changed.
        "return_url": cancel_url,
        "locale": _checkout_locale(),
    }
    if item.get("quantity") == seats:
        # Nothing to confirm (Stripe refuses an update that changes nothing): the portal's home.
        home = gateway.portal_session_create({**params, "return_url": cancel_url.split("?")[0]})
        return home["url"]
    session = gateway.portal_session_create(
        {
            **params,
            "flow_data": {
                "type": "subscription_update_confirm",
                "subscription_update_confirm": {
                    "subscription": subscription["id"],
                    "items": [{"id": item["id"], "quantity": seats}],
                },
                "after_completion": {"type": "redirect", "redirect": {"return_url": success_url}},
            },
        }
    )
    return session["url"]


def billing_portal_url(*, school: School, return_url: str) -> str:
    """Stripe's customer portal for the school: payment method, receipts, cancelling."""
    if not gateway.is_configured():
        raise BillingNotConfigured
    school = School.objects.get(pk=school.pk)
    if not school.stripe_customer_id:
        raise BillingError(_("Your school has no billing account yet: buy a licence first."))
    session = gateway.portal_session_create(
        {
            "customer": school.stripe_customer_id,
            "return_url": return_url,
            "locale": _checkout_locale(),
        }
    )
    return session["url"]


@dataclass(frozen=True)
class InvoiceRow:
    number: str
    created: datetime | None
    amount: str
    status: str
    hosted_url: str
    pdf_url: str


def money_format(amount: int, currency: str) -> str:
    currency = (currency or "").lower()
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    value = amount if places == 0 else amount / 100
    return f"{number_format(value, decimal_pos=places, force_grouping=True)} {currency.upper()}"


def billing_invoices(*, school: School, limit: int = 12) -> list[InvoiceRow]:
    """The school's latest invoices from Stripe (none before its first purchase)."""
    if not gateway.is_configured() or not school.stripe_customer_id:
        return []
    return [
        InvoiceRow(
            number=invoice.get("number") or invoice["id"],
            created=_timestamp(invoice.get("created")),
            amount=money_format(invoice.get("total") or 0, invoice.get("currency", "")),
            status=invoice.get("status") or "",
            hosted_url=invoice.get("hosted_invoice_url") or "",
            pdf_url=invoice.get("invoice_pdf") or "",
        )
        for invoice in gateway.invoices_list(customer=school.stripe_customer_id, limit=limit)
    ]


# --- Licence from a subscription -----------------------------------------------------------------


def _seat_item(subscription: dict) -> dict:
    """The subscription item for our per-seat price (the first item if the price changed)."""
    items = (subscription.get("items") or {}).get("data") or []
    for item in items:
        if _id(item.get("price")) == settings.STRIPE_PRICE_ID:
            return item
    return items[0] if items else {}


def _billing_period(subscription: dict, item: dict) -> tuple[datetime | None, datetime | None]:
    """Current period start and end: on the item since API version 2025-03-31.basil, on the
    subscription itself before that."""
    start = item.get("current_period_start") or subscription.get("current_period_start")
    end = item.get("current_period_end") or subscription.get("current_period_end")
    return _timestamp(start), _timestamp(end)


def _plan_name(item: dict) -> str:
    price = item.get("price") if isinstance(item.get("price"), dict) else {}
    interval = (price.get("recurring") or {}).get("interval") or "custom"
    return f"per_seat_{interval}"[:40]


@transaction.atomic
def school_licence_apply_subscription(
    *, school: School, subscription: dict, fetched_at: datetime | None = None
) -> bool:
    """Make the school's licence what `subscription` (a Stripe subscription as JSON) says.

    `fetched_at` is when it was read from Stripe; a read older than the one already applied is
    ignored, so two webhooks racing each other cannot leave the older state behind. Returns
    whether anything was applied.

    Licence end (licence_expires_at), from which licence_state() tells expiry:
    - trialing/active: the end of the paid period (or trial) plus BILLING_GRACE_DAYS, so a late
      renewal webhook does not lock a school out; exactly the end if it is set to cancel then;
    - past_due/unpaid: the start of the unpaid period plus BILLING_GRACE_DAYS (Stripe has already
      moved the period on when a renewal payment fails, so its end is a year away);
    - canceled/incomplete_expired/paused: when it ended.
    """
    fetched_at = fetched_at or timezone.now()
    school = School.objects.select_for_update().get(pk=school.pk)
    if school.licence_updated_at is not None and fetched_at < school.licence_updated_at:
        return False
    status = subscription.get("status", "")
    licence = LICENCE_FOR_SUBSCRIPTION_STATUS.get(status)
    if licence is None:
        return False
    if (
        school.stripe_subscription_id
        and school.stripe_subscription_id != subscription["id"]
        and status not in LIVE_SUBSCRIPTION_STATUSES
    ):
        # News about a subscription the school has since replaced (say, a lapsed one).
        return False
    item = _seat_item(subscription)
    period_start, period_end = _billing_period(subscription, item)
    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    cancel_at = _timestamp(subscription.get("cancel_at"))
    ends = bool(subscription.get("cancel_at_period_end")) or cancel_at is not None
    if cancel_at is not None and (period_end is None or cancel_at < period_end):
        period_end = cancel_at
    if licence == LicenceStatus.PAST_DUE:
        expires_at = (period_start or fetched_at) + grace
    elif licence in (LicenceStatus.TRIALING, LicenceStatus.ACTIVE):
        end = period_end
        if licence == LicenceStatus.TRIALING:
            end = _timestamp(subscription.get("trial_end")) or period_end
        end = end or fetched_at
        expires_at = end if ends else end + grace
    else:
        expires_at = (
            _timestamp(subscription.get("ended_at"))
            or _timestamp(subscription.get("canceled_at"))
            or fetched_at
        )
    school.licence_status = licence
    school.seats = int(item.get("quantity") or 0)
    school.plan = _plan_name(item)
    school.licence_expires_at = expires_at
    school.licence_period_end = period_end
    school.licence_cancel_at_period_end = ends
    school.stripe_subscription_id = subscription["id"]
    school.stripe_subscription_status = status
    school.stripe_customer_id = _id(subscription.get("customer")) or school.stripe_customer_id
    school.licence_updated_at = fetched_at
    school.save(
        update_fields=[
            "licence_status",
            "seats",
            "plan",
            "licence_expires_at",
            "licence_period_end",
            "licence_cancel_at_period_end",
            "stripe_subscription_id",
            "stripe_subscription_status",
            "stripe_customer_id",
            "licence_updated_at",
        ]
    )
    logger.info(
        "licence updated from stripe",
        extra={
            "school": school.schema_name,
            "licence_status": licence,
            "subscription_status": status,
            "seats": school.seats,
        },
    )
    return True


# --- Webhook events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventReferences:
    subscription_id: str
    customer_id: str
    school_id: str


def _invoice_subscription(invoice: dict) -> tuple[str, dict]:
    """An invoice's subscription id and that subscription's metadata: under
    parent.subscription_details since 2025-03-31.basil, top-level `subscription` before."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    legacy_details = invoice.get("subscription_details") or {}
    subscription = _id(details.get("subscription")) or _id(invoice.get("subscription"))
    return subscription, details.get("metadata") or legacy_details.get("metadata") or {}


def _event_references(event: dict) -> EventReferences:
    obj = event["data"]["object"]
    kind = obj.get("object")
    metadata = obj.get("metadata") or {}
    if kind == "checkout.session":
        subscription_id = _id(obj.get("subscription"))
        school_id = obj.get("client_reference_id") or metadata.get("school_id") or ""
    elif kind == "subscription":
        subscription_id = obj.get("id", "")
        school_id = metadata.get("school_id") or ""
    elif kind == "invoice":
        subscription_id, subscription_metadata = _invoice_subscription(obj)
        school_id = subscription_metadata.get("school_id") or metadata.get("school_id") or ""
    else:
        subscription_id, school_id = "", metadata.get("school_id") or ""
    return EventReferences(
        subscription_id=subscription_id,
        customer_id=_id(obj.get("customer")),
        school_id=str(school_id),
    )


def _school_for(references: EventReferences) -> School | None:
    schools = School.objects.real()
    if references.school_id.isdigit():
        school = schools.filter(pk=int(references.school_id)).first()
        if school is not None:
            return school
    if references.subscription_id:
        school = schools.filter(stripe_subscription_id=references.subscription_id).first()
        if school is not None:
            return school
    if references.customer_id:
        return schools.filter(stripe_customer_id=references.customer_id).first()
    return None


def stripe_event_handle(*, event: dict) -> tuple[str, School | None]:
    """Act on one verified event; returns (EventOutcome, school or None).

    Raises BillingError/BillingNotConfigured if the subscription cannot be re-read from Stripe,
    so that the delivery fails and Stripe retries it later.
    """
    if event.get("type") not in HANDLED_EVENT_TYPES:
        return EventOutcome.IGNORED, None
    references = _event_references(event)
    school = _school_for(references)
    if school is None:
        logger.warning(
            "stripe event for unknown school",
            extra={
                "event_id": event.get("id"),
                "event_type": event.get("type"),
                "school_id": references.school_id,
                "customer": references.customer_id,
                "subscription": references.subscription_id,
            },
        )
        return EventOutcome.UNKNOWN_SCHOOL, None
    if not references.subscription_id:
        # A one-off payment or an invoice outside any subscription: no licence in it.
        return EventOutcome.IGNORED, school
    fetched_at = timezone.now()
    subscription = gateway.subscription_retrieve(references.subscription_id)
    if subscription.get("status") not in LICENCE_FOR_SUBSCRIPTION_STATUS:
        return EventOutcome.PENDING, school  # "incomplete": a later event brings the outcome
    applied = school_licence_apply_subscription(
        school=school, subscription=subscription, fetched_at=fetched_at
    )
    return (EventOutcome.PROCESSED if applied else EventOutcome.STALE), school


def stripe_event_receive(*, event: dict) -> tuple[StripeEvent, bool]:
    """Record a verified event (once per event id) and handle it; returns (row, duplicate).

    A delivery of an event that was already handled is a duplicate and changes nothing. The row
    is locked while the event is handled, so concurrent deliveries of one event run one at a
    time. A failed attempt is recorded with its error and the event handled again when Stripe
    retries it.
    """
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise ValueError("not a Stripe event")
    with transaction.atomic():
        row, created = StripeEvent.objects.select_for_update().get_or_create(
            event_id=event["id"],
            defaults={
                "type": event["type"],
                "api_version": event.get("api_version") or "",
                "created": _timestamp(event.get("created")),
                "payload": event,
            },
        )
        if not created:
            row.deliveries += 1
            if row.processed_at is not None:
                row.save(update_fields=["deliveries"])
                return row, True
        try:
            with transaction.atomic():
                outcome, school = stripe_event_handle(event=event)
        except Exception as error:
            # Recorded, answered with an error, and retried by Stripe (with backoff, for days).
            expected = isinstance(error, BillingError | BillingNotConfigured)
            (logger.warning if expected else logger.exception)(
                "stripe event failed",
                extra={"event_id": row.event_id, "event_type": row.type, "error": str(error)},
            )
            row.outcome = EventOutcome.FAILED
            row.error = f"{type(error).__name__}: {error}"
        else:
            row.outcome = outcome
            row.school = school
            row.error = ""
            row.processed_at = timezone.now()
        row.save()
    return row, False
