"""Log plumbing: every log line carries the request id; ``LOG_FORMAT=json`` gives one JSON object a line."""

import json
import logging
from datetime import UTC, datetime

from .request_context import current_request_id

# ``LOG_FORMAT=text``: the format of every line, the service's and gunicorn's alike.
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request) so formatters can always use it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    # Fields that callers attach with ``extra=`` and that belong in the JSON line.
    EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "company", "actor")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for field in self.EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TracebacksOnlyFilter(logging.Filter):
    """For ``django.request``: keeps a failure's traceback (an exception Django handled itself, in
    the admin) and drops its one-line echoes of 5xx answers ("Service Unavailable: /path"). The
    service logs those already, with the request id, which Django's line, written after the
    request's middleware has finished, no longer has."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is not None
