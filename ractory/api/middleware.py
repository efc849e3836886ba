"""Request id, liveness, and the problem-document safety net for failures outside DRF views."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings
from django.core.exceptions import DisallowedHost

from .exception_handler import WWW_AUTHENTICATE, problem_or_internal_error
from .problems import PROBLEM_CONTENT_TYPE, Problem, problem_response
from .ratelimit import rate_limited, spend_for_anonymous
from .request_context import current_request_id
from .views import HealthView

access_logger = logging.getLogger("ractory.access")

# A caller's request id is echoed only when it is short and harmless in a header and a log line.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,99}$")

# Paths where Django's own HTML pages are the right answer: the admin, and the two docs pages
# themselves (an unknown path below them, or below /static/, is an unknown path like any other).
HTML_PATH_PREFIXES = ("/admin/",)
HTML_PATHS = frozenset({"/api/docs", "/api/docs/", "/api/redoc", "/api/redoc/"})


class RequestIdMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` when sane) and logs the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = sent if SANE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # Control characters in a path (%0A) must not start a forged log line.
            path = request.path.encode("unicode_escape").decode("ascii")
            access_logger.info(
                "%s %s %s",
                request.method,
                path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            current_request_id.reset(token)


class LivenessMiddleware:
    """Answers ``/health`` before any other middleware sees the request.

    Liveness touches nothing outside the process and answers with any ``Host`` header: Django's
    host validation (in ``ProblemMiddleware`` and ``CommonMiddleware``), sessions and
    authentication are all further down the stack. ``HealthView`` itself counts the request in
    process memory only, never in Redis.
    """

    PATHS = frozenset({"/health", "/health/"})

    def __init__(self, get_response):
        self.get_response = get_response
        self.liveness = HealthView.as_view()

    def __call__(self, request):
        if request.path not in self.PATHS:
            return self.get_response(request)
        return self.liveness(request).render()


def is_html_path(path: str) -> bool:
    return path in HTML_PATHS or path.startswith(HTML_PATH_PREFIXES)


def counts_towards_rate_limit(path: str) -> bool:
    """The API's paths; not the admin, the documentation pages or static files."""
    return not is_html_path(path) and not path.startswith("/static/")


class ProblemMiddleware:
    """Answers problem documents (Eryxon's envelope on ``/api-…`` paths, through
    ``problem_response``) for what Django itself rejects before or around a view.

    - a URL or headers over ``MAX_URL_BYTES`` / ``MAX_HEADER_BYTES`` (414, 431): gunicorn lets
      them through (``ractory/gunicorn_config.py``) so that they are refused here,
    - a ``Host`` not in ``ALLOWED_HOSTS`` (Django would answer an HTML 400),
    - a declared body over ``MAX_BODY_BYTES`` (413) or an unreadable ``Content-Length`` (400),
    - exceptions raised by non-DRF views (DRF views have their own handler),
    - any HTML error page Django produced anyway (unknown paths with ``DEBUG`` on, CSRF
      failures), outside the admin and the docs pages.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.respond(request)
        if "X-RateLimit-Limit" not in response and counts_towards_rate_limit(request.path):
            # Not answered by an API view (unknown path, oversize body, bad host): counted per
            # client IP, so every API response carries the rate-limit headers.
            state = getattr(request, "rate_limit", None) or spend_for_anonymous(request)
            if state.exceeded:
                response = problem_response(request, rate_limited(state))
            for name, value in state.headers().items():
                response[name] = value
        return response

    def respond(self, request):
        oversize = oversize_request(request)
        if oversize is not None:
            return problem_response(request, oversize)
        try:
            request.get_host()
        except DisallowedHost:
            return problem_response(
                request,
                Problem("The Host header is not served here.", status=400, code="disallowed_host"),
            )
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return problem_response(request, Problem("Content-Length is not a number.", status=400, code="bad_request"))
        if length > settings.MAX_BODY_BYTES:
            return problem_response(
                request,
                Problem(
                    f"The request body is larger than the limit of {settings.MAX_BODY_BYTES} bytes.",
                    status=413,
                    code="payload_too_large",
                ),
            )
        response = self.get_response(request)
        if response.status_code >= 400 and not is_html_path(request.path):
            content_type = response.get("Content-Type", "")
            if content_type.startswith("text/html") or not content_type:
                problem = problem_response(request, _problem_for_status(response.status_code))
                if response.has_header("Allow"):  # a 405 names the methods that are allowed
                    problem["Allow"] = response["Allow"]
                return problem
        return response

    def process_exception(self, request, exception):
        if is_html_path(request.path):
            return None
        return problem_response(request, problem_or_internal_error(exception))


def oversize_request(request) -> Problem | None:
    """414 for a URL (path and query string) over ``MAX_URL_BYTES``, 431 for header fields over
    ``MAX_HEADER_BYTES`` together."""
    url_bytes = len(request.get_full_path())
    if url_bytes > settings.MAX_URL_BYTES:
        return Problem(
            f"The URL is {url_bytes} bytes long; the limit is {settings.MAX_URL_BYTES}.",
            status=414,
            code="uri_too_long",
        )
    header_bytes = sum(
        len(name) + len(str(value))  # ``HTTP_`` stands in for the ``: `` and line end
        for name, value in request.META.items()
        if name.startswith("HTTP_") or name in {"CONTENT_TYPE", "CONTENT_LENGTH"}
    )
    if header_bytes > settings.MAX_HEADER_BYTES:
        return Problem(
            f"The request headers are {header_bytes} bytes together; the limit is {settings.MAX_HEADER_BYTES}.",
            status=431,
            code="headers_too_large",
        )
    return None


def _problem_for_status(status: int) -> Problem:
    if status == 404:
        return Problem("No resource at this path.", status=404, code="not_found")
    if status == 403:
        return Problem("Forbidden.", status=403, code="permission_denied")
    if status == 401:
        return Problem(
            "Authentication required.",
            status=401,
            code="not_authenticated",
            headers={"WWW-Authenticate": WWW_AUTHENTICATE},
        )
    if status == 405:
        return Problem("Method not allowed.", status=405, code="method_not_allowed")
    if status == 400:
        return Problem("Malformed request.", status=400, code="bad_request")
    if status < 500:
        return Problem("Request failed.", status=status, code="bad_request")
    return Problem(
        "The server failed to answer this request. It has been logged with the request id.",
        status=500,
        code="internal_error",
    )


__all__ = ["RequestIdMiddleware", "LivenessMiddleware", "ProblemMiddleware", "PROBLEM_CONTENT_TYPE"]
