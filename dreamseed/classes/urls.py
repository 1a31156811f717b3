from django.urls import path

from dreamseed.classes import views

app_name = "classes"

urlpatterns = [
    path("", views.class_list, name="list"),
    path("new/", views.class_create, name="create"),
    path("statistics/", views.statistics, name="statistics"),
    path("mine/", views.my_classes, name="mine"),
    path("mine/results/", views.my_results, name="my_results"),
    path("join/", views.class_join, name="join"),
    path("<int:pk>/", views.class_detail, name="detail"),
    path("<int:pk>/edit/", views.class_edit, name="edit"),
    path("<int:pk>/archive/", views.class_archive, name="archive"),
    path("<int:pk>/join-code/", views.class_join_code, name="join_code"),
    path("<int:pk>/students/new/", views.class_student_add, name="student_add"),
    path("<int:pk>/enroll/", views.class_enroll, name="enroll"),
    path("<int:pk>/unenroll/", views.class_unenroll, name="unenroll"),
    path("<int:pk>/slips/", views.class_slips, name="slips"),
    path("<int:pk>/statistics/", views.class_statistics, name="class_statistics"),
    path("<int:pk>/groups/", views.class_groups, name="groups"),
    path("<int:pk>/groups.csv", views.class_groups_csv, name="groups_csv"),
    path("<int:pk>/import/", views.roster_import, name="import"),
    path("<int:pk>/import/<uuid:import_id>/", views.roster_import_preview, name="import_preview"),
    path("students/<int:pk>/", views.student_detail, name="student"),
    path("students/<int:pk>/password/", views.student_password, name="student_password"),
    path(
        "students/<int:pk>/accommodations/",
        views.student_accommodations,
        name="student_accommodations",
    ),
]
