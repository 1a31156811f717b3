"""URLs served on the public (apex) host: marketing, school signup, the operator's admin."""

from django.contrib import admin
from django.urls import include, path

from dreamseed.schools import views as school_views

urlpatterns = [
    path("", school_views.landing, name="landing"),
    path("signup/", school_views.signup, name="signup"),
    path("find/", school_views.find_school, name="find_school"),
    path("confirm-email/<str:token>/", school_views.confirm_email, name="confirm_email"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("stripe/", include("dreamseed.billing.urls_public")),
    path("operator/", admin.site.urls),
]

# A database that cannot be reached gets a short 503 with Retry-After, not the 500 page.
handler500 = "dreamseed.core.dbdown.server_error"
