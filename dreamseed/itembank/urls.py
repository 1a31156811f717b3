app_name = "itembank"

urlpatterns: list = []
