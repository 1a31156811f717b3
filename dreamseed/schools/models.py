"""Schools are the tenants: each has its own PostgreSQL schema and one or more host names."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class LicenceStatus(models.TextChoices):
    TRIALING = "trialing", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Payment overdue")
    CANCELED = "canceled", _("Canceled")
    EXPIRED = "expired", _("Expired")


class SchoolQuerySet(models.QuerySet):
    def real(self):
        """Schools people use: not the public site's row and not the migration template."""
        return self.exclude(schema_name="public").exclude(is_template=True)


class School(TenantMixin):
    name = models.CharField(_("name"), max_length=120)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    # The template schema every new school is cloned from; never served, always migrated.
    is_template = models.BooleanField(default=False, editable=False)

    # Licence state, maintained by the billing app from Stripe events.
    plan = models.CharField(_("plan"), max_length=40, default="trial")
    seats = models.PositiveIntegerField(_("seats"), default=0)
    licence_status = models.CharField(
        _("licence status"),
        max_length=20,
        choices=LicenceStatus.choices,
        default=LicenceStatus.TRIALING,
    )
    licence_expires_at = models.DateTimeField(_("licence expires at"), null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)

    auto_create_schema = True
    auto_drop_schema = False

    objects = SchoolQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("school")
        verbose_name_plural = _("schools")

    def __str__(self) -> str:
        return self.name

    @property
    def primary_host(self) -> str:
        domain = self.get_primary_domain()
        return domain.domain if domain else ""


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
