from django.contrib import admin

from dreamseed.outbox.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("pk", "task_name", "schema_name", "created_at", "sent_at", "received_at")
    list_filter = ("task_name",)
    search_fields = ("schema_name", "task_name")
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
