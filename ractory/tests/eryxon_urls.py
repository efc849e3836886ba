"""A test-only urlconf: probe views on Eryxon MES paths (``/api-…``), plus every route
of the service, for the error-envelope tests (``test_eryxon_envelope.py``).

Used with ``@override_settings(ROOT_URLCONF="ractory.tests.eryxon_urls")``. The real Eryxon views
are not mounted here; the probes exercise the same base view, authentication, permission, parser
and error rendering.
"""

from django.db import OperationalError
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from ractory.api.problems import ValidationFailed
from ractory.api.views import StrictAPIView
from ractory.refusals import FieldError, json_pointer
from ractory.tests.failing_urls import SECRET_MARKER
from ractory.urls import handler400, handler403, handler404, handler500
from ractory.urls import urlpatterns as service_urlpatterns
from tenants.permissions import CanSyncWrite


class ProbeSyncView(StrictAPIView):
    """``PUT /api-probe/sync``: a job with ``external_id`` and nested ``parts[].operations[]``,
    each operation needing a ``cell_name``; invalid fields are a 422 with nested pointers."""

    permission_classes = [CanSyncWrite]

    def put(self, request):
        data = request.data
        errors: list[FieldError] = []
        if not data.get("external_id"):
            errors.append(FieldError(json_pointer("external_id"), "required", "This field is required."))
        for part_index, part in enumerate(data.get("parts") or []):
            for operation_index, operation in enumerate(part.get("operations") or []):
                if not operation.get("cell_name"):
                    errors.append(
                        FieldError(
                            json_pointer("parts", part_index, "operations", operation_index, "cell_name"),
                            "cell_not_found",
                            "No active cell of this name in this company.",
                        )
                    )
        if errors:
            count = len(errors)
            invalid = f"{count} field{'s are' if count != 1 else ' is'} invalid"
            raise ValidationFailed(f"{invalid}; nothing was written.", errors=errors)
        return Response({"success": True, "data": {"action": "unchanged", "external_id": data["external_id"]}})


class _PublicProbeView(StrictAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class ProbeBoomView(_PublicProbeView):
    def get(self, request):
        raise RuntimeError(f"eryxon probe exploded: {SECRET_MARKER}")


class ProbeDatabaseDownView(_PublicProbeView):
    def get(self, request):
        raise OperationalError(f"canceling statement due to statement timeout {SECRET_MARKER}")


def django_boom(request):
    raise RuntimeError(f"eryxon django probe exploded: {SECRET_MARKER}")


@require_GET
def django_get_only(request):
    return HttpResponse("fine", content_type="text/plain")


urlpatterns = [
    path("api-probe/sync", ProbeSyncView.as_view()),
    path("api-probe/boom", ProbeBoomView.as_view()),
    path("api-probe/database-down", ProbeDatabaseDownView.as_view()),
    path("api-probe/django-boom", django_boom),
    path("api-probe/django-get-only", django_get_only),
    *service_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
