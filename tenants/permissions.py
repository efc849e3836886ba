"""Permission classes for the "scope or role" rules of ``tenants.roles``.

``scope_or_role(...)`` builds a DRF permission class: an API key passes with one of the scopes,
a user with one of the roles. A refusal is a 403 whose detail names what was missing.
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.permissions import BasePermission

from .roles import (
    API_KEY_ADMIN_ROLES,
    DELETE_RESTORE_ROLES,
    READ_ROLES,
    SYNC_WRITE_ROLES,
    Role,
    Scope,
)


class ScopeOrRole(BasePermission):
    scopes: frozenset[str] = frozenset()  # any one of them admits an API key; empty: keys refused
    roles: frozenset[str] = frozenset()  # any one of them admits a user

    def has_permission(self, request, view) -> bool:
        caller = request.user
        if caller is None or not getattr(caller, "is_authenticated", False):
            return False  # DRF answers 401 for an unauthenticated request
        if caller.is_api_key:
            if self.scopes & caller.scopes:
                return True
            if self.scopes:
                needed = " or ".join(f"'{scope}'" for scope in sorted(self.scopes))
                self.message = f"This API key lacks the scope {needed}."
            else:
                self.message = (
                    f"API keys may not use this endpoint; sign in as a user (allowed roles: {self.allowed_roles()})."
                )
            return False
        if caller.role in self.roles:
            return True
        self.message = f"Your role {caller.role} may not do this; allowed roles: {self.allowed_roles()}."
        return False

    def allowed_roles(self) -> str:
        return ", ".join(role for role in Role.values if role in self.roles) or "none"


def scope_or_role(*, scopes: Iterable[str] = (), roles: Iterable[str] = ()) -> type[ScopeOrRole]:
    """A permission class admitting keys with any of ``scopes`` and users with any of ``roles``."""
    return type(
        "ScopeOrRole",
        (ScopeOrRole,),
        {"scopes": frozenset(scopes), "roles": frozenset(roles)},
    )


CanSyncWrite = scope_or_role(scopes=[Scope.SYNC_WRITE], roles=SYNC_WRITE_ROLES)
CanReadEntities = scope_or_role(scopes=[Scope.SYNC_READ, Scope.SYNC_WRITE], roles=READ_ROLES)
CanDeleteEntities = scope_or_role(scopes=[Scope.SYNC_WRITE], roles=DELETE_RESTORE_ROLES)
CanManageApiKeys = scope_or_role(roles=API_KEY_ADMIN_ROLES)
IsSystemAdmin = scope_or_role(roles=[Role.SYSTEM_ADMIN])
IsUser = scope_or_role(roles=Role.values)
