"""Writes on companies, users and API keys. Views and management commands both call these."""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from ractory.refusals import FieldError, InvalidInput, NotPermitted, Refusal, StateConflict

from .caller import Caller
from .models import ApiKey, Company, IssuedRefreshToken, User
from .models.api_key import KEY_PREFIX, secret_hash
from .roles import MANAGEABLE_ROLES, Role, normalise_scopes

KEY_ID_ALPHABET = string.ascii_lowercase + string.digits
KEY_ID_LENGTH = 12


def save_or_conflict(row, conflict: StateConflict) -> None:
    """Save; a unique constraint that a concurrent request won meanwhile is a 409, not a 500.

    The checks before a save give the precise answer; this covers the race between check and save.
    """
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise conflict from None


# --- Companies --------------------------------------------------------------------------------


def _company_conflicts(*, name: str | None, company_index: int | None, exclude: Company | None) -> None:
    others = Company.objects.all() if exclude is None else Company.objects.exclude(pk=exclude.pk)
    if name is not None and others.annotate(lname=Lower("name")).filter(lname=name.lower()).exists():
        raise StateConflict(f"A company named {name!r} exists already.", code="name_taken")
    if company_index is not None and others.filter(company_index=company_index).exists():
        raise StateConflict(f"company_index {company_index} is taken.", code="company_index_taken")


def create_company(
    *,
    name: str,
    short_name: str | None = None,
    logo_path: str | None = None,
    company_index: int | None = None,
    guid: uuid.UUID | None = None,
) -> Company:
    """Create a tenant. A taken name (case-insensitive), index or guid is a 409."""
    if not name or not name.strip():
        raise InvalidInput(errors=[FieldError("/name", "blank", "This field may not be blank.")])
    with transaction.atomic():
        _company_conflicts(name=name, company_index=company_index, exclude=None)
        if guid is not None and Company.objects.filter(guid=guid).exists():
            raise StateConflict(f"A company with guid {guid} exists already.", code="guid_taken")
        company = Company(name=name, short_name=short_name, logo_path=logo_path, company_index=company_index)
        if guid is not None:
            company.guid = guid
        save_or_conflict(company, StateConflict("The company name or index was just taken.", code="name_taken"))
    return company


def update_company(*, company: Company, changes: dict) -> Company:
    if "name" in changes and (not changes["name"] or not changes["name"].strip()):
        raise InvalidInput(errors=[FieldError("/name", "blank", "This field may not be blank.")])
    _company_conflicts(name=changes.get("name"), company_index=changes.get("company_index"), exclude=company)
    for field, value in changes.items():
        setattr(company, field, value)
    save_or_conflict(company, StateConflict("The company name or index was just taken.", code="name_taken"))
    return company


def deactivate_company(*, company: Company, by: Caller | None = None) -> None:
    """Deactivate a tenant: from now on every user and key of it is refused (401).

    A SystemAdmin cannot deactivate its own company: that would lock out every admin of it.
    """
    if by is not None and by.company.pk == company.pk:
        raise Refusal("You may not deactivate your own company.", code="cannot_deactivate_own_company")
    if company.is_active:
        company.is_active = False
        company.save(update_fields=["is_active", "updated_at"])


# --- Users ------------------------------------------------------------------------------------


def ensure_may_manage(*, manager: Caller, role: str, company: Company) -> None:
    """403 unless ``manager`` may manage users of ``role`` in ``company``."""
    if manager.is_api_key:
        raise NotPermitted("API keys may not manage users.")
    if role not in MANAGEABLE_ROLES[manager.role]:
        allowed = ", ".join(sorted(MANAGEABLE_ROLES[manager.role])) or "none"
        managers = ", ".join(other for other in Role.values if role in MANAGEABLE_ROLES[other])
        raise NotPermitted(
            f"A {manager.role} may not manage {role} users (allowed roles: {managers}); "
            f"roles you may manage: {allowed}."
        )
    if not manager.is_system_admin and company.pk != manager.company.pk:
        raise NotPermitted("You may only manage users of your own company.", code="company_mismatch")


def _check_password(password: str, user: User, pointer: str = "/password") -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as error:
        raise InvalidInput(
            "The password is too weak.",
            errors=[FieldError(pointer, "weak_password", message) for message in error.messages],
        ) from None


