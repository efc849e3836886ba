"""Domain refusals: how a service says it will not do what it was asked, without any HTTP.

A refusal carries what the caller needs to fix the request: a stable code, a sentence, and the
errors inside the request (``FieldError``: a JSON Pointer, a code, a sentence). Services and the
sync engine raise them; they know no status codes. The API layer maps each kind to its answer
(``ractory.api.problems.problem_from_refusal``: a problem document, or Eryxon's envelope), and a
command maps them to its own messages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One error inside a request: where (a JSON Pointer), what (a stable code), and why."""

    pointer: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "code": self.code, "detail": self.detail}


def json_pointer(*parts: str | int) -> str:
    """Build a JSON Pointer (RFC 6901) from path segments, escaping ``~`` and ``/``."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "/" + "/".join(escaped) if parts else ""


class Refusal(Exception):
    """The request cannot be done as asked. Subclasses say which kind of refusal it is."""

    code = "refused"

    def __init__(self, detail: str, *, code: str | None = None, errors: list[FieldError] | None = None) -> None:
        self.detail = detail
        if code:
            self.code = code
        self.errors = list(errors or ())
        super().__init__(detail)


class InvalidInput(Refusal):
    """What was sent is wrong; the same request will be refused again."""

    code = "validation_error"


class NotPermitted(Refusal):
    """The caller may not do this (another company's data, a role without the right)."""

    code = "permission_denied"


class StateConflict(Refusal):
    """The stored state does not allow it now (a deleted parent, a request still running)."""

    code = "conflict"


class NoSuchRow(Refusal):
    """The row asked for does not exist for the caller (or stopped existing meanwhile)."""

    code = "not_found"

    def __init__(self, detail: str = "Not found.", **kwargs) -> None:
        super().__init__(detail, **kwargs)
