from ractory.api.routing import OptionalSlashRouter

from .views import ENTITY_VIEWSETS

router = OptionalSlashRouter()
for _plural, _viewset in ENTITY_VIEWSETS.items():
    router.register(_plural, _viewset, basename=_plural)

urlpatterns = router.urls
