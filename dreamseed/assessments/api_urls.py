"""Mounted at /api/sessions/."""

from django.urls import path

from dreamseed.assessments import api

urlpatterns = [
    path("", api.SessionStartView.as_view(), name="api-session-start"),
    path("<int:pk>/", api.SessionDetailView.as_view(), name="api-session-detail"),
    path("<int:pk>/answer/", api.SessionAnswerView.as_view(), name="api-session-answer"),
]
