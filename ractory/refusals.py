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
    """The request cannot be done as asked (an action not allowed on this row, whatever the
    caller's rights). Subclasses say which more specific kind of refusal it is."""

    code = "refused"
    default_detail = "The request cannot be done."

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, errors: list[FieldError] | None = None
    ) -> None:
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.errors = list(errors or ())
        super().__init__(detail)


class InvalidInput(Refusal):
    """What was sent is wrong; the same request will be refused again."""

    code = "validation_error"
    default_detail = "The request has invalid fields; nothing was written."


class NotPermitted(Refusal):
    """The caller may not do this (another company's data, a role without the right)."""

    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class StateConflict(Refusal):
    """The stored state does not allow it now (a deleted parent, a request still running)."""

    code = "conflict"
    default_detail = "The request conflicts with the current state."


class NoSuchRow(Refusal):
    """The row asked for does not exist for the caller (or stopped existing meanwhile)."""

    code = "not_found"
    default_detail = "Not found."
