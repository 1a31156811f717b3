from django.contrib import admin
from django_tenants.admin import TenantAdminMixin

from dreamseed.schools.models import Domain, School


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(School)
class SchoolAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "schema_name",
        "licence_status",
        "plan",
        "seats",
        "licence_expires_at",
        "created",
    )
    list_filter = ("licence_status", "plan")
    search_fields = ("name", "schema_name", "stripe_customer_id", "domains__domain")
    readonly_fields = ("schema_name", "created", "stripe_customer_id", "stripe_subscription_id")
    inlines = [DomainInline]

    def get_queryset(self, request):
        return super().get_queryset(request).real()
