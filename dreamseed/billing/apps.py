from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "dreamseed.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from dreamseed.billing.signals import student_changed

        user_model = get_user_model()
        post_save.connect(student_changed, sender=user_model, dispatch_uid="billing_seats_save")
        post_delete.connect(student_changed, sender=user_model, dispatch_uid="billing_seats_delete")
