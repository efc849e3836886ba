"""A test-only urlconf: every route of the service plus views that fail on purpose.

Used with ``@override_settings(ROOT_URLCONF="ractory.tests.failing_urls")``. The exception
messages carry a marker that must never reach a response body.
"""

from django.db import OperationalError
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ractory.urls import handler400, handler403, handler404, handler500
from ractory.urls import urlpatterns as service_urlpatterns

SECRET_MARKER = "s3cr3t-marker-/etc/passwd"


class _PublicAPIView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class DrfBoomView(_PublicAPIView):
    def get(self, request):
        raise RuntimeError(f"drf view exploded: {SECRET_MARKER}")


class DrfDatabaseDownView(_PublicAPIView):
    def get(self, request):
        raise OperationalError(f"canceling statement due to statement timeout {SECRET_MARKER}")


class DrfOkView(_PublicAPIView):
    def get(self, request):
        return Response({"ok": True})


def django_boom(request):
    raise RuntimeError(f"django view exploded: {SECRET_MARKER}")


def django_database_down(request):
    raise OperationalError(f"server closed the connection unexpectedly {SECRET_MARKER}")


@require_GET
def django_get_only(request):
    return HttpResponse("fine", content_type="text/plain")


urlpatterns = [
    path("test/drf-boom", DrfBoomView.as_view()),
    path("test/drf-database-down", DrfDatabaseDownView.as_view()),
    path("test/drf-ok", DrfOkView.as_view()),
    path("test/django-boom", django_boom),
    path("test/django-database-down", django_database_down),
    path("test/django-get-only", django_get_only),
    *service_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
