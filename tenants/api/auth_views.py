"""``/api/v1/auth/*``: login, refresh with rotation, logout and who-am-I."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt.tokens import RefreshToken

from ractory.api.exception_handler import WWW_AUTHENTICATE, validation_errors
from ractory.api.problems import BadRequest, Problem
from ractory.api.ratelimit import client_ip
from ractory.api.responses import SecretResponse
from ractory.api.views import StrictAPIView

from .. import login_throttle, services
from ..models import User
from .serializers import LoginSerializer, MeSerializer, RefreshTokenSerializer, TokenPairSerializer

# Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_PASSWORD_HASH = make_password("not-a-real-password")


def _invalid_credentials(detail: str = "Invalid email or password.") -> Problem:
    return Problem(detail, status=401, code="invalid_credentials", headers={"WWW-Authenticate": WWW_AUTHENTICATE})


def _invalid_refresh_token() -> Problem:
    return Problem(
        "The refresh token is invalid, expired or revoked.",
        status=401,
        code="invalid_token",
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def parse_auth_body(request, serializer_class):
    """Auth bodies are small and fixed: anything off in them is a malformed request (400)."""
    serializer = serializer_class(data=request.data)
    if not serializer.is_valid():
        errors = validation_errors(serializer.errors)
        raise BadRequest(f"Malformed body: {errors[0].pointer} {errors[0].detail}", code="invalid_body", errors=errors)
    return serializer.validated_data


def token_pair(user: User, refresh: RefreshToken) -> SecretResponse:
    return SecretResponse(
        {
            "access_token": str(refresh.access_token),
            "refresh_token": str(refresh),
            "token_type": "bearer",
            "expires_in": int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
            "role": user.role,
        }
    )


TOKEN_EXAMPLE = OpenApiExample(
    "tokens",
    value={
        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
        "refresh_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
        "token_type": "bearer",
        "expires_in": 900,
        "role": "CompanyAdmin",
    },
    response_only=True,
)


class LoginView(StrictAPIView):
    """Exchange email and password for an access token (15 min) and a refresh token (7 days).

    Unknown email, wrong password, inactive user and inactive company all answer the same 401.
    Too many failures of the account, or attempts from the address, answer 429
    ``too_many_login_attempts`` before the password is hashed.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    extra_error_statuses = (401,)

    @extend_schema(
        tags=["auth"],
        request=LoginSerializer,
        responses={200: TokenPairSerializer},
        examples=[
            OpenApiExample("login", value={"email": "demo@example.com", "password": "…"}, request_only=True),
            TOKEN_EXAMPLE,
        ],
    )
    def post(self, request):
        data = parse_auth_body(request, LoginSerializer)
        email = login_throttle.normalized_email(data["email"])
        refusal = login_throttle.refusal(email, client_ip(request))
        if refusal is not None:
            raise refusal.problem()
        user = User.objects.select_related("company").by_email(email).first()
        if user is None:
            check_password(data["password"], _DUMMY_PASSWORD_HASH)
            login_throttle.record_failure(email)
            raise _invalid_credentials()
        if not user.check_password(data["password"]) or not user.is_active or not user.company.is_active:
            login_throttle.record_failure(email)
            raise _invalid_credentials()
        logged_in = services.log_in(user)
        if logged_in is None:  # deactivated while the password was being checked
            login_throttle.record_failure(email)
            raise _invalid_credentials()
        login_throttle.record_success(email)
        return token_pair(*logged_in)


class RefreshView(StrictAPIView):
    """Exchange a refresh token for a new pair. The old refresh token is revoked (rotation)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    extra_error_statuses = (401,)

    @extend_schema(
        tags=["auth"], request=RefreshTokenSerializer, responses={200: TokenPairSerializer}, examples=[TOKEN_EXAMPLE]
    )
    def post(self, request):
        data = parse_auth_body(request, RefreshTokenSerializer)
        rotated = services.rotate_refresh_token(data["refresh_token"])
        if rotated is None:
            raise _invalid_refresh_token()
        return token_pair(*rotated)


class LogoutView(StrictAPIView):
    """Revoke a refresh token of the signed-in user. Needs the access token as credential."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], request=RefreshTokenSerializer, responses={204: None})
    def post(self, request):
        data = parse_auth_body(request, RefreshTokenSerializer)
        caller_user = request.user.user  # None for an API key, which holds no refresh token
        if caller_user is None or not services.revoke_refresh_token(data["refresh_token"], owner=caller_user):
            raise _invalid_refresh_token()
        return Response(status=204)


class MeView(StrictAPIView):
    """The caller: a user (``auth_type: jwt``) or an API key (``auth_type: api_key``, with scopes)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        responses={200: MeSerializer},
        examples=[
            OpenApiExample(
                "user",
                value={
                    "guid": "5a0e…",
                    "email": "demo@example.com",
                    "name": "Demo",
                    "surname": "Admin",
                    "role": "CompanyAdmin",
                    "company_guid": "0f3c…",
                    "auth_type": "jwt",
                },
                response_only=True,
            ),
            OpenApiExample(
                "api key",
                value={
                    "guid": "9b7d…",
                    "email": None,
                    "role": "Integration",
                    "company_guid": "0f3c…",
                    "auth_type": "api_key",
                    "scopes": ["sync:read", "sync:write"],
                },
                response_only=True,
            ),
        ],
    )
    def get(self, request):
        caller = request.user
        if caller.is_api_key:
            body = {
                "guid": str(caller.api_key.guid),
                "email": None,
                "role": caller.role,
                "company_guid": str(caller.company.guid),
                "auth_type": "api_key",
                "scopes": sorted(caller.scopes),
            }
        else:
            user = caller.user
            body = {
                "guid": str(user.guid),
                "email": user.email,
                "name": user.name,
                "surname": user.surname,
                "role": user.role,
                "company_guid": str(caller.company.guid),
                "auth_type": "jwt",
            }
        return Response(body)
