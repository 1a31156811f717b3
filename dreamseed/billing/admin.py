import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from dreamseed.billing.models import StripeEvent


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """The webhook log, for the platform operator: read-only (it is evidence, not settings)."""

    list_display = ("event_id", "type", "school", "outcome", "deliveries", "created", "received")
    list_filter = ("outcome", "type", "received")
    search_fields = ("event_id", "school__name", "school__schema_name", "error")
    list_select_related = ("school",)
    date_hierarchy = "received"
    fields = (
        "event_id",
        "type",
        "api_version",
        "school",
        "outcome",
        "error",
        "deliveries",
        "created",
        "received",
        "processed_at",
        "payload_pretty",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("payload"))
    def payload_pretty(self, event: StripeEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))
