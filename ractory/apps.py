from django.apps import AppConfig


class RactoryConfig(AppConfig):
    name = "ractory"
    verbose_name = "Ra Factory"
