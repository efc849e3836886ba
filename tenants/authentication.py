"""Authentication classes: API keys in three header forms, and JWT access tokens."""

from __future__ import annotations

import hmac
import re

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework_simplejwt import authentication as simplejwt_authentication

from .caller import Caller
from .models import ApiKey, User
from .models.api_key import KEY_PREFIX, secret_hash

REALM_HEADER = 'Bearer realm="ractory"'
KEY_ID_PATTERN = re.compile(r"^[a-z0-9]{12}$")
# Compared against when the key id is unknown, so a miss costs the same as a wrong secret.
_UNKNOWN_KEY_HASH = "0" * 64


def _authorization_parts(request) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.strip():
        return None
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower(), value.strip()


def _key_from_authorization(request) -> str | None:
    parts = _authorization_parts(request)
    if parts is None:
        return None
    scheme, value = parts
    if scheme == "apikey" or (scheme == "bearer" and value.startswith(f"{KEY_PREFIX}_")):
        return value
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``X-API-Key: rfk_…``, ``Authorization: ApiKey rfk_…`` or ``Authorization: Bearer rfk_…``.

    The key is found by its key id with one indexed query and its secret checked by comparing
    SHA-256 hashes in constant time. Any presented key that fails is a 401, never skipped.
    """

    def authenticate(self, request):
        header_key = request.META.get("HTTP_X_API_KEY")
        authorization_key = _key_from_authorization(request)
        if header_key is None and authorization_key is None:
            return None
        if header_key is not None and _authorization_parts(request) is not None:
            if authorization_key != header_key.strip():
                raise exceptions.AuthenticationFailed(
                    "Send one credential: X-API-Key and Authorization name different ones.",
                    code="conflicting_credentials",
                )
        raw_key = (header_key if header_key is not None else authorization_key).strip()
        api_key = self.verify(raw_key)
        return Caller.for_api_key(api_key), api_key

    def verify(self, raw_key: str, *, record_use: bool = True) -> ApiKey:
        prefix, _, rest = raw_key.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not KEY_ID_PATTERN.match(key_id) or not secret:
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        api_key = ApiKey.objects.select_related("company").filter(key_id=key_id).first()
        stored_hash = api_key.secret_hash if api_key is not None else _UNKNOWN_KEY_HASH
        if not hmac.compare_digest(stored_hash, secret_hash(secret)) or api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.", code="api_key_revoked")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("This API key is disabled.", code="api_key_inactive")
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API key has expired.", code="api_key_expired")
        if not api_key.company.is_active:
            raise exceptions.AuthenticationFailed("The company of this API key is inactive.", code="company_inactive")
        if record_use:
            self.touch(api_key, now)
        return api_key

    @staticmethod
    def touch(api_key: ApiKey, now) -> None:
        """Record use at most once a minute: one conditional UPDATE, none while fresh."""
        resolution = settings.API_KEY_LAST_USED_RESOLUTION
        if api_key.last_used_at is not None and now - api_key.last_used_at < resolution:
            return
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - resolution)
        ).update(last_used_at=now)
        api_key.last_used_at = now

    def authenticate_header(self, request) -> str:
        return REALM_HEADER


class JWTAuthentication(simplejwt_authentication.JWTAuthentication):
    """``Authorization: Bearer <access token>``. Refresh tokens are refused as access tokens.

    The user and the user's company are read from the database on every request; a token of a
    user or company deactivated since it was issued is refused.
    """

    www_authenticate_realm = "ractory"

    def get_raw_token(self, header: bytes):
        parts = header.split()
        if len(parts) >= 2 and parts[0].lower() == b"bearer" and parts[1].startswith(b"rfk_"):
            return None  # an API key: ApiKeyAuthentication's business
        if parts and parts[0].lower() == b"bearer" and parts[0] != b"Bearer":
            parts[0] = b"Bearer"
            header = b" ".join(parts)
        return super().get_raw_token(header)

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        return Caller.for_user(user), token

    def get_user(self, validated_token) -> User:
        user_guid = validated_token.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])
        try:
            user = User.objects.select_related("company").filter(guid=user_guid).first()
        except (ValueError, TypeError, DjangoValidationError):
            user = None
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(
                "The user of this token is unknown or inactive.", code="user_inactive"
            )
        if not user.company.is_active:
            raise exceptions.AuthenticationFailed("The company of this user is inactive.", code="company_inactive")
        return user

    def authenticate_header(self, request) -> str:
        return REALM_HEADER
