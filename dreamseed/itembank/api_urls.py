"""REST API for the item bank, mounted at /api/items/."""

urlpatterns: list = []
