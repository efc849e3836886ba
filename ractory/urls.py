"""Every route of the service. Only this module imports the apps' url modules."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from ractory.api import views as api_views
from ractory.api.routing import api_path

urlpatterns = [
    *api_path("health", api_views.HealthView.as_view(), "health"),
    *api_path("api/v1/health", api_views.DatabaseHealthView.as_view(), "health-database"),
    path("api/v1/", include("tenants.api.urls")),
    path("api/v1/", include("sync.api.urls")),
    path("api/v1/", include("assemblies.api.urls")),
    path("", include("sync.api.mes_urls")),
    # The same Eryxon functions under the prefix Eryxon's own clients use: only the base URL changes.
    path("functions/v1/", include(("sync.api.mes_urls", "mes"), namespace="functions-v1")),
    *api_path("api/schema", api_views.SchemaView.as_view(), "schema"),
    *api_path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), "swagger-ui"),
    *api_path(
        "api/redoc", SpectacularRedocView.as_view(url_name="schema", template_name="ractory/redoc.html"), "redoc"
    ),
    path("admin/", admin.site.urls),
]

handler400 = "ractory.api.handlers.bad_request"
handler403 = "ractory.api.handlers.permission_denied"
handler404 = "ractory.api.handlers.not_found"
handler500 = "ractory.api.handlers.server_error"
