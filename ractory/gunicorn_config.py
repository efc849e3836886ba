"""gunicorn settings: the one place they live. ``make serve``, the Docker image, the benchmark and
the contract tests all run ``gunicorn -c python:ractory.gunicorn_config ractory.wsgi:application``
and add nothing but ``--bind``.

- Workers: ``WEB_CONCURRENCY`` (2). A worker is killed when a request runs longer than the
  database statement timeout plus a margin, so a slow statement always ends as the service's own
  503, never as a killed worker and a reset connection.
- Access log: the service writes one line per request itself (``ractory.access``, in
  ``LOG_FORMAT``, the path without the query string, which may carry a credential such as
  ``?api_key=``), so gunicorn's own Apache-style access log stays off. gunicorn's other lines
  (start, workers booting and dying) use the same format as the service's.
- Request limits: gunicorn lets request lines up to its largest limit and large headers through,
  so that the service refuses them itself with problem documents (``MAX_URL_BYTES`` → 414 ``uri_too_long``,
  ``MAX_HEADER_BYTES`` → 431 ``headers_too_large``). What gunicorn still refuses itself
  (a single header field over 32 KiB, more than 256 fields, a malformed request line) is answered
  with a problem document too, not gunicorn's HTML page.
"""

import json
import os

from gunicorn import util

from ractory.api.logging import TEXT_FORMAT
from ractory.api.problems import PROBLEM_CONTENT_TYPE, problem_body


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


workers = _env_int("WEB_CONCURRENCY", 2)
timeout = _env_int("DB_STATEMENT_TIMEOUT_MS", 30_000) // 1000 + 30
graceful_timeout = 10
# Nothing uses gunicorn's control socket, and every instance of a user would share its one path.
control_socket_disable = True

accesslog = None
errorlog = "-"
_log_format = os.environ.get("LOG_FORMAT", "text").strip().lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ractory.api.logging.RequestIdFilter"}},
    "formatters": {
        "text": {"format": TEXT_FORMAT},
        "json": {"()": "ractory.api.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json" if _log_format == "json" else "text",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False},
    },
}

# The request line: gunicorn's largest limit. "No limit" (0) would let one request line of
# megabytes tie up a worker (gunicorn's parsing of it slows down quadratically); the service's own
# MAX_URL_BYTES (8000) sits below this, so a URL over it is refused by the service, and a longer
# one by gunicorn, both as problem documents. Header fields: 256 fields of up to 32 KiB each pass;
# the service refuses any request whose headers together exceed MAX_HEADER_BYTES.
limit_request_line = 8190
limit_request_fields = 256
limit_request_field_size = 32 * 1024


# What gunicorn answers itself, by status: the service's codes for the same refusals.
_REFUSAL_CODES = {414: "uri_too_long", 431: "headers_too_large", 500: "internal_error"}


def _write_problem(sock, status_int, reason, mesg):
    """What gunicorn refuses before the service sees the request, as a problem document instead
    of gunicorn's HTML page. No request id: no request was read."""
    body = problem_body(
        status=status_int,
        code=_REFUSAL_CODES.get(status_int, "bad_request"),
        detail=f"The HTTP server refused the request: {reason}.",
        request_id=None,
    )
    content = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(content)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + content)


util.write_error = _write_problem
