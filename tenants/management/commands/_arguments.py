"""Argument parsing shared by the tenants commands: guids and timestamps, with one-line errors."""

import datetime
import uuid

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ractory.api.problems import Problem
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
    try:
        value = parse_datetime(raw.strip())
    except ValueError:  # well formed but impossible, such as month 13
        value = None
    if value is None:
        raise CommandError(f"{what} {raw!r} is not an ISO 8601 timestamp.")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    return value


def problem_as_command_error(problem: Problem) -> CommandError:
    reasons = "; ".join(f"{error.pointer.lstrip('/')}: {error.detail}" for error in problem.errors)
    return CommandError(f"{problem.detail}{' (' + reasons + ')' if reasons else ''}")
