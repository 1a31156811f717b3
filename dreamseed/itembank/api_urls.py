"""REST API for the item bank, mounted at /api/items/."""

from rest_framework.routers import SimpleRouter

from dreamseed.itembank.api import ItemViewSet

router = SimpleRouter()
router.register("", ItemViewSet, basename="item")

urlpatterns = router.urls
