from .api_key import ApiKey
from .base import TenantOwnedModel, TenantQuerySet
from .company import Company
from .user import User

__all__ = ["ApiKey", "Company", "TenantOwnedModel", "TenantQuerySet", "User"]
