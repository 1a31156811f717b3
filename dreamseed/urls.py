"""URLs served on a school's host."""

from django.urls import include, path

from dreamseed.classes import views as class_views
from dreamseed.itembank import views as itembank_views
from dreamseed.schools import views as school_views

urlpatterns = [
    path("", class_views.dashboard, name="dashboard"),
    path("accounts/", include("dreamseed.accounts.urls")),
    path("classes/", include("dreamseed.classes.urls")),
    path("items/", include("dreamseed.itembank.urls")),
    path("media/items/<str:name>", itembank_views.item_image, name="item_image"),
    path("tests/", include("dreamseed.assessments.urls")),
    path("billing/", include("dreamseed.billing.urls")),
    path("reports/", include("dreamseed.reports.urls")),
    path("lti/", include("dreamseed.lti.urls")),
    path("privacy/", include("dreamseed.privacy.urls")),
    path("api/items/", include("dreamseed.itembank.api_urls")),
    path("api/sessions/", include("dreamseed.assessments.api_urls")),
    path("api/", include("dreamseed.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "school/confirm-email/resend/",
        school_views.email_confirmation_resend,
        name="school_email_resend",
    ),
]

# A database that cannot be reached gets a short 503 with Retry-After, not the 500 page.
handler500 = "dreamseed.core.dbdown.server_error"
# Under /api/ an unknown URL is a JSON 404, as every other API error is.
handler404 = "dreamseed.core.views.page_not_found"
