"""Argument parsing shared by the tenants commands: guids and timestamps, with one-line errors."""

import uuid

from django.core.management.base import CommandError

from ractory.api import values
from ractory.refusals import Refusal
from tenants.models import Company


def parse_guid(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise CommandError(f"{what} {raw!r} is not a valid UUID.") from None


def company_by_guid(raw: str, *, active: bool = False) -> Company:
    """The company a ``--company`` guid names; ``active``: refuse a deactivated one."""
    guid = parse_guid(raw, "--company")
    company = Company.objects.filter(guid=guid).first()
    if company is None:
        raise CommandError(f"No company {guid}.")
    if active and not company.is_active:
        raise CommandError(f"Company {guid} is deactivated; its users and keys could not sign in.")
    return company


def parse_timestamp(raw: str, what: str):
    """Checked like a timestamp in an API body: naive is UTC, the offset one the database stores."""
    try:
        return values.check_datetime(raw.strip())
    except values.ValueProblem as problem:
        if problem.message == values.OFFSET_MESSAGE:
            raise CommandError(f"{what} {raw!r}: {problem.message}") from None
        raise CommandError(f"{what} {raw!r} is not an ISO 8601 timestamp.") from None


def refusal_as_command_error(refusal: Refusal) -> CommandError:
    reasons = "; ".join(f"{error.pointer.lstrip('/')}: {error.detail}" for error in refusal.errors)
    return CommandError(f"{refusal.detail}{' (' + reasons + ')' if reasons else ''}")
