from django.urls import path

from dreamseed.lti import views

app_name = "lti"

urlpatterns = [
    # The LMS and the browser, during a launch
    path("login/", views.login, name="login"),
    path("launch/", views.launch, name="launch"),
    path("continue/<str:token>/", views.launch_continue, name="continue"),
    path("notice/<slug:code>/", views.notice, name="notice"),
    path("deep-link/<str:launch_id>/", views.deep_link, name="deep_link"),
    path("jwks/", views.jwks, name="jwks"),
    path("canvas.json", views.canvas_config, name="canvas_config"),
    # School admins: LMS registrations and the tool key
    path("platforms/", views.platform_list, name="platforms"),
    path("platforms/new/", views.platform_create, name="platform_create"),
    path("platforms/<int:pk>/", views.platform_edit, name="platform_edit"),
    path("platforms/<int:pk>/delete/", views.platform_delete, name="platform_delete"),
    path("platforms/<int:pk>/approve/", views.platform_approve, name="platform_approve"),
    path("keys/rotate/", views.key_rotate, name="key_rotate"),
    # LTI Dynamic Registration: the URL an admin pastes into the LMS
    path("register/<str:token>/", views.register, name="register"),
    # Teachers: LMS courses, roster sync, grade passback
    path("courses/", views.courses, name="courses"),
    path("courses/<int:pk>/sync/", views.course_roster_sync, name="roster_sync"),
    path("passbacks/<int:pk>/retry/", views.passback_retry, name="passback_retry"),
]
