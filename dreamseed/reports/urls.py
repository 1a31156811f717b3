from django.urls import path

from dreamseed.reports import views

app_name = "reports"

urlpatterns = [
    path("sessions/<int:pk>/", views.request_student_report, name="request_student"),
    path("assignments/<int:pk>/", views.request_class_report, name="request_class"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/status/", views.report_status, name="status"),
    path("<int:pk>/retry/", views.report_retry, name="retry"),
    path("<int:pk>/download/", views.report_download, name="download"),
]
