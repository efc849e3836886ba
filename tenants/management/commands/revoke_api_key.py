import uuid

from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.models import ApiKey
from tenants.models.api_key import KEY_PREFIX


class Command(BaseCommand):
    help = "Revoke an API key, named by its prefix (rfk_<key_id>) or its guid."

    def add_arguments(self, parser):
        parser.add_argument("key", metavar="PREFIX_OR_GUID")

    def handle(self, *args, key, **options):
        key = key.strip()
        api_key = None
        if key.lower().startswith(f"{KEY_PREFIX}_"):
            key_id = key.split("_")[1].lower()
            api_key = ApiKey.objects.filter(key_id=key_id).first()
        else:
            try:
                api_key = ApiKey.objects.filter(guid=uuid.UUID(key)).first()
            except ValueError:
                raise CommandError(f"{key!r} is neither a key prefix (rfk_…) nor a guid.") from None
        if api_key is None:
            raise CommandError(f"No API key {key}.")
        already = api_key.is_revoked
        services.revoke_api_key(api_key=api_key)
        self.stdout.write(f"{api_key.prefix} {'was already revoked' if already else 'revoked'}.")
