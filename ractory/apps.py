from django.apps import AppConfig
from django.db.backends.signals import connection_created


class RactoryConfig(AppConfig):
    name = "ractory"
    verbose_name = "Ra Factory"

    def ready(self):
        from ractory.api.database_watchdog import watchdog

        connection_created.connect(watchdog.watch, dispatch_uid="ractory.database_watchdog")
