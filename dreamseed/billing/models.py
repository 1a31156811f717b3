"""Billing records in the public schema: Stripe's webhook events (every event id once, and what we
did with it), refused deliveries, notices for the operator and school admins, and this
deployment's id.

The unique event id is what makes deliveries idempotent: Stripe delivers at least once, and a
repeated delivery of a processed event is acknowledged without being applied again.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventOutcome(models.TextChoices):
    QUEUED = "queued", _("Recorded, waiting for the worker")
    PROCESSED = "processed", _("Applied to the school's licence")
    STALE = "stale", _("Already superseded by newer data")
    PENDING = "pending", _("Payment not confirmed yet: nothing to apply")
    IGNORED = "ignored", _("Not an event type we act on")
    UNKNOWN_SCHOOL = "unknown_school", _("No school matches it")
    FAILED = "failed", _("Failed (retried automatically; the operator can replay it)")


class StripeEvent(models.Model):
    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    api_version = models.CharField(_("API version"), max_length=40, blank=True)
    # When Stripe created the event, and when it reached us (first delivery).
    created = models.DateTimeField(_("created at Stripe"), null=True, blank=True)
    received = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    # Processing attempts by the worker (retries and operator replays included).
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    school = models.ForeignKey(
        "schools.School",
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stripe_events",
    )
    # Emptied once processed for ignored types, and for all after BILLING_EVENT_RETENTION_DAYS;
    # the row itself stays so that a late redelivery is still recognised.
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=EventOutcome.choices, blank=True
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-received"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        indexes = [models.Index(fields=["outcome", "-received"])]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class RejectionReason(models.TextChoices):
    NOT_CONFIGURED = "not_configured", _("No webhook secret on this server")
    BAD_SIGNATURE = "bad_signature", _("Missing, wrong or expired signature")
    NOT_JSON = "not_json", _("Signed, but not JSON")
    NOT_AN_EVENT = "not_an_event", _("Signed JSON, but not shaped like a Stripe event")


class RejectedDelivery(models.Model):
    """A POST to the webhook that was answered 400: who sent it and why it was refused."""

    received = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    remote_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=RejectionReason.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    body_bytes = models.PositiveIntegerField(_("body size (bytes)"), default=0)
    event_id = models.CharField(_("event id"), max_length=255, blank=True)

    class Meta:
        ordering = ["-received"]
        verbose_name = _("refused webhook delivery")
        verbose_name_plural = _("refused webhook deliveries")

    def __str__(self) -> str:
        return f"{self.reason} {self.received:%Y-%m-%d %H:%M}"


class NoticeKind(models.TextChoices):
    OVER_CAPACITY = "over_capacity", _("More active students than seats")
    DUPLICATE_SUBSCRIPTION = "duplicate_subscription", _("Two live subscriptions")
    PAYMENT_ACTION_REQUIRED = "payment_action_required", _("Payment needs the card holder")
    REFUND = "refund", _("Refund")
    DISPUTE = "dispute", _("Dispute")


class BillingNotice(models.Model):
    """Something about a school's billing that a person must look at. Open until resolved:
    automatically (seats bought, duplicate canceled, invoice paid, dispute closed) or by the
    operator."""

    school = models.ForeignKey(
        "schools.School",
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="billing_notices",
    )
    kind = models.CharField(_("kind"), max_length=30, choices=NoticeKind.choices)
    # The Stripe object it is about (invoice, charge, dispute); empty for school-wide states.
    stripe_object_id = models.CharField(_("Stripe object"), max_length=255, blank=True)
    message = models.TextField(_("message"), blank=True)
    amount = models.BigIntegerField(_("amount (smallest unit)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    url = models.URLField(_("link"), max_length=1000, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("billing notice")
        verbose_name_plural = _("billing notices")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "stripe_object_id"],
                condition=~Q(stripe_object_id=""),
                name="billing_notice_one_per_stripe_object",
            ),
            models.UniqueConstraint(
                fields=["school", "kind"],
                condition=Q(stripe_object_id="", resolved_at__isnull=True),
                name="billing_notice_one_open_per_school_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.school or '-'})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class BillingDeployment(models.Model):
    """One row: a random id made the first time it is needed, so that Stripe idempotency keys
    from this deployment never collide with another's (staging, a reset database) sharing the
    Stripe account."""

    value = models.CharField(max_length=40, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("billing deployment id")

    def __str__(self) -> str:
        return self.value