def _email_taken(email: str, exclude: User | None = None) -> bool:
    users = User.objects.all() if exclude is None else User.objects.exclude(pk=exclude.pk)
    return users.by_email(email).exists()


def create_user(
    *,
    company: Company,
    email: str,
    password: str,
    role: str,
    name: str | None = None,
    surname: str | None = None,
    created_by: Caller | None = None,
) -> User:
    """Create a user. ``created_by`` (None for operators' commands) must be allowed to manage the role."""
    if created_by is not None:
        ensure_may_manage(manager=created_by, role=role, company=company)
    email = email.strip().lower()
    user = User(company=company, email=email, role=role, name=name, surname=surname)
    _check_password(password, user)
    if _email_taken(email):
        raise StateConflict(f"The email {email} is taken.", code="email_taken")
    user.set_password(password)
    # Admins may log in to the Django admin, which is tenant-aware.
    user.is_staff = role in {Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN}
    user.is_superuser = role == Role.SYSTEM_ADMIN
    save_or_conflict(user, StateConflict(f"The email {email} is taken.", code="email_taken"))
    return user


SELF_EDITABLE_FIELDS = frozenset({"name", "surname", "password"})


def update_user(*, user: User, changes: dict, by: Caller) -> User:
    """Apply a PATCH. Everyone may change their own name, surname and password; managers more."""
    editing_self = by.user is not None and by.user.pk == user.pk
    managed_fields = set(changes) - SELF_EDITABLE_FIELDS
    if editing_self and managed_fields:
        field = sorted(managed_fields)[0]
        raise NotPermitted(f"You may not change your own {field}.", code="self_edit_forbidden")
    if not editing_self:
        ensure_may_manage(manager=by, role=user.role, company=user.company)
        if "role" in changes:
            ensure_may_manage(manager=by, role=changes["role"], company=user.company)
    if "email" in changes:
        changes["email"] = changes["email"].strip().lower()
        if _email_taken(changes["email"], exclude=user):
            raise StateConflict(f"The email {changes['email']} is taken.", code="email_taken")
    password = changes.pop("password", None)
    for field, value in changes.items():
        setattr(user, field, value)
    if "role" in changes:
        user.is_staff = user.role in {Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN}
        user.is_superuser = user.role == Role.SYSTEM_ADMIN
    if "is_active" in changes:
        user.deleted_at = None if user.is_active else timezone.now()
    if password is not None:
        _check_password(password, user)
        user.set_password(password)
    save_or_conflict(user, StateConflict("The email is taken.", code="email_taken"))
    return user


def deactivate_user(*, user: User, by: Caller) -> None:
    if by.user is not None and by.user.pk == user.pk:
        raise Refusal("You may not deactivate yourself.", code="cannot_deactivate_self")
    ensure_may_manage(manager=by, role=user.role, company=user.company)
    if user.is_active:
        user.is_active = False
        user.deleted_at = timezone.now()
        user.save(update_fields=["is_active", "deleted_at", "updated_at"])


# --- API keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


