from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.admin import TenantAdminMixin

from dreamseed.schools.licensing import licence_state
from dreamseed.schools.models import Domain, LicenceStatus, School


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class EffectiveLicenceFilter(admin.SimpleListFilter):
    """The licence as the school experiences it now: a trial or grace period that has run out
    counts as expired even while the stored status still says trialing/active/past_due."""

    title = _("licence now")
    parameter_name = "licence_now"

    def lookups(self, request, model_admin):
        return [
            ("working", _("Working (trial, active, in grace)")),
            ("read_only", _("Read-only (expired or canceled)")),
            ("ran_out", _("Ran out, not yet updated")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        timed = [LicenceStatus.TRIALING, LicenceStatus.ACTIVE, LicenceStatus.PAST_DUE]
        ran_out = queryset.filter(licence_status__in=timed, licence_expires_at__lt=now)
        if self.value() == "ran_out":
            return ran_out
        if self.value() == "read_only":
            stored = queryset.filter(
                licence_status__in=[LicenceStatus.CANCELED, LicenceStatus.EXPIRED]
            )
            return stored | ran_out
        if self.value() == "working":
            return queryset.filter(licence_status__in=timed).exclude(pk__in=ran_out)
        return queryset


class HasSubscriptionFilter(admin.SimpleListFilter):
    title = _("Stripe subscription")
    parameter_name = "subscription"

    def lookups(self, request, model_admin):
        return [("yes", _("Has one")), ("no", _("None"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(stripe_subscription_id="")
        if self.value() == "no":
            return queryset.filter(stripe_subscription_id="")
        return queryset


class SchoolAdminForm(forms.ModelForm):
    class Meta:
        model = School
        fields = ["name", "schema_name"]  # the admin's fieldsets add the rest

    def clean_schema_name(self):
        schema_name = self.cleaned_data["schema_name"]
        if self.instance._state.adding:
            School(schema_name=schema_name).check_new_schema_name()
        return schema_name


class OverCapacityFilter(admin.SimpleListFilter):
    """Schools with more active students than seats (set by billing; see Billing notices)."""

    title = _("seats")
    parameter_name = "over_capacity"

    def lookups(self, request, model_admin):
        return [("yes", _("More active students than seats"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(licence_over_capacity_since__isnull=False)
        return queryset


@admin.register(School)
class SchoolAdmin(TenantAdminMixin, admin.ModelAdmin):
    form = SchoolAdminForm
    list_display = (
        "name",
        "schema_name",
        "licence_now",
        "licence_status",
        "plan",
        "seats",
        "licence_expires_at",
        "licence_period_end",
        "stripe_subscription_status",
        "created",
    )
    list_filter = (
        EffectiveLicenceFilter,
        "licence_status",
        "plan",
        "stripe_subscription_status",
        HasSubscriptionFilter,
        OverCapacityFilter,
        "licence_cancel_at_period_end",
    )
    search_fields = (
        "name",
        "schema_name",
        "stripe_customer_id",
        "stripe_subscription_id",
        "domains__domain",
    )
    date_hierarchy = "created"
    readonly_fields = (
        "schema_name",
        "created",
        "licence_now",
        "stripe_customer_id",
        "stripe_subscription_id",
        "stripe_subscription_status",
        "licence_period_end",
        "licence_cancel_at_period_end",
        "licence_updated_at",
        "licence_over_capacity_since",
    )
    fieldsets = (
        (None, {"fields": ("name", "schema_name", "created")}),
        (
            _("Administrator's e-mail"),
            {
                "description": _(
                    "Until it is confirmed (the link mailed at signup) the school cannot invite "
                    "anyone or buy seats. Set the date by hand only after checking the address "
                    "belongs to the school."
                ),
                "fields": ("admin_email", "email_confirmed_at"),
            },
        ),
        (
            _("Licence"),
            {
                "description": _(
                    "Kept up to date from Stripe's webhooks. Edit by hand only for schools "
                    "without a Stripe subscription (for example, to extend a trial): the next "
                    "Stripe event overwrites these fields."
                ),
                "fields": (
                    "licence_now",
                    "licence_status",
                    "plan",
                    "seats",
                    "licence_expires_at",
                    "licence_period_end",
                    "licence_cancel_at_period_end",
                    "licence_updated_at",
                    "licence_over_capacity_since",
                ),
            },
        ),
        (
            _("Stripe"),
            {
                "fields": (
                    "stripe_customer_id",
                    "stripe_subscription_id",
                    "stripe_subscription_status",
                )
            },
        ),
    )
    inlines = [DomainInline]

    def get_queryset(self, request):
        return super().get_queryset(request).real()

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is None:  # a new school: its schema is named here, and checked (SchoolAdminForm)
            fields = tuple(field for field in fields if field != "schema_name")
        return fields

    @admin.display(description=_("licence now"))
    def licence_now(self, school: School) -> str:
        return str(LicenceStatus(licence_state(school)).label)
