from django.urls import path

from dreamseed.itembank import views

app_name = "itembank"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("new/", views.item_create, name="create"),
    path("preview/", views.item_preview, name="preview"),
    path("images/", views.image_upload, name="image_upload"),
    path("statistics/refresh/", views.statistics_refresh, name="statistics_refresh"),
    path("export.<str:fmt>", views.item_export, name="export"),
    path("import/", views.item_import, name="import"),
    path("import/format/", views.import_format, name="import_format"),
    path("import/<uuid:import_id>/", views.item_import_preview, name="import_preview"),
    path("calibrations/", views.calibration_list, name="calibrations"),
    path("calibrations/new/", views.calibration_create, name="calibration_create"),
    path("calibrations/<int:pk>/", views.calibration_detail, name="calibration"),
    path("calibrations/<int:pk>/status/", views.calibration_status, name="calibration_status"),
    path("calibrations/<int:pk>/accept/", views.calibration_accept, name="calibration_accept"),
    path("calibrations/<int:pk>/discard/", views.calibration_discard, name="calibration_discard"),
    path("calibrations/<int:pk>/retry/", views.calibration_retry, name="calibration_retry"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("<int:pk>/edit/", views.item_edit, name="edit"),
    path("<int:pk>/retire/", views.item_retire, name="retire"),
    path("<int:pk>/duplicate/", views.item_duplicate, name="duplicate"),
    path("<int:pk>/versions/<int:number>/", views.item_version, name="version"),
]
