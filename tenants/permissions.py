"""Permission classes for the "scope or role" rules of ``tenants.roles``.

Each class is a ``ScopeOrRole``: an API key passes with one of its scopes, a user with one of
its roles. A refusal is a 403 whose detail names what was missing.
"""

from __future__ import annotations

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


class CanSyncWrite(ScopeOrRole):
    scopes = frozenset({Scope.SYNC_WRITE})
    roles = frozenset(SYNC_WRITE_ROLES)


class CanReadEntities(ScopeOrRole):
    scopes = frozenset({Scope.SYNC_READ, Scope.SYNC_WRITE})
    roles = frozenset(READ_ROLES)


class CanDeleteEntities(ScopeOrRole):
    scopes = frozenset({Scope.SYNC_WRITE})
    roles = frozenset(DELETE_RESTORE_ROLES)


class CanManageApiKeys(ScopeOrRole):
    roles = frozenset(API_KEY_ADMIN_ROLES)


class IsSystemAdmin(ScopeOrRole):
    roles = frozenset({Role.SYSTEM_ADMIN})


class IsUser(ScopeOrRole):
    roles = frozenset(Role.values)
