"""The request id of the request being served, for log lines written anywhere in the code."""

from contextvars import ContextVar

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
