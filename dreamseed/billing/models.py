"""The log of Stripe webhook events (public schema): every event id once, and what we did with it.

The unique event id is what makes deliveries idempotent: Stripe delivers at least once, and a
repeated delivery of a processed event is acknowledged without being applied again.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventOutcome(models.TextChoices):
    PROCESSED = "processed", _("Applied to the school's licence")
    STALE = "stale", _("Already superseded by newer data")
    PENDING = "pending", _("Payment not confirmed yet: nothing to apply")
    IGNORED = "ignored", _("Not an event type we act on")
    UNKNOWN_SCHOOL = "unknown_school", _("No school matches it")
    FAILED = "failed", _("Failed (Stripe will retry)")


class StripeEvent(models.Model):
    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    api_version = models.CharField(_("API version"), max_length=40, blank=True)
    # When Stripe created the event, and when it reached us (first delivery).
    created = models.DateTimeField(_("created at Stripe"), null=True, blank=True)
    received = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    school = models.ForeignKey(
        "schools.School",
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stripe_events",
    )
    payload = models.JSONField(_("payload"))
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