def create_api_key(
    *,
    company: Company,
    scopes,
    description: str | None = None,
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> CreatedApiKey:
    """Create a key. Returns the raw key ``rfk_<key_id>_<secret>``, which is not stored anywhere."""
    try:
        scopes = normalise_scopes(scopes)
    except ValueError as error:
        raise InvalidInput(str(error), errors=[FieldError("/scopes", "invalid_scope", str(error))]) from None
    if not scopes:
        raise InvalidInput(errors=[FieldError("/scopes", "required", "Give at least one scope.")])
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(errors=[FieldError("/expires_at", "in_the_past", "Must be in the future.")])
    secret = secrets.token_urlsafe(32)
    for _attempt in range(5):
        key_id = "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(KEY_ID_LENGTH))
        api_key = ApiKey(
            company=company,
            key_id=key_id,
            secret_hash=secret_hash(secret),
            description=description,
            scopes=scopes,
            expires_at=expires_at,
            created_by=created_by,
        )
        try:
            with transaction.atomic():
                api_key.save()
        except IntegrityError:
            continue  # a key id collision (1 in 36**12): draw again
        return CreatedApiKey(api_key=api_key, raw_key=f"{KEY_PREFIX}_{key_id}_{secret}")
    raise RuntimeError("could not draw a free key id")


def update_api_key(*, api_key: ApiKey, changes: dict) -> ApiKey:
    if "scopes" in changes:
        try:
            changes["scopes"] = normalise_scopes(changes["scopes"])
        except ValueError as error:
            raise InvalidInput(str(error), errors=[FieldError("/scopes", "invalid_scope", str(error))]) from None
        if not changes["scopes"]:
            raise InvalidInput(errors=[FieldError("/scopes", "required", "Give at least one scope.")])
    if changes.get("is_active") and api_key.is_revoked:
        raise StateConflict("A revoked key cannot be enabled again; create a new one.", code="api_key_revoked")
    for field, value in changes.items():
        setattr(api_key, field, value)
    api_key.save()
    return api_key


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    """Revoke for good. The row stays for audit; revoking twice changes nothing."""
    if api_key.revoked_at is None:
        now = timezone.now()
        api_key.is_active = False
        api_key.revoked_at = now
        api_key.deleted_at = now
        api_key.save(update_fields=["is_active", "revoked_at", "deleted_at", "updated_at"])
    return api_key


# --- Refresh tokens ---------------------------------------------------------------------------
#
# A refresh token is a signed JWT; the database keeps only its id (jti), user, expiry and
# revocation (IssuedRefreshToken). A token refreshes only while its row is live. Password changes
# and deactivations revoke a user's rows in User.save / Company.save, whichever path made them.


def _lock_live_user(**lookup) -> User | None:
    """The user named by ``lookup`` if it and its company are active, locked until commit.

    The lock orders a login or refresh against a concurrent password change or deactivation,
    which update the same rows before revoking: either the new token is written first and then
    revoked with the others, or this read waits and sees the user (or company) inactive.
    ``no_key`` keeps the company lock from blocking rows being inserted under the company.
    """
    try:
        return (
            User.objects.select_related("company")
            .select_for_update(of=("self", "company"), no_key=True)
            .filter(is_active=True, company__is_active=True, **lookup)
            .first()
        )
    except (ValueError, TypeError, DjangoValidationError):  # a guid claim that is no UUID: no such user
        return None


def _issue_refresh_token(user: User) -> RefreshToken:
    token = RefreshToken.for_user(user)
    IssuedRefreshToken.objects.create(
        jti=token["jti"],
        user=user,
        issued_at=datetime_from_epoch(token["iat"]),
        expires_at=datetime_from_epoch(token["exp"]),
    )
    return token


def _decode_refresh_token(raw: str) -> RefreshToken | None:
    try:
        return RefreshToken(raw)  # signature, expiry and token type; the database is asked after
    except TokenError:
        return None


def log_in(user: User) -> tuple[User, RefreshToken] | None:
    """Record the login and issue a refresh token; None if the user or company is inactive now."""
    with transaction.atomic():
        user = _lock_live_user(pk=user.pk)
        if user is None:
            return None
        user.last_login = timezone.now()
        User.objects.filter(pk=user.pk).update(last_login=user.last_login)
        return user, _issue_refresh_token(user)


def rotate_refresh_token(raw: str) -> tuple[User, RefreshToken] | None:
    """Spend a refresh token and issue its successor.

    None when the token is invalid, expired, revoked or unknown, or its user or company inactive.
    Spending is a conditional UPDATE, so of two requests racing with one token only one wins.
    """
    token = _decode_refresh_token(raw)
    if token is None:
        return None
    with transaction.atomic():
        user = _lock_live_user(guid=token.get(settings.SIMPLE_JWT["USER_ID_CLAIM"]))
        if user is None or not IssuedRefreshToken.objects.live().filter(jti=token["jti"], user=user).revoke():
            return None
        return user, _issue_refresh_token(user)


def revoke_refresh_token(raw: str, *, owner: User) -> bool:
    """Revoke one live refresh token of ``owner`` (logout). False if there is no such token."""
    token = _decode_refresh_token(raw)
    if token is None or token.get(settings.SIMPLE_JWT["USER_ID_CLAIM"]) != str(owner.guid):
        return False
    return bool(IssuedRefreshToken.objects.live().filter(jti=token["jti"], user=owner).revoke())
