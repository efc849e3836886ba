from django.core.management.base import BaseCommand

from tenants.models import ApiKey

from ._arguments import company_by_guid


def _when(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else "never"


class Command(BaseCommand):
    help = "List API keys (prefix, description, scopes, active, last used). Secrets are never shown."

    def add_arguments(self, parser):
        parser.add_argument("--company", help="only this company's keys (guid)")

    def handle(self, *args, company, **options):
        keys = ApiKey.objects.select_related("company").order_by("created_at", "id")
        if company:
            keys = keys.for_company(company_by_guid(company))
        rows = [("PREFIX", "COMPANY", "DESCRIPTION", "SCOPES", "ACTIVE", "LAST USED")]
        for key in keys:
            state = "revoked" if key.is_revoked else ("yes" if key.is_active else "no")
            rows.append(
                (
                    key.prefix,
                    key.company.name,
                    " ".join((key.description or "").split()),  # one line per key
                    ",".join(key.scopes),
                    state,
                    _when(key.last_used_at),
                )
            )
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
