"""Eryxon MES paths, at the root exactly as in the seed: ``/api-{entity}/sync`` and ``/bulk-sync``."""

from ractory.api.routing import api_path

from . import mes_views

urlpatterns = []
for _plural, _view in mes_views.MES_SINGLE_VIEWS.items():
    urlpatterns += api_path(f"api-{_plural}/sync", _view.as_view(), f"mes-sync-{_plural}")
for _plural, _view in mes_views.MES_BULK_VIEWS.items():
    urlpatterns += api_path(f"api-{_plural}/bulk-sync", _view.as_view(), f"mes-bulk-sync-{_plural}")
