"""Billing pages on a school's host (school administrators only)."""

from django.urls import path

from dreamseed.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("checkout/", views.checkout, name="checkout"),
    path("portal/", views.portal, name="portal"),
    path("success/", views.success, name="success"),
]
