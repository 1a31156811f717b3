"""Stripe's webhook, on the public host."""

from django.urls import path

from dreamseed.billing import views

app_name = "stripe"

urlpatterns = [
    path("webhook/", views.stripe_webhook, name="webhook"),
]
