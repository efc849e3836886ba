from django.core.management.base import BaseCommand, CommandError

from ractory.refusals import Refusal
from tenants import services
from tenants.roles import Role

from ._arguments import company_by_guid, refusal_as_command_error


class Command(BaseCommand):
    help = "Create a user of a company. Prints the user's guid alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, help=f"one of {', '.join(Role.values)}")
        parser.add_argument("--company", required=True, help="company guid")
        parser.add_argument("--name")
        parser.add_argument("--surname")

    def handle(self, *args, email, password, role, company, name, surname, **options):
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
        try:
            user = services.create_user(
                company=company_by_guid(company, active=True),
                email=email,
                password=password,
                role=role,
                name=name,
                surname=surname,
            )
        except Refusal as refusal:
            raise refusal_as_command_error(refusal) from None
        self.stderr.write(f"Created {user.role} {user.email}.")
        self.stdout.write(str(user.guid))
