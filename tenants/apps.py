from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and access"


class TenantsAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the throttled login (tenants.admin_site), named explicitly in
    INSTALLED_APPS; ``TenantsConfig`` stays this module's default."""

    default = False
    default_site = "tenants.admin_site.ThrottledAdminSite"
