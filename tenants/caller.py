"""Who is calling: the one object views and services ask about the caller's company and rights."""

from __future__ import annotations

from dataclasses import dataclass

from .models import ApiKey, Company, User
from .roles import Role


@dataclass(frozen=True, eq=False)
class Caller:
    """The authenticated principal of a request, set as DRF's ``request.user``.

    A user acts with their role; an API key acts with role Integration inside its company,
    limited by its scopes. Company and role come from the database on every request.
    """

    company: Company
    role: str
    user: User | None = None
    api_key: ApiKey | None = None

    is_authenticated = True  # what DRF's IsAuthenticated asks

    @classmethod
    def for_user(cls, user: User) -> Caller:
        return cls(company=user.company, role=user.role, user=user)

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> Caller:
        return cls(company=api_key.company, role=Role.INTEGRATION, api_key=api_key)

    @property
    def is_api_key(self) -> bool:
        return self.api_key is not None

    @property
    def is_system_admin(self) -> bool:
        return self.user is not None and self.role == Role.SYSTEM_ADMIN

    @property
    def auth_type(self) -> str:
        return "api_key" if self.is_api_key else "jwt"

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.api_key.scopes) if self.api_key is not None else frozenset()

    @property
    def rate_limit_key(self) -> str:
        """The counter this caller's requests are counted on (ractory.api.ratelimit)."""
        return f"key:{self.api_key.pk}" if self.api_key is not None else f"user:{self.user.pk}"

    @property
    def actor_label(self) -> str:
        """How logs name the caller: a key by its prefix, a user by guid (never a secret)."""
        if self.api_key is not None:
            return self.api_key.prefix
        return f"user:{self.user.guid}"
