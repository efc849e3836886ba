"""Base view of every endpoint, and the health endpoints."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

import ractory

from .filters import StrictFilterBackend, allowed_query_parameters, reject_query_parameters
from .pagination import ArrayPagination
from .ratelimit import (
    REDIS_PING_TIMEOUT_SECONDS,
    Budget,
    process_counters,
    rate_limited,
    redis_status,
    spend,
    spend_for_anonymous,
)

HEALTH_DB_TIMEOUT_SECONDS = 2.0


def select_1() -> None:
    """The database check of readiness, on this thread's connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def database_answers(timeout: float) -> bool:
    """Whether the database answers ``SELECT 1`` within ``timeout`` seconds, whatever it does.

    The check runs on a thread of its own, with a connection of its own closed afterwards, so
    readiness answers in time even when connecting or the query hangs: the request
    waits ``timeout`` at most, and the check thread ends by itself within the connect timeout or
    the database watchdog's cut.
    """
    answered = threading.Event()

    def check() -> None:
        try:
            select_1()
        except Exception:  # noqa: BLE001 - any failure means "not ready", never a 500
            return
        finally:
            connection.close()
        answered.set()

    threading.Thread(target=check, name="readiness-database-check", daemon=True).start()
    return answered.wait(timeout)


class DescriptionMetadata(SimpleMetadata):
    """``OPTIONS`` answers the view's name and description; the OpenAPI document has the rest.

    (DRF's default also describes the POST body through ``get_serializer()``, which views that
    validate with their own serializers do not have.)"""

    def determine_metadata(self, request, view):
        return {"name": view.get_view_name(), "description": view.get_view_description()}


class StrictAPIView(GenericAPIView):
    """The base of every API view: strict query parameters, array paging, strict filters.

    ``extra_query_parameters`` names query parameters a view reads itself; anything not known
    to the view, its filterset or (on the GET of a list view, ``lists = True``) its paginator
    is a 400.
    """

    metadata_class = DescriptionMetadata
    lists = False
    extra_query_parameters: tuple[str, ...] = ()
    extra_error_statuses: tuple[int, ...] = ()
    pagination_class = ArrayPagination
    filter_backends = [StrictFilterBackend]

    def perform_authentication(self, request):
        """Authenticate, then count the request against its rate limits (429 before any view).

        A valid credential spends its own budget and its company's; a request without one (or
        with a bad one) spends its client IP's, so a flood of bad keys is throttled too.
        """
        try:
            super().perform_authentication(request)
        except exceptions.AuthenticationFailed:
            self._spend(request, spend_for_anonymous(request))
            raise
        caller = request.user
        if caller is None:
            state = spend_for_anonymous(request)
        else:
            state = spend(
                Budget(caller.rate_limit_key, settings.RATE_LIMIT_PER_MINUTE),
                Budget(f"company:{caller.company.pk}", settings.RATE_LIMIT_COMPANY_PER_MINUTE),
            )
        self._spend(request, state)

    @staticmethod
    def _spend(request, state) -> None:
        request._request.rate_limit = state
        if state.exceeded:
            raise rate_limited(state)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(request._request, "rate_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        allowed = allowed_query_parameters(self) if self.is_list_request() else set(self.extra_query_parameters)
        reject_query_parameters(request, allowed)

    def is_list_request(self) -> bool:
        return self.lists and self.request.method == "GET"


class HealthView(StrictAPIView):
    """Liveness: the process answers, with any ``Host`` header. Touches nothing outside the
    process: no database, no Redis."""

    # LivenessMiddleware routes here before Django validates the host; the rate limit is counted in
    # this process's memory only.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def perform_authentication(self, request):
        self._spend(request, spend_for_anonymous(request, store=process_counters))

    @extend_schema(
        tags=["health"],
        responses={200: inline_serializer("Liveness", {"status": serializers.CharField()})},
    )
    def get(self, request):
        return Response({"status": "ok"})


def database_status() -> str:
    """Readiness of the database: ``connected`` when it answers ``SELECT 1`` within 2 s, else
    ``unavailable`` (``database_answers``: on a thread and a connection of its own)."""
    return "connected" if database_answers(HEALTH_DB_TIMEOUT_SECONDS) else "unavailable"


# Redis is pinged on a thread of its own while the database is checked, so the two 2-second bounds
# overlap and readiness answers within 3 s even when both hang.
_redis_probe = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readiness-redis")


def readiness_fields() -> dict:
    return {
        "status": serializers.CharField(),
        "database": serializers.CharField(),
        "redis": serializers.CharField(help_text="connected, unavailable or not_configured"),
        "version": serializers.CharField(),
    }


class DatabaseHealthView(StrictAPIView):
    """Readiness: the database answers ``SELECT 1`` and Redis (when configured) ``PING``, each
    within 2 seconds; 503 ``unhealthy`` naming what failed otherwise."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["health"],
        responses={
            (200, "application/json"): inline_serializer("Readiness", readiness_fields()),
            (503, "application/json"): inline_serializer("ReadinessFailure", readiness_fields()),
        },
    )
    def get(self, request):
        started = time.monotonic()
        redis_probe = _redis_probe.submit(redis_status) if settings.REDIS_URL else None
        database = database_status()
        redis = "not_configured"
        if redis_probe is not None:
            budget = max(0.0, REDIS_PING_TIMEOUT_SECONDS - (time.monotonic() - started))
            try:
                redis = redis_probe.result(timeout=budget)
            except FutureTimeout:
                redis = "unavailable"
        body = {"status": "healthy", "database": database, "redis": redis, "version": ractory.__version__}
        if database != "connected" or redis == "unavailable":
            body["status"] = "unhealthy"
            return Response(body, status=503, headers={"Retry-After": "5"})
        return Response(body)


class SchemaView(SpectacularAPIView):
    """``GET /api/schema/``: the OpenAPI document, generated from the code.

    The service has one API version, so drf-spectacular's ``?version=`` is ignored: it would be
    copied into the ``Content-Disposition`` file name, where a control character or a line break
    makes the response header invalid (a 500 from the server, with the query string in its log).
    """

    def _get_version_parameter(self, request):
        return None
