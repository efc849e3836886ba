from django.core.management.base import BaseCommand

from ractory.refusals import Refusal
from tenants import services

from ._arguments import parse_guid, refusal_as_command_error


class Command(BaseCommand):
    help = "Create a company (tenant). Prints its guid alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--short-name")
        parser.add_argument("--guid", help="use this guid instead of a new one")

    def handle(self, *args, name, short_name, guid, **options):
        try:
            company = services.create_company(
                name=name,
                short_name=short_name,
                guid=parse_guid(guid, "--guid") if guid else None,
            )
        except Refusal as refusal:
            raise refusal_as_command_error(refusal) from None
        self.stderr.write(f"Created company {company.name!r}.")
        self.stdout.write(str(company.guid))
