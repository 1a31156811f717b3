"""Billing services: starting Checkout and the customer portal for a school, and turning what
Stripe says about a school's subscriptions into its licence.

The licence only ever changes from what Stripe returns *now* (the customer's subscriptions,
re-read through the gateway by the webhook's worker task or by reconciliation), never from an
event's copy: events arrive late, twice, out of order or not at all, and the latest read is the
truth.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from dreamseed.billing import stripe_gateway as gateway
from dreamseed.billing.models import (
    BillingDeployment,
    BillingNotice,
    EventOutcome,
    NoticeKind,
    RejectedDelivery,
    StripeEvent,
)
from dreamseed.billing.stripe_gateway import BillingError, BillingNotConfigured
from dreamseed.schools.licensing import READ_ONLY_STATES, licence_state, seats_used
from dreamseed.schools.models import LicenceStatus, School

logger = logging.getLogger(__name__)

MAX_SEATS = 10_000
#: Events that make us re-read the school's subscriptions from Stripe.
SUBSCRIPTION_EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.payment_action_required",
    }
)
HANDLED_EVENT_TYPES = SUBSCRIPTION_EVENT_TYPES | {
    "invoice.upcoming",
    "customer.deleted",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
}
#: Dispute statuses after which nothing more happens.
DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed"})
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


def deployment_id() -> str:
    """This deployment's id for Stripe idempotency keys: BILLING_DEPLOYMENT_ID, else a random id
    made once and kept in the public schema."""
    if settings.BILLING_DEPLOYMENT_ID:
        return settings.BILLING_DEPLOYMENT_ID
    row = BillingDeployment.objects.order_by("pk").first()
    if row is None:
        try:
            with transaction.atomic():
                row = BillingDeployment.objects.create(pk=1, value=secrets.token_hex(8))
        except IntegrityError:  # another process made it first
            row = BillingDeployment.objects.get(pk=1)
    return row.value


# --- Buying and managing --------------------------------------------------------------------------


def billing_customer_ensure(*, school: School, email: str = "") -> str:
    """The school's Stripe customer id, creating the customer the first time."""
    if school.stripe_customer_id:
        return school.stripe_customer_id
    # The idempotency key makes a double click (or two admins at once) create one customer. It
    # names this deployment: another one sharing the Stripe account (staging, a reset database)
    # has its own school numbered the same, and must not be handed this school's customer.
    customer = gateway.customer_create(
        name=school.name,
        email=email,
        metadata=school_metadata(school),
        idempotency_key=f"dreamseed-{deployment_id()}-school-{school.pk}-customer",
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
    if seats < min_seats:
        raise ValidationError(
            _(
                "Your school has %(used)s active students: choose at least %(used)s seats, or "
                "deactivate students who have left first."
            )
            % {"used": min_seats},
            code="seats_below_students",
        )
    # The school's row stays locked until the payment page exists: two admins (or a double click)
    # buying at once get one Checkout, not two that could both be paid.
    school = School.objects.get(pk=school.pk)
    if not school_has_live_subscription(school):
        # Made and saved before the lock below, so that a failure further on cannot roll back
        # the id of a customer Stripe has made (concurrent calls get the same one: idempotency).
        billing_customer_ensure(school=school, email=customer_email)
    with transaction.atomic():
        school = School.objects.select_for_update().get(pk=school.pk)
        if school_has_live_subscription(school):
            return _seats_change_url(
                school=school, seats=seats, success_url=success_url, cancel_url=cancel_url
            )
        customer = billing_customer_ensure(school=school, email=customer_email)
        # A subscription Stripe has and our webhook has not told us about yet (the first
        # purchase's event still on its way): apply it and change seats on it instead.
        if any(
            s.get("status") in LIVE_SUBSCRIPTION_STATUSES
            for s in gateway.subscriptions_list(customer=customer)
        ):
            school_subscription_sync(school=school)
            school.refresh_from_db()
            if school_has_live_subscription(school):
                return _seats_change_url(
                    school=school, seats=seats, success_url=success_url, cancel_url=cancel_url
                )
        # An earlier payment page still open (left in another tab) could be paid as well as this
        # one: close it first.
        for open_session in gateway.checkout_sessions_list_open(customer=customer):
            gateway.checkout_session_expire(open_session["id"])
        session = gateway.checkout_session_create(
            _checkout_params(
                school=school,
                customer=customer,
                seats=seats,
                min_seats=min_seats,
                success_url=success_url,
                cancel_url=cancel_url,
            )
        )
    logger.info(
        "checkout started",
        extra={"school": school.schema_name, "seats": seats, "session": session["id"]},
    )
    return session["url"]


def _checkout_params(
    *, school: School, customer: str, seats: int, min_seats: int, success_url: str, cancel_url: str
) -> dict:
    metadata = school_metadata(school)
    return {
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
        # Invoices to schools need the school's address and, where it has one, its tax id;
        # Checkout saves both on the customer.
        "billing_address_collection": "required",
        "tax_id_collection": {"enabled": True},
        "customer_update": {"address": "auto", "name": "auto"},
        "automatic_tax": {"enabled": settings.BILLING_AUTOMATIC_TAX},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": _checkout_locale(),
    }


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


# --- Licence from a subscription ------------------------------------------------------------------


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
    if status in LIVE_SUBSCRIPTION_STATUSES:
        # Not from an ended one: its customer may have been deleted (customer.deleted cleared it).
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


# --- The school's subscriptions, re-read from Stripe ----------------------------------------------


def _created(subscription: dict) -> tuple[int, str]:
    return (subscription.get("created") or 0, subscription.get("id") or "")


def school_subscription_sync(
    *, school: School, customer_id: str = "", subscription_id: str = ""
) -> str:
    """Re-read the school's subscriptions from Stripe and make the licence match; returns an
    EventOutcome value.

    All of the customer's subscriptions are read, not just the one an event names, so that a
    second live subscription (two Checkouts paid) is noticed and the licence does not swing
    between them: it follows the one the school already had while that one is live, else the
    oldest live one. With none live, the school's own (now ended) subscription tells how it
    ended. `customer_id`/`subscription_id` come from the event, for a school Stripe has told us
    nothing about yet.
    """
    school = School.objects.get(pk=school.pk)
    customer = school.stripe_customer_id or customer_id
    fetched_at = timezone.now()
    subscriptions = gateway.subscriptions_list(customer=customer) if customer else []
    listed = {s["id"] for s in subscriptions}
    for extra in (subscription_id, "" if customer else school.stripe_subscription_id):
        if extra and extra not in listed:
            subscriptions.append(gateway.subscription_retrieve(extra))
            listed.add(extra)
    usable = [s for s in subscriptions if s.get("status") in LICENCE_FOR_SUBSCRIPTION_STATUS]
    if not usable:
        # Nothing yet, or only "incomplete" (first payment being confirmed): a later event or
        # the next reconciliation brings the outcome.
        return EventOutcome.PENDING if subscriptions else EventOutcome.IGNORED
    live = sorted((s for s in usable if s["status"] in LIVE_SUBSCRIPTION_STATUSES), key=_created)
    if live:
        chosen = next((s for s in live if s["id"] == school.stripe_subscription_id), live[0])
    else:
        chosen = next(
            (s for s in usable if s["id"] == school.stripe_subscription_id),
            max(usable, key=_created),
        )
    _duplicate_subscriptions_record(school=school, live=live, kept=chosen["id"])
    applied = school_licence_apply_subscription(
        school=school, subscription=chosen, fetched_at=fetched_at
    )
    school_capacity_check(school=school)
    return EventOutcome.PROCESSED if applied else EventOutcome.STALE


def _duplicate_subscriptions_record(*, school: School, live: list[dict], kept: str) -> None:
    """Open (or update) the operator's notice while the school has more than one live
    subscription; resolve it once only one is left."""
    open_notice = BillingNotice.objects.filter(
        school=school,
        kind=NoticeKind.DUPLICATE_SUBSCRIPTION,
        stripe_object_id="",
        resolved_at__isnull=True,
    ).first()
    if len(live) <= 1:
        if open_notice is not None:
            open_notice.resolved_at = timezone.now()
            open_notice.save(update_fields=["resolved_at", "updated"])
        return
    details = {
        "subscriptions": [
            {
                "id": s["id"],
                "status": s.get("status"),
                "quantity": _seat_item(s).get("quantity"),
                "created": s.get("created"),
            }
            for s in live
        ]
    }
    message = _(
        "%(count)s live subscriptions for one school: the licence follows %(kept)s. Cancel and "
        "refund the others in Stripe."
    ) % {"count": len(live), "kept": kept}
    if open_notice is None:
        logger.error(
            "school has several live stripe subscriptions",
            extra={"school": school.schema_name, "subscriptions": [s["id"] for s in live]},
        )
        BillingNotice.objects.create(
            school=school,
            kind=NoticeKind.DUPLICATE_SUBSCRIPTION,
            message=message,
            details=details,
        )
    else:
        open_notice.message, open_notice.details = message, details
        open_notice.save(update_fields=["message", "details", "updated"])


# --- Over capacity --------------------------------------------------------------------------------


def school_capacity_check(*, school: School, used: int | None = None) -> bool:
    """Record whether the school has more active students than licence seats, and return it.

    Becoming over capacity (seats lowered in Stripe's portal below the students in use) sets
    School.licence_over_capacity_since, opens an operator notice and e-mails the school's
    administrators once; while it lasts no students can be added (assert_can_add_students).
    Having enough seats again (seats bought, students deactivated) clears it. A read-only school
    is never over capacity: its seats no longer matter.
    """
    school = School.objects.get(pk=school.pk)
    if used is None:
        with schema_context(school.schema_name):
            used = seats_used()
    over = used > school.seats and licence_state(school) not in READ_ONLY_STATES
    if over == (school.licence_over_capacity_since is not None) and not over:
        return False
    numbers = {"used": used, "seats": school.seats}
    message = (
        _(
            "%(used)s active students, %(seats)s seats: no students can be added until seats are "
            "bought or students deactivated."
        )
        % numbers
    )
    with transaction.atomic():
        locked = School.objects.select_for_update().get(pk=school.pk)
        notice = BillingNotice.objects.filter(
            school=locked, kind=NoticeKind.OVER_CAPACITY, stripe_object_id="",
            resolved_at__isnull=True,
        ).first()  # fmt: skip
        if not over:
            School.objects.filter(pk=locked.pk).update(licence_over_capacity_since=None)
            if notice is not None:
                notice.resolved_at = timezone.now()
                notice.details = {**notice.details, "resolved_with": numbers}
                notice.save(update_fields=["resolved_at", "details", "updated"])
            logger.info("school back within its seats", extra={"school": locked.schema_name})
            return False
        if notice is None:
            notice = BillingNotice.objects.create(
                school=locked, kind=NoticeKind.OVER_CAPACITY, message=message, details=numbers
            )
        elif notice.details != numbers:
            notice.message, notice.details = message, numbers
            notice.save(update_fields=["message", "details", "updated"])
        if locked.licence_over_capacity_since is None:
            School.objects.filter(pk=locked.pk).update(licence_over_capacity_since=timezone.now())
            logger.warning("school over capacity", extra={"school": locked.schema_name, **numbers})
            school_pk = locked.pk
            transaction.on_commit(
                lambda: _admins_email(
                    school_pk=school_pk,
                    template="over_capacity",
                    context={
                        "used": used,
                        "seats": numbers["seats"],
                        "excess": used - numbers["seats"],
                    },
                ),
                robust=True,
            )
    return True


# --- E-mail to a school's administrators ----------------------------------------------------------


def _school_url(school: School, path: str) -> str:
    host = school.primary_host
    if settings.SESSION_COOKIE_SECURE:
        return f"https://{host}{path}"
    return f"http://{host}:{getattr(settings, 'DEV_WEB_PORT', 8000)}{path}"


def _admins_email(*, school_pk: int, template: str, context: dict) -> int:
    """Send templates/billing/email/<template>{_subject,}.txt to the school's active
    administrators; returns how many were sent."""
    from django.urls import reverse

    from dreamseed.accounts.models import Role, User

    school = School.objects.get(pk=school_pk)
    with schema_context(school.schema_name):
        recipients = list(
            User.objects.filter(role=Role.ADMIN, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        billing_url = _school_url(school, reverse("billing:overview"))
    if not recipients:
        return 0
    context = {**context, "school_name": school.name, "billing_url": billing_url}
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"billing/email/{template}_subject.txt", context)
        body = render_to_string(f"billing/email/{template}.txt", context)
    send_mail(" ".join(subject.split()), body, None, recipients)
    logger.info("billing e-mail sent", extra={"school": school.schema_name, "template": template})
    return len(recipients)


# --- Webhook events -------------------------------------------------------------------------------


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
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    customer_id = _id(obj.get("customer"))
    if kind == "checkout.session":
        subscription_id = _id(obj.get("subscription"))
        school_id = obj.get("client_reference_id") or metadata.get("school_id") or ""
    elif kind == "subscription":
        subscription_id = obj.get("id", "")
        school_id = metadata.get("school_id") or ""
    elif kind == "invoice":
        subscription_id, subscription_metadata = _invoice_subscription(obj)
        school_id = subscription_metadata.get("school_id") or metadata.get("school_id") or ""
    elif kind == "customer":
        subscription_id, school_id = "", metadata.get("school_id") or ""
        customer_id = obj.get("id", "")
    else:
        subscription_id, school_id = "", metadata.get("school_id") or ""
    return EventReferences(
        subscription_id=subscription_id if isinstance(subscription_id, str) else "",
        customer_id=customer_id if isinstance(customer_id, str) else "",
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


def _dashboard_url(obj: dict, path: str) -> str:
    mode = "" if obj.get("livemode") else "test/"
    return f"https://dashboard.stripe.com/{mode}{path}"


def _notice_upsert(*, kind: str, stripe_object_id: str, school: School | None, **fields):
    notice, _created_now = BillingNotice.objects.update_or_create(
        kind=kind, stripe_object_id=stripe_object_id, defaults={"school": school, **fields}
    )
    return notice


def _refund_record(*, school: School, charge: dict) -> None:
    refunded = int(charge.get("amount_refunded") or 0)
    _notice_upsert(
        kind=NoticeKind.REFUND,
        stripe_object_id=charge.get("id", ""),
        school=school,
        amount=refunded,
        currency=(charge.get("currency") or "")[:3],
        url=_dashboard_url(
            charge, f"payments/{_id(charge.get('payment_intent')) or charge.get('id')}"
        ),
        message=_("%(refunded)s refunded of a %(amount)s payment.")
        % {
            "refunded": money_format(refunded, charge.get("currency", "")),
            "amount": money_format(int(charge.get("amount") or 0), charge.get("currency", "")),
        },
        details={"charge_amount": charge.get("amount"), "refunded": bool(charge.get("refunded"))},
    )
    logger.warning("stripe refund recorded", extra={"school": school.schema_name})


def _dispute_record(*, dispute: dict) -> School | None:
    """A card dispute: find the school through the disputed charge's customer (the dispute does
    not name the customer) and keep the dispute's state for the operator."""
    charge_id = _id(dispute.get("charge"))
    charge = dispute["charge"] if isinstance(dispute.get("charge"), dict) else None
    if charge is None and charge_id:
        charge = gateway.charge_retrieve(charge_id)
    customer = _id((charge or {}).get("customer"))
    school = _school_for(EventReferences("", customer, "")) if customer else None
    status = dispute.get("status") or ""
    closed = status in DISPUTE_CLOSED_STATUSES
    due_by = ((dispute.get("evidence_details") or {}).get("due_by")) or None
    notice = BillingNotice.objects.filter(
        kind=NoticeKind.DISPUTE, stripe_object_id=dispute.get("id", "")
    ).first()
    _notice_upsert(
        kind=NoticeKind.DISPUTE,
        stripe_object_id=dispute.get("id", ""),
        school=school,
        amount=int(dispute.get("amount") or 0),
        currency=(dispute.get("currency") or "")[:3],
        url=_dashboard_url(dispute, f"disputes/{dispute.get('id', '')}"),
        message=_("Dispute (%(reason)s): %(status)s.")
        % {"reason": dispute.get("reason") or "-", "status": status or "-"},
        details={"charge": charge_id, "status": status, "reason": dispute.get("reason"),
                 "evidence_due_by": due_by},
        resolved_at=(notice.resolved_at if notice and notice.resolved_at else timezone.now())
        if closed
        else None,
    )  # fmt: skip
    (logger.info if closed else logger.error)(
        "stripe dispute recorded",
        extra={"dispute": dispute.get("id"), "status": status,
               "school": school.schema_name if school else "-"},
    )  # fmt: skip
    return school


def _https_url(value) -> str:
    """A link from Stripe to show school admins: an https address, or nothing."""
    return value if isinstance(value, str) and value.startswith("https://") else ""


def _payment_action_record(*, school: School, invoice: dict) -> None:
    _notice_upsert(
        kind=NoticeKind.PAYMENT_ACTION_REQUIRED,
        stripe_object_id=invoice.get("id", ""),
        school=school,
        amount=int(invoice.get("amount_due") or 0),
        currency=(invoice.get("currency") or "")[:3],
        url=_https_url(invoice.get("hosted_invoice_url")),
        message=_("The card holder must confirm this payment with their bank."),
        resolved_at=None,
    )


def _payment_action_resolve(*, invoice: dict) -> None:
    BillingNotice.objects.filter(
        kind=NoticeKind.PAYMENT_ACTION_REQUIRED,
        stripe_object_id=invoice.get("id", ""),
        resolved_at__isnull=True,
    ).update(resolved_at=timezone.now(), updated=timezone.now())


def _renewal_reminder_send(*, school: School, invoice: dict) -> None:
    """invoice.upcoming: tell the administrators when and how much the next renewal is."""
    when = _timestamp(invoice.get("next_payment_attempt")) or _timestamp(invoice.get("period_end"))
    lines = ((invoice.get("lines") or {}).get("data")) or []
    seats = next((line.get("quantity") for line in lines if line.get("quantity")), None)
    context = {
        "date": when,
        "amount": money_format(int(invoice.get("amount_due") or 0), invoice.get("currency", "")),
        "seats": seats or school.seats,
    }
    school_pk = school.pk
    transaction.on_commit(
        lambda: _admins_email(school_pk=school_pk, template="renewal_reminder", context=context),
        robust=True,
    )


def stripe_event_handle(*, event: dict) -> tuple[str, School | None]:
    """Act on one recorded event; returns (EventOutcome, school or None).

    Raises BillingError/BillingNotConfigured when Stripe cannot be read, so that the worker
    retries it later.
    """
    kind = event.get("type")
    if kind not in HANDLED_EVENT_TYPES:
        return EventOutcome.IGNORED, None
    obj = event["data"]["object"]
    if kind.startswith("charge.dispute."):
        school = _dispute_record(dispute=obj)
        return EventOutcome.PROCESSED, school
    references = _event_references(event)
    school = _school_for(references)
    if school is None:
        logger.warning(
            "stripe event for unknown school",
            extra={
                "event_id": event.get("id"),
                "event_type": kind,
                "school_id": references.school_id,
                "customer": references.customer_id,
                "subscription": references.subscription_id,
            },
        )
        return EventOutcome.UNKNOWN_SCHOOL, None
    if kind == "customer.deleted":
        # The customer is gone for good: a later purchase must make a new one.
        School.objects.filter(pk=school.pk, stripe_customer_id=references.customer_id).update(
            stripe_customer_id=""
        )
        return EventOutcome.PROCESSED, school
    if kind == "charge.refunded":
        _refund_record(school=school, charge=obj)
        return EventOutcome.PROCESSED, school
    if kind == "invoice.upcoming":
        _renewal_reminder_send(school=school, invoice=obj)
        return EventOutcome.PROCESSED, school
    if kind == "invoice.payment_action_required":
        _payment_action_record(school=school, invoice=obj)
    elif kind == "invoice.paid":
        _payment_action_resolve(invoice=obj)
    if not references.subscription_id:
        # A one-off payment or an invoice outside any subscription: no licence in it.
        return (
            EventOutcome.PROCESSED
            if kind == "invoice.payment_action_required"
            else EventOutcome.IGNORED
        ), school
    outcome = school_subscription_sync(
        school=school,
        customer_id=references.customer_id,
        subscription_id=references.subscription_id,
    )
    return outcome, school


#: First key of the advisory lock taken while an event is handled (the second is its pk).
EVENT_LOCK_NAMESPACE = 21_0001


class EventProcessingFailed(Exception):
    """Handling a recorded event failed (recorded on its row); the worker retries it."""


def stripe_event_record(*, event: dict) -> tuple[StripeEvent, bool, bool]:
    """Record a verified event once per event id; returns (row, duplicate, enqueue).

    Nothing is handled here: the webhook answers as soon as the row exists and a worker task
    handles it. A redelivery of a recorded event only counts the delivery, and asks for
    processing again if the last attempt failed.
    """
    row, created = StripeEvent.objects.get_or_create(
        event_id=event["id"],
        defaults={
            "type": event["type"],
            "api_version": str(event.get("api_version") or "")[:40],
            "created": _timestamp(event.get("created"))
            if isinstance(event.get("created"), int)
            else None,
            "payload": event,
            "outcome": EventOutcome.QUEUED,
        },
    )
    if created:
        return row, False, True
    StripeEvent.objects.filter(pk=row.pk).update(deliveries=F("deliveries") + 1)
    return row, True, row.outcome == EventOutcome.FAILED


def stripe_event_process(*, event_pk: int) -> StripeEvent | None:
    """Handle a recorded event (the worker task's body). Safe to run twice and concurrently:
    runs for one event take turns (a transaction-scoped advisory lock), and a processed event is
    left alone. A failure is recorded on the row (outcome failed, the error) and raised as
    EventProcessingFailed.

    The advisory lock, not a row lock, is what serialises them: the webhook counts a redelivery
    with an UPDATE of the row, which must not wait for Stripe calls made while handling.
    """
    failure = None
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EVENT_LOCK_NAMESPACE, event_pk])
        row = StripeEvent.objects.filter(pk=event_pk).first()
        if row is None or row.processed_at is not None:
            return row
        row.attempts += 1
        try:
            if not row.payload:
                raise BillingError(_("The payload was pruned; reconcile the school instead."))
            with transaction.atomic():
                outcome, school = stripe_event_handle(event=row.payload)
        except Exception as error:
            expected = isinstance(error, BillingError | BillingNotConfigured)
            (logger.warning if expected else logger.exception)(
                "stripe event failed",
                extra={"event_id": row.event_id, "event_type": row.type, "error": str(error)},
            )
            row.outcome = EventOutcome.FAILED
            row.error = f"{type(error).__name__}: {error}"
            failure = error
        else:
            row.outcome, row.school, row.error = outcome, school, ""
            row.processed_at = timezone.now()
            if outcome in (EventOutcome.IGNORED, EventOutcome.UNKNOWN_SCHOOL):
                row.payload = {}  # nothing of ours in it: not worth keeping
        # Not `deliveries`: the webhook may have counted another delivery meanwhile.
        row.save(
            update_fields=["attempts", "outcome", "school", "error", "processed_at", "payload"]
        )
    if failure is not None:
        raise EventProcessingFailed(row.error) from failure
    return row


def stripe_events_replayable():
    """Events the worker gave up on, or that never reached it (queue lost): the operator's
    replay action and the daily job send them to the worker again."""
    stuck_before = timezone.now() - timedelta(minutes=15)
    return StripeEvent.objects.filter(processed_at__isnull=True).filter(
        Q(outcome=EventOutcome.FAILED) | Q(outcome=EventOutcome.QUEUED, received__lt=stuck_before)
    )


def rejected_delivery_record(
    *, remote_address: str, reason: str, detail: str, body_bytes: int, event_id: str = ""
) -> RejectedDelivery:
    try:
        address = remote_address or None
        return RejectedDelivery.objects.create(
            remote_address=address,
            reason=reason,
            detail=detail[:500],
            body_bytes=body_bytes,
            event_id=event_id[:255],
        )
    except (ValidationError, ValueError):
        return RejectedDelivery.objects.create(
            reason=reason, detail=detail[:500], body_bytes=body_bytes, event_id=event_id[:255]
        )


# --- Repair and housekeeping ----------------------------------------------------------------------


def schools_to_reconcile():
    """Schools Stripe knows about, and any flagged over capacity."""
    return (
        School.objects.real()
        .filter(
            Q(stripe_customer_id__gt="")
            | Q(stripe_subscription_id__gt="")
            | Q(licence_over_capacity_since__isnull=False)
        )
        .order_by("pk")
    )


def billing_reconcile(*, school: School) -> str:
    """Re-read the school's subscriptions from Stripe and fix its licence (a lost renewal
    webhook, a missed cancellation), and re-check its seats. Returns the outcome."""
    if gateway.is_configured() and (school.stripe_customer_id or school.stripe_subscription_id):
        return school_subscription_sync(school=school)
    school_capacity_check(school=school)
    return "no_subscription"


def billing_reconcile_all(*, schools=None) -> dict[str, int]:
    """One pass over every school Stripe knows about; a school that fails is logged and the
    pass goes on. Returns how many schools ended with each outcome."""
    counts: dict[str, int] = {}
    for school in schools if schools is not None else schools_to_reconcile().iterator():
        try:
            outcome = billing_reconcile(school=school)
        except (BillingError, BillingNotConfigured) as error:
            logger.warning(
                "reconcile failed", extra={"school": school.schema_name, "error": str(error)}
            )
            outcome = "failed"
        counts[outcome] = counts.get(outcome, 0) + 1
    logger.info("billing reconciled", extra={"outcomes": counts})
    return counts


def billing_records_prune(*, now=None) -> tuple[int, int]:
    """Forget webhook payloads and refused deliveries older than BILLING_EVENT_RETENTION_DAYS.
    Event rows stay (without payload) so that a very late redelivery is still recognised.
    Returns (payloads emptied, refused deliveries deleted)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.BILLING_EVENT_RETENTION_DAYS)
    emptied = StripeEvent.objects.filter(received__lt=cutoff).exclude(payload={}).update(payload={})
    deleted, _by_model = RejectedDelivery.objects.filter(received__lt=cutoff).delete()
    return emptied, deleted


# --- For the billing page -------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceDate:
    label: str
    date: datetime


def licence_dates(school: School, *, now=None) -> list[LicenceDate]:
    """The dates worth showing for the licence's state, most important first: never "renews"
    for a licence that will not (canceled, expired, set to end, payment overdue)."""
    state = licence_state(school, now=now)
    period_end, expires_at = school.licence_period_end, school.licence_expires_at
    dates: list[tuple[str, datetime | None]]
    if state == LicenceStatus.TRIALING:
        dates = [(_("Trial ends on"), period_end or expires_at)]
    elif state == LicenceStatus.ACTIVE:
        label = _("Ends on") if school.licence_cancel_at_period_end else _("Renews on")
        dates = [(label, period_end or expires_at)]
    elif state == LicenceStatus.PAST_DUE:
        dates = [(_("Keeps working until"), expires_at)]
    else:
        dates = [(_("Ended on"), expires_at)]
    return [LicenceDate(label, date) for label, date in dates if date is not None]
