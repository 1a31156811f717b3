"""The REST API of a school: /api/... on the school's host."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from dreamseed.api import results, views

app_name = "api"

router = SimpleRouter()
router.register("classes", views.ClassViewSet, basename="class")
router.register("students", views.StudentViewSet, basename="student")

enrollments = views.EnrollmentViewSet.as_view(
    {"get": "list", "post": "create", "delete": "bulk_destroy"}
)
enrollment = views.EnrollmentViewSet.as_view({"delete": "destroy"})

urlpatterns = [
    path("token/", views.StaffTokenView.as_view(), name="token"),
    path("classes/<int:class_id>/enrollments/", enrollments, name="class-enrollments"),
    path(
        "classes/<int:class_id>/enrollments/<int:student_id>/",
        enrollment,
        name="class-enrollment",
    ),
    path(
        "classes/<int:class_id>/statistics/",
        results.ClassStatisticsView.as_view(),
        name="class-statistics",
    ),
    path(
        "students/<int:student_id>/results/",
        results.StudentResultsView.as_view(),
        name="student-results",
    ),
    *router.urls,
    path(
        "schema/",
        SpectacularAPIView.as_view(
            custom_settings={
                "POSTPROCESSING_HOOKS": [
                    "drf_spectacular.hooks.postprocess_schema_enums",
                    "dreamseed.api.schema.document_error_responses",
                ]
            }
        ),
        name="schema",
    ),
    # The split view serves Swagger UI's script as a separate file (CSP: no inline scripts).
    path("docs/", views.ApiDocsView.as_view(url_name="api:schema"), name="docs"),
]
