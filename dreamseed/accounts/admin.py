from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from dreamseed.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Platform operators (public schema) manage their own accounts here."""

    list_display = ("username", "email", "first_name", "last_name", "is_superuser", "is_active")
