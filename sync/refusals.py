"""The sync engine's refusals: a request refused as a whole, with what it was refused for.

They carry data, never HTTP: the API layer renders them (a problem document, Eryxon's envelope),
``sync_file`` prints them, and the runner records them as failed sync runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ractory.refusals import InvalidInput, NotPermitted, StateConflict

if TYPE_CHECKING:
    from .work import SyncOutcome


class ItemsRefused(InvalidInput):
    """An atomic request with invalid items: nothing was written. ``outcome`` is the whole
    batch as the engine judged it: every item's errors, and the company the request is for."""

    def __init__(self, outcome: SyncOutcome) -> None:
        self.outcome = outcome
        failed = outcome.count("error")
        super().__init__(
            f"{failed} item{'s are' if failed != 1 else ' is'} invalid; nothing was written.", errors=outcome.errors
        )

    @property
    def failed_items(self) -> int:
        return self.outcome.count("error")


class CompanyMismatch(NotPermitted):
    """An item names a company the caller may not sync; the whole request is refused."""

    code = "company_mismatch"


class IdempotencyKeyReused(InvalidInput):
    """The Idempotency-Key was used before for a different request."""

    code = "idempotency_key_reused"


class RequestInProgress(StateConflict):
    """A request with the same Idempotency-Key is still running."""

    code = "request_in_progress"
