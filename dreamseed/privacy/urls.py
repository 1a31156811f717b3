from django.urls import path

from dreamseed.privacy import views

app_name = "privacy"

urlpatterns = [
    path("audit/", views.audit_log, name="audit_log"),
    path("audit.csv", views.audit_log_csv, name="audit_log_csv"),
    path("students/", views.student_list, name="students"),
    path("students/<int:pk>/", views.student_detail, name="student"),
    path("students/<int:pk>/export.zip", views.student_export, name="student_export"),
    path("students/<int:pk>/delete/", views.student_delete, name="student_delete"),
]
