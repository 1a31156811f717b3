from django.urls import path, re_path

from dreamseed.assessments import views

app_name = "assessments"

urlpatterns = [
    # Staff
    path("", views.assessment_list, name="list"),
    path("new/", views.assessment_create, name="create"),
    path("<int:pk>/", views.assessment_detail, name="detail"),
    path("<int:pk>/edit/", views.assessment_edit, name="edit"),
    path("<int:pk>/archive/", views.assessment_archive, name="archive"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/progress/", views.assignment_progress_fragment, name="progress"),
    path("assignments/<int:pk>/results/", views.assignment_results, name="results"),
    path("assignments/<int:pk>/results.csv", views.assignment_results_csv, name="results_csv"),
    path("assignments/<int:pk>/answers.csv", views.assignment_answers_csv, name="answers_csv"),
    path("assignments/<int:pk>/marking/", views.assignment_marking, name="marking"),
    path("sessions/<int:pk>/", views.session_detail_staff, name="session"),
    re_path(
        r"^sessions/(?P<pk>\d+)/(?P<action>pause|resume|reset)/$",
        views.session_action,
        name="session_action",
    ),
    # Students
    path("mine/", views.my_tests, name="mine"),
    path("take/<int:pk>/", views.assignment_start, name="start"),
    path("session/<int:pk>/", views.session_take, name="take"),
    path("session/<int:pk>/result/", views.session_result, name="result"),
]
