from django.core.management.base import BaseCommand

from ractory.refusals import Refusal
from tenants import services

from ._arguments import company_by_guid, parse_timestamp, refusal_as_command_error


class Command(BaseCommand):
    help = "Create an API key. Prints the raw key, shown only this once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="company guid")
        parser.add_argument("--scopes", required=True, help="comma-separated: sync:read,sync:write")
        parser.add_argument("--description")
        parser.add_argument("--expires-at", help="ISO 8601 timestamp; no zone means UTC")

    def handle(self, *args, company, scopes, description, expires_at, **options):
        try:
            created = services.create_api_key(
                company=company_by_guid(company, active=True),
                scopes=scopes,
                description=description,
                expires_at=parse_timestamp(expires_at, "--expires-at") if expires_at else None,
            )
        except Refusal as refusal:
            raise refusal_as_command_error(refusal) from None
        self.stderr.write(
            f"Created key {created.api_key.prefix} ({','.join(created.api_key.scopes)}). "
            "Store it now: it is not shown again."
        )
        self.stdout.write(created.raw_key)
