"""Schools are the tenants: each has its own PostgreSQL schema and one or more host names."""

from django.conf import settings
from django.db import connection, models, transaction
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_public_schema_name, schema_exists

from dreamseed.schools.cloning import schema_clone
from dreamseed.schools.names import schema_name_check_new


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
    # Stripe's own word for the subscription (active, past_due, unpaid, canceled...), for the
    # operator; licence_status is what DreamSeed makes of it.
    stripe_subscription_status = models.CharField(
        _("Stripe subscription status"), max_length=40, blank=True
    )
    # End of the period paid for (the renewal date), and whether it renews then or ends.
    licence_period_end = models.DateTimeField(_("paid until"), null=True, blank=True)
    licence_cancel_at_period_end = models.BooleanField(_("ends at period end"), default=False)
    # When Stripe's subscription was last read and applied: a webhook that read it earlier (and
    # lost a race with a later one) must not overwrite newer state.
    licence_updated_at = models.DateTimeField(_("licence updated"), null=True, blank=True)
    # Set while the school has more active students than seats (seats lowered in Stripe's portal
    # below the students in use): no students can be added until it is cleared.
    licence_over_capacity_since = models.DateTimeField(
        _("over capacity since"), null=True, blank=True
    )

    # The first administrator's address, given at signup, and when they proved it is theirs:
    # until then the school cannot invite anyone or buy seats (dreamseed/schools/confirmation.py).
    admin_email = models.EmailField(_("administrator's e-mail"), blank=True)
    email_confirmed_at = models.DateTimeField(_("e-mail confirmed"), null=True, blank=True)

    auto_create_schema = True
    auto_drop_schema = False

    objects = SchoolQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("school")
        verbose_name_plural = _("schools")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A copy made by setting pk to None (django-tenants' clone_tenant) still looks saved to
        # Django (`_state.adding` is False) but is a new row all the same.
        if self._state.adding or self.pk is None:
            self.check_new_schema_name()
        return super().save(*args, **kwargs)

    def check_new_schema_name(self) -> None:
        """Raise ValidationError unless this new row's schema is one of its own.

        Every way of making a school (signup, the operator's admin, django-tenants' commands) ends
        here. django-tenants would otherwise take an existing schema ("information_schema") as
        already created, clone nothing into it, and the school's tables would resolve to public.
        The only rows that may name an existing or system schema are the platform's own two, made
        once by platform_bootstrap.
        """
        public = get_public_schema_name()
        rows = School.objects.all()
        if self.schema_name == public and not rows.filter(schema_name=public).exists():
            return  # the public site's row
        if (
            self.is_template
            and self.schema_name == settings.SCHOOL_TEMPLATE_SCHEMA
            and not rows.filter(is_template=True).exists()
        ):
            return  # the template every school is cloned from
        schema_name_check_new(self.schema_name)

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Clone the template schema, tables and rows (migration records, content types,
        permissions), from DDL made once per template version (dreamseed/schools/cloning.py):
        a fixed number of statements however many schools there are.

        django-tenants would follow the clone with a `migrate_schemas --fake` pass, which only
        re-records migrations the cloned django_migrations rows already hold; skipping it halves
        the time. Without a template (first ever start), fall back to a full migration.
        """
        template = settings.SCHOOL_TEMPLATE_SCHEMA
        if self.schema_name == template or not sync_schema or not schema_exists(template):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        with transaction.atomic():
            schema_clone(template=template, schema_name=self.schema_name)
        connection.set_schema_to_public()
        return True

    @property
    def primary_host(self) -> str:
        domain = self.get_primary_domain()
        return domain.domain if domain else ""


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
