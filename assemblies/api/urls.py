from ractory.api.routing import api_path

from .views import ENTITY_VIEWS

urlpatterns = []
for _plural, (_list_view, _detail_view, _restore_view) in ENTITY_VIEWS.items():
    urlpatterns += api_path(_plural, _list_view.as_view(), f"{_plural}-list")
    urlpatterns += api_path(f"{_plural}/<guid:guid>", _detail_view.as_view(), f"{_plural}-detail")
    urlpatterns += api_path(f"{_plural}/<guid:guid>/restore", _restore_view.as_view(), f"{_plural}-restore")
