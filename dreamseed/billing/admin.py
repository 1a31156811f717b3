"""The operator's billing screens: the webhook log (with replay), refused deliveries, and the
notices that need a person (over capacity, duplicate subscriptions, refunds, disputes...)."""

import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from dreamseed.billing import services, tasks
from dreamseed.billing import stripe_gateway as gateway
from dreamseed.billing.models import (
    BillingNotice,
    EventOutcome,
    NoticeKind,
    RejectedDelivery,
    StripeEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence, not settings: nothing here is added, edited or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = (
        "event_id",
        "type",
        "school",
        "outcome",
        "deliveries",
        "attempts",
        "created",
        "received",
    )
    list_filter = ("outcome", "type", "received")
    search_fields = ("event_id", "school__name", "school__schema_name", "error")
    list_select_related = ("school",)
    date_hierarchy = "received"
    actions = ["replay"]
    fields = (
        "event_id",
        "type",
        "api_version",
        "school",
        "outcome",
        "error",
        "deliveries",
        "attempts",
        "created",
        "received",
        "processed_at",
        "payload_pretty",
    )
    readonly_fields = fields

    @admin.display(description=_("payload"))
    def payload_pretty(self, event: StripeEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))

    @admin.action(description=_("Replay the selected failed events"), permissions=["view"])
    def replay(self, request, queryset):
        replayable = queryset.filter(processed_at__isnull=True).exclude(payload={})
        count = 0
        waiting = replayable.filter(outcome__in=[EventOutcome.FAILED, EventOutcome.QUEUED])
        for event_pk in waiting.values_list("pk", flat=True):
            tasks.stripe_event_enqueue(event_pk)
            count += 1
        skipped = queryset.count() - count
        self.message_user(
            request,
            ngettext(
                "%(count)d event sent to the worker again.",
                "%(count)d events sent to the worker again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d event skipped: already handled, or its payload was pruned "
                    "(reconcile its school instead).",
                    "%(count)d events skipped: already handled, or their payloads were pruned "
                    "(reconcile their schools instead).",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


@admin.register(RejectedDelivery)
class RejectedDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received", "remote_address", "reason", "detail", "body_bytes", "event_id")
    list_filter = ("reason", "received")
    search_fields = ("remote_address", "event_id", "detail")
    date_hierarchy = "received"


class OpenFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", _("Open")), ("no", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(BillingNotice)
class BillingNoticeAdmin(ReadOnlyAdmin):
    """Schools over capacity, with two live subscriptions, waiting on a card confirmation; refunds
    and disputes. Open ones first."""

    list_display = (
        "created",
        "kind",
        "school",
        "message",
        "amount_shown",
        "stripe_link",
        "resolved_at",
    )
    list_filter = (OpenFilter, "kind", "created")
    search_fields = ("school__name", "school__schema_name", "stripe_object_id", "message")
    list_select_related = ("school",)
    date_hierarchy = "created"
    actions = ["recheck", "mark_resolved"]
    fields = (
        "kind",
        "school",
        "message",
        "amount_shown",
        "stripe_object_id",
        "stripe_link",
        "details_pretty",
        "created",
        "updated",
        "resolved_at",
    )
    readonly_fields = fields

    def get_ordering(self, request):
        return ["-resolved_at", "-created"]  # NULLs (open) first in PostgreSQL descending order

    @admin.display(description=_("amount"))
    def amount_shown(self, notice: BillingNotice) -> str:
        if notice.amount is None:
            return "-"
        return services.money_format(notice.amount, notice.currency)

    @admin.display(description=_("in Stripe"))
    def stripe_link(self, notice: BillingNotice) -> str:
        if not notice.url:
            return "-"
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', notice.url, _("open"))

    @admin.display(description=_("details"))
    def details_pretty(self, notice: BillingNotice) -> str:
        return format_html("<pre>{}</pre>", json.dumps(notice.details, indent=2, sort_keys=True))

    @admin.action(description=_("Re-check the selected schools with Stripe"), permissions=["view"])
    def recheck(self, request, queryset):
        schools = {notice.school for notice in queryset.select_related("school") if notice.school}
        try:
            counts = services.billing_reconcile_all(schools=sorted(schools, key=lambda s: s.pk))
        except gateway.BillingNotConfigured:
            self.message_user(request, _("Stripe is not configured."), messages.ERROR)
            return
        self.message_user(
            request,
            _("Re-checked %(count)d school(s): %(outcomes)s")
            % {
                "count": len(schools),
                "outcomes": ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-",
            },
        )

    @admin.action(description=_("Mark the selected notices resolved"), permissions=["view"])
    def mark_resolved(self, request, queryset):
        # Over capacity and duplicate subscriptions end when Stripe and the school say so:
        # "Re-check" them instead.
        manual = [NoticeKind.REFUND, NoticeKind.DISPUTE, NoticeKind.PAYMENT_ACTION_REQUIRED]
        count = queryset.filter(resolved_at__isnull=True, kind__in=manual).update(
            resolved_at=timezone.now(), updated=timezone.now()
        )
        self.message_user(request, _("%(count)d notice(s) resolved.") % {"count": count})
