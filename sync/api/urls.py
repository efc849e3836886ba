from ractory.api.routing import api_path

from . import views

urlpatterns = [
    *api_path("sync/runs", views.SyncRunListView.as_view(), "sync-run-list"),
    *api_path("sync/runs/<guid:guid>", views.SyncRunDetailView.as_view(), "sync-run-detail"),
]
for _plural, _view in views.SYNC_VIEWS.items():
    urlpatterns += api_path(f"sync/{_plural}", _view.as_view(), f"sync-{_plural}")
