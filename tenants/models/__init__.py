from .api_key import ApiKey
from .base import TenantOwnedModel, TenantQuerySet
from .company import Company
from .refresh_token import IssuedRefreshToken
from .user import User

__all__ = ["ApiKey", "Company", "IssuedRefreshToken", "TenantOwnedModel", "TenantQuerySet", "User"]
