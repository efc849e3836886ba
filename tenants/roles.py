"""Roles of users, scopes of API keys, and who may manage whom."""

from django.db import models


class Role(models.TextChoices):
    SYSTEM_ADMIN = "SystemAdmin", "SystemAdmin"
    COMPANY_ADMIN = "CompanyAdmin", "CompanyAdmin"
    PROJECT_MANAGER = "ProjectManager", "ProjectManager"
    OPERATOR = "Operator", "Operator"
    INTEGRATION = "Integration", "Integration"


class Scope(models.TextChoices):
    SYNC_READ = "sync:read", "sync:read"
    SYNC_WRITE = "sync:write", "sync:write"


# The ladder of human roles; Integration stands outside it (level 0) and is managed only by a
# SystemAdmin.
ROLE_LEVELS: dict[str, int] = {
    Role.SYSTEM_ADMIN: 4,
    Role.COMPANY_ADMIN: 3,
    Role.PROJECT_MANAGER: 2,
    Role.OPERATOR: 1,
    Role.INTEGRATION: 0,
}

# The roles each role may create, edit, re-role and deactivate.
MANAGEABLE_ROLES: dict[str, frozenset[str]] = {
    Role.SYSTEM_ADMIN: frozenset(Role.values),
    Role.COMPANY_ADMIN: frozenset({Role.PROJECT_MANAGER, Role.OPERATOR}),
    Role.PROJECT_MANAGER: frozenset(),
    Role.OPERATOR: frozenset(),
    Role.INTEGRATION: frozenset(),
}

# Who may do what: the roles of users, and the scope an API key needs.
SYNC_WRITE_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN, Role.INTEGRATION})
READ_ROLES = frozenset(Role.values)
DELETE_RESTORE_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN, Role.PROJECT_MANAGER, Role.INTEGRATION})
API_KEY_ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN})


def normalise_scopes(scopes) -> list[str]:
    """Scopes as stored: sorted, without duplicates. Raises ``ValueError`` naming an unknown one."""
    if isinstance(scopes, str):
        scopes = [part.strip() for part in scopes.split(",") if part.strip()]
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise ValueError(f"Unknown scope {unknown[0]!r}; allowed: {', '.join(Scope.values)}.")
    return sorted(set(scopes))
