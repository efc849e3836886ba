"""JWT access tokens over real HTTP: what is accepted, what is refused, and that
role and company are read from the database on every request, never from the token."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from conftest import PASSWORD, access_token_for, assert_auth_problem
from tenants import services
from tenants.models import User
from tenants.roles import Role

ME = "/api/v1/auth/me"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(token: str) -> dict:
    """The payload of a token, read without checking it (what anyone holding it can see)."""
    return jwt.decode(token, options={"verify_signature": False})


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def user(make_user):
    return make_user(Role.PROJECT_MANAGER, email="pat@example.com", name="Pat", surname="Doe")


# --- Accepted ---------------------------------------------------------------------------------------


def test_me_answers_the_user(api, user, company):
    response = api.get(ME, **bearer(access_token_for(user)))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "guid": str(user.guid),
        "email": "pat@example.com",
        "name": "Pat",
        "surname": "Doe",
        "role": "ProjectManager",
        "company_guid": str(company.guid),
        "auth_type": "jwt",
    }


def test_the_bearer_scheme_is_case_insensitive(api, user):
    response = api.get(ME, HTTP_AUTHORIZATION=f"bearer {access_token_for(user)}")

    assert response.status_code == 200
    assert response.json()["guid"] == str(user.guid)


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_the_tokens_name_the_user_by_guid_and_carry_no_internal_id(api, user, kind):
    login = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.content

    payload = claims(login.json()[kind])

    assert "user_id" not in payload
    assert payload["user_guid"] == str(user.guid)
    assert set(payload) == {"token_type", "exp", "iat", "jti", "user_guid"}
    assert payload["token_type"] == kind.removesuffix("_token")
    integer_claims = {name for name, value in payload.items() if isinstance(value, int)}
    assert integer_claims == {"exp", "iat"}  # times only: no id of any row
    assert str(user.pk) not in {str(value) for value in payload.values() if not isinstance(value, int)}


def test_a_jwt_costs_one_query(api, user, django_assert_num_queries):
    token = access_token_for(user)

    with django_assert_num_queries(1) as captured:
        response = api.get(ME, **bearer(token))

    assert response.status_code == 200
    (select,) = [q["sql"] for q in captured.captured_queries]
    assert "tenants_user" in select and "tenants_company" in select  # user and company together


# --- Refused ----------------------------------------------------------------------------------------


def _expired(user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=15))
    assert token["exp"] < timezone.now().timestamp()
    return str(token)


def _expired_one_second_ago(user):
    token = AccessToken.for_user(user)
    token["exp"] = int(timezone.now().timestamp()) - 1
    return str(token)


def _other_secret(user):
    payload = claims(access_token_for(user))
    return jwt.encode(payload, "another-secret-that-is-long-enough-for-hs256", algorithm="HS256")


def _alg_none(user):
    payload = claims(access_token_for(user))
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(payload)}."


def _alg_none_with_signature(user):
    """``alg: none`` with the valid signature of the genuine token kept in place."""
    header, payload, signature = access_token_for(user).split(".")
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}"


def _tampered_payload(user):
    """A genuine signature over a payload edited to name another user (a SystemAdmin)."""
    admin = services.create_user(
        company=user.company, email="root@example.com", password=PASSWORD, role=Role.SYSTEM_ADMIN
    )
    genuine = access_token_for(user)
    header, _payload, signature = genuine.split(".")
    edited = {**claims(genuine), "user_guid": str(admin.guid)}
    return f"{header}.{b64url_json(edited)}.{signature}"


def _extended_expiry(user):
    expired = _expired(user)
    header, _payload, signature = expired.split(".")
    edited = {**claims(expired), "exp": int(timezone.now().timestamp()) + 3600}
    return f"{header}.{b64url_json(edited)}.{signature}"


def _refresh_token(user):
    return str(RefreshToken.for_user(user))


def _garbage(user):
    return "not.a.jwt"


def _unknown_user(user):
    token = AccessToken.for_user(user)
    token["user_guid"] = str(uuid.uuid4())
    return str(token)


def _no_user_claim(user):
    token = AccessToken.for_user(user)
    del token["user_guid"]
    return str(token)


def _internal_id_claim(user):
    """A validly signed token naming the user the default simplejwt way, by integer id."""
    token = AccessToken.for_user(user)
    del token["user_guid"]
    token["user_id"] = user.pk
    return str(token)


def _malformed_user_guid(user):
    token = AccessToken.for_user(user)
    token["user_guid"] = "not-a-uuid"
    return str(token)


def _hs512(user):
    return jwt.encode(claims(access_token_for(user)), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512")


REFUSED_TOKENS = {
    "expired": (_expired, "invalid_token"),
    "expired-one-second-ago": (_expired_one_second_ago, "invalid_token"),
    "signed-with-another-secret": (_other_secret, "invalid_token"),
    "alg-none": (_alg_none, "invalid_token"),
    "alg-none-keeping-signature": (_alg_none_with_signature, "invalid_token"),
    "tampered-payload": (_tampered_payload, "invalid_token"),
    "tampered-expiry": (_extended_expiry, "invalid_token"),
    "other-algorithm": (_hs512, "invalid_token"),
    "refresh-token-as-access": (_refresh_token, "invalid_token"),
    "garbage": (_garbage, "invalid_token"),
    "unknown-user": (_unknown_user, "user_inactive"),
    "no-user-claim": (_no_user_claim, "user_inactive"),
    "integer-user-id-claim": (_internal_id_claim, "user_inactive"),
    "malformed-user-guid": (_malformed_user_guid, "user_inactive"),
}


@pytest.mark.parametrize("case", REFUSED_TOKENS)
def test_a_bad_access_token_is_refused(api, user, problem, case):
    build, code = REFUSED_TOKENS[case]
    token = build(user)

    response = api.get(ME, **bearer(token))

    body = assert_auth_problem(problem, response, code)
    assert token not in response.content.decode()
    assert set(body) == {"type", "title", "status", "detail", "code", "request_id"}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer a b", "Bearer  "],
    ids=["no-token", "two-tokens", "blank-token"],
)
def test_a_bearer_header_without_exactly_one_token_is_refused(api, user, problem, authorization):
    response = api.get(ME, HTTP_AUTHORIZATION=authorization)

    assert_auth_problem(problem, response, None)


def _deactivate_user(user):
    User.objects.filter(pk=user.pk).update(is_active=False, deleted_at=timezone.now())


def _deactivate_company(user):
    services.deactivate_company(company=user.company)


@pytest.mark.parametrize(
    ("change", "code"),
    [(_deactivate_user, "user_inactive"), (_deactivate_company, "company_inactive")],
    ids=["user-deactivated", "company-deactivated"],
)
def test_a_token_issued_before_deactivation_is_refused_after(api, user, problem, change, code):
    token = access_token_for(user)
    assert api.get(ME, **bearer(token)).status_code == 200

    change(user)
    response = api.get(ME, **bearer(token))

    assert_auth_problem(problem, response, code)


def test_a_user_deactivated_through_the_api_is_refused_at_once(api, as_user, make_user, user, problem):
    admin = make_user(Role.COMPANY_ADMIN)
    token = access_token_for(user)

    deleted = as_user(admin).delete(f"/api/v1/users/{user.guid}")

    assert deleted.status_code == 204, deleted.content
    assert_auth_problem(problem, api.get(ME, **bearer(token)), "user_inactive")


def test_a_role_change_after_issue_is_seen_on_the_next_request(api, user):
    token = access_token_for(user)
    assert api.get(ME, **bearer(token)).json()["role"] == "ProjectManager"

    User.objects.filter(pk=user.pk).update(role=Role.OPERATOR)
    response = api.get(ME, **bearer(token))

    assert response.status_code == 200
    assert response.json()["role"] == "Operator"
    assert "role" not in claims(token)  # nothing to trust in the token in the first place


def test_a_role_change_is_seen_by_permissions_too(api, make_user):
    """A CompanyAdmin demoted to Operator loses the API-key endpoints with the same token."""
    admin = make_user(Role.COMPANY_ADMIN)
    token = access_token_for(admin)
    assert api.get("/api/v1/api-keys", **bearer(token)).status_code == 200

    User.objects.filter(pk=admin.pk).update(role=Role.OPERATOR)
    response = api.get("/api/v1/api-keys", **bearer(token))

    assert response.status_code == 403
    assert "Operator" in response.json()["detail"]
