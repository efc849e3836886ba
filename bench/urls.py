"""Every route of the service, plus the naive baseline under ``/bench/naive/`` (bench only)."""

from ractory.api.routing import api_path
from ractory.urls import handler400, handler403, handler404, handler500  # noqa: F401 - same error pages
from ractory.urls import urlpatterns as service_urlpatterns

from . import naive

urlpatterns = [
    *api_path("bench/naive/sync/pieces", naive.NaivePieceSyncView.as_view()),
    *api_path("bench/naive/sync/assemblies", naive.NaiveAssemblySyncView.as_view()),
    *api_path("bench/naive/pieces", naive.NaivePieceListView.as_view()),
    *service_urlpatterns,
]
