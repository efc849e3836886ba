"""Input and output serializers of the auth, API-key, user and company endpoints."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ractory.api.serializers import (
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
    StrictEmailField,
    StrictIntegerField,
    StrictSerializer,
    StrictUUIDField,
)

from ..models import ApiKey, Company, User
from ..roles import Role, Scope

# --- Auth -------------------------------------------------------------------------------------


class LoginSerializer(StrictSerializer):
    email = StrictCharField(max_length=254, trim_whitespace=True)
    password = StrictCharField(max_length=4096, trim_whitespace=False)


class RefreshTokenSerializer(StrictSerializer):
    refresh_token = StrictCharField(max_length=4096)


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.Serializer):
    guid = serializers.UUIDField(help_text="The user's guid, or the API key's.")
    email = serializers.EmailField(allow_null=True)
    name = serializers.CharField(allow_null=True, required=False)
    surname = serializers.CharField(allow_null=True, required=False)
    role = serializers.ChoiceField(choices=Role.choices)
    company_guid = serializers.UUIDField()
    auth_type = serializers.ChoiceField(choices=["jwt", "api_key"])
    scopes = serializers.ListField(child=serializers.CharField(), required=False, help_text="API keys only.")


# --- API keys ---------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string", "enum": Scope.values}},
            {"type": "string", "example": "sync:read,sync:write"},
        ]
    }
)
class ScopesField(serializers.Field):
    """An array of scopes, or one comma-separated string of them."""

    default_error_messages = {"invalid": "Must be an array of scopes or a comma-separated string."}

    def to_internal_value(self, data):
        if isinstance(data, str):
            return [part.strip() for part in data.split(",") if part.strip()]
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return list(value)


class ApiKeySerializer(serializers.ModelSerializer):
    key_prefix = serializers.CharField(source="prefix", read_only=True, help_text="rfk_<key_id>: safe to show.")
    company_guid = serializers.UUIDField(source="company.guid", read_only=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "guid",
            "key_prefix",
            "description",
            "scopes",
            "company_guid",
            "is_active",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class CreatedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The raw key. Shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = ["key", *ApiKeySerializer.Meta.fields]
        read_only_fields = fields


class ApiKeyCreateSerializer(StrictSerializer):
    description = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    scopes = ScopesField(help_text="Array of scopes, or a comma-separated string: sync:read, sync:write.")
    company_guid = StrictUUIDField(required=False, help_text="SystemAdmin only; default: your company.")
    expires_at = StrictDateTimeField(required=False, allow_null=True)


class ApiKeyUpdateSerializer(StrictSerializer):
    description = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    scopes = ScopesField(required=False)
    is_active = StrictBooleanField(required=False)


# --- Users ------------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    company_guid = serializers.UUIDField(source="company.guid", read_only=True)

    class Meta:
        model = User
        fields = [
            "guid",
            "email",
            "name",
            "surname",
            "role",
            "company_guid",
            "is_active",
            "created_at",
            "updated_at",
            "last_login",
        ]
        read_only_fields = fields


class UserCreateSerializer(StrictSerializer):
    email = StrictEmailField(max_length=254)
    password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True)
    role = serializers.ChoiceField(choices=Role.choices)
    name = StrictCharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    surname = StrictCharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    company_guid = StrictUUIDField(required=False, help_text="SystemAdmin only; default: your company.")


class UserUpdateSerializer(StrictSerializer):
    email = StrictEmailField(max_length=254, required=False)
    password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True, required=False)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    name = StrictCharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    surname = StrictCharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    is_active = StrictBooleanField(required=False)


# --- Companies --------------------------------------------------------------------------------


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = [
            "guid",
            "name",
            "short_name",
            "logo_path",
            "company_index",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CompanyCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    short_name = StrictCharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    logo_path = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    company_index = StrictIntegerField(min_value=0, max_value=99, required=False, allow_null=True)
    guid = StrictUUIDField(required=False)


class CompanyUpdateSerializer(StrictSerializer):
    name = StrictCharField(max_length=100, required=False)
    short_name = StrictCharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    logo_path = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    company_index = StrictIntegerField(min_value=0, max_value=99, required=False, allow_null=True)
    is_active = StrictBooleanField(required=False)
