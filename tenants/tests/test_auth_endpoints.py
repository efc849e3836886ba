"""``/api/v1/auth/login``, ``/refresh`` and ``/logout`` over real HTTP.

Each test checks the answer and what the database holds afterwards: ``last_login`` and the
issued refresh tokens (their ids, never the tokens), revoked or not.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import jwt
import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from conftest import PASSWORD, access_token_for, assert_auth_problem, without_request_id
from tenants import services
from tenants.models import Company, IssuedRefreshToken, User
from tenants.models.refresh_token import IssuedRefreshTokenQuerySet
from tenants.roles import Role

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in", "role"}


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def revoked_jtis() -> set[str]:
    return set(IssuedRefreshToken.objects.filter(revoked_at__isnull=False).values_list("jti", flat=True))


def assert_token_pair(response, user: User) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["role"] == user.role
    access, refresh = claims(body["access_token"]), claims(body["refresh_token"])
    assert (access["token_type"], refresh["token_type"]) == ("access", "refresh")
    assert access["user_guid"] == refresh["user_guid"] == str(user.guid)
    # simplejwt dates the access token's exp from the refresh token's issue time (its own iat may
    # fall a second later), so both lifetimes are measured from the refresh token's iat.
    assert access["exp"] - refresh["iat"] == 900
    assert 0 <= access["iat"] - refresh["iat"] <= 1
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600
    return body


@pytest.fixture
def user(make_user):
    return make_user(Role.COMPANY_ADMIN, email="ada@example.com")


@pytest.fixture
def login(api):
    def do(email: str = "ada@example.com", password: str = PASSWORD):
        return api.post(LOGIN, {"email": email, "password": password}, format="json")

    return do


def last_login(user: User):
    return User.objects.values_list("last_login", flat=True).get(pk=user.pk)


# --- Login --------------------------------------------------------------------------------------


def test_login_answers_a_token_pair_that_works(api, login, user):
    before = timezone.now()

    response = login()

    body = assert_token_pair(response, user)
    assert body["role"] == "CompanyAdmin"
    me = api.get(ME, **bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["guid"] == str(user.guid)
    assert before <= last_login(user) <= timezone.now()
    issued = IssuedRefreshToken.objects.get(user=user)
    refresh_claims = claims(body["refresh_token"])
    assert issued.jti == refresh_claims["jti"]
    assert int(issued.issued_at.timestamp()) == refresh_claims["iat"]
    assert int(issued.expires_at.timestamp()) == refresh_claims["exp"]
    assert issued.revoked_at is None


@pytest.mark.parametrize("email", ["ADA@EXAMPLE.COM", "Ada@Example.com", "  ada@example.com  "])
def test_login_takes_the_email_in_any_case(login, user, email):
    body = assert_token_pair(login(email=email), user)

    assert claims(body["access_token"])["user_guid"] == str(user.guid)


def test_login_of_a_user_stored_in_mixed_case(login, make_user):
    mixed = make_user(Role.OPERATOR, email="Bob.Smith@Example.COM")

    body = assert_token_pair(login(email="bob.smith@example.com"), mixed)

    assert body["role"] == "Operator"


def _unknown_email(user):
    return {"email": "nobody@example.com", "password": PASSWORD}


def _wrong_password(user):
    return {"email": user.email, "password": PASSWORD + "!"}


def _inactive_user(user):
    User.objects.filter(pk=user.pk).update(is_active=False)
    return {"email": user.email, "password": PASSWORD}


def _inactive_company(user):
    services.deactivate_company(company=user.company)
    return {"email": user.email, "password": PASSWORD}


def _inactive_user_wrong_password(user):
    User.objects.filter(pk=user.pk).update(is_active=False)
    return {"email": user.email, "password": "wrong"}


def _empty_password(user):
    return {"email": user.email, "password": ""}


FAILED_LOGINS = {
    "unknown-email": _unknown_email,
    "wrong-password": _wrong_password,
    "inactive-user": _inactive_user,
    "inactive-company": _inactive_company,
    "inactive-user-wrong-password": _inactive_user_wrong_password,
}


@pytest.fixture
def reference_failure(api, make_user, problem):
    """The body of a plain wrong-password login, which every other failure must match."""
    other = make_user(Role.OPERATOR, email="ref@example.com")
    response = api.post(LOGIN, {"email": other.email, "password": "nope"}, format="json")
    return without_request_id(assert_auth_problem(problem, response, "invalid_credentials"))


@pytest.mark.parametrize("case", FAILED_LOGINS)
def test_every_failed_login_answers_the_same_401(api, user, problem, reference_failure, case):
    body = FAILED_LOGINS[case](user)

    response = api.post(LOGIN, body, format="json")

    refused = assert_auth_problem(problem, response, "invalid_credentials")
    assert without_request_id(refused) == reference_failure
    assert refused["detail"] == "Invalid email or password."
    assert last_login(user) is None
    assert IssuedRefreshToken.objects.count() == 0


def test_a_failed_login_leaves_an_earlier_last_login_alone(api, login, user, problem):
    earlier = timezone.now() - timedelta(days=3)
    User.objects.filter(pk=user.pk).update(last_login=earlier)

    response = login(password="wrong-password")

    assert_auth_problem(problem, response, "invalid_credentials")
    assert last_login(user) == earlier


def test_an_empty_password_is_a_malformed_body(api, user, problem):
    response = api.post(LOGIN, _empty_password(user), format="json")

    problem(response, 400, "invalid_body")
    assert last_login(user) is None


MALFORMED_LOGINS = {
    "missing-password": ({"email": "ada@example.com"}, "invalid_body", "/password"),
    "missing-email": ({"password": PASSWORD}, "invalid_body", "/email"),
    "empty-object": ({}, "invalid_body", None),
    "password-is-a-number": ({"email": "ada@example.com", "password": 123}, "invalid_body", "/password"),
    "email-is-a-number": ({"email": 42, "password": PASSWORD}, "invalid_body", "/email"),
    "email-is-null": ({"email": None, "password": PASSWORD}, "invalid_body", "/email"),
    "password-is-a-list": ({"email": "ada@example.com", "password": [PASSWORD]}, "invalid_body", "/password"),
    # Correct credentials plus an unknown key: still refused, so no login happens.
    "unknown-field": (
        {"email": "ada@example.com", "password": PASSWORD, "remember": True},
        "invalid_body",
        "/remember",
    ),
    "array-body": ([{"email": "ada@example.com", "password": PASSWORD}], "body_not_object", None),
    "string-body": ("ada@example.com", "body_not_object", None),
}


@pytest.mark.parametrize("case", MALFORMED_LOGINS)
def test_a_malformed_login_body_is_400(api, user, problem, case):
    payload, code, pointer = MALFORMED_LOGINS[case]

    response = api.post(LOGIN, payload, format="json")

    body = problem(response, 400, code)
    if pointer is not None:
        assert pointer in [error["pointer"] for error in body["errors"]]
    assert last_login(user) is None
    assert IssuedRefreshToken.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"email": "ada@example.com", "password": ', b"{'email': 'ada@example.com'}", b"\xff\xfe", b"NaN"],
    ids=["truncated", "single-quotes", "not-utf8", "nan"],
)
def test_a_login_body_that_is_not_json_is_400(api, user, problem, raw):
    response = api.generic("POST", LOGIN, raw, content_type="application/json")

    body = problem(response, 400, None)
    assert body["code"] in {"invalid_json", "body_not_object"}
    assert last_login(user) is None


def test_an_empty_login_body_is_400(api, user, problem):
    # DRF hands an empty body to no parser: it arrives as {} and both fields are missing.
    response = api.generic("POST", LOGIN, b"", content_type="application/json")

    body = problem(response, 400, None)
    assert body["code"] in {"invalid_json", "invalid_body"}
    assert last_login(user) is None


def test_login_ignores_a_bad_credential_header(api, user, problem):
    """Login is public: a stale key or token the client still sends does not block it."""
    response = api.post(
        LOGIN,
        {"email": user.email, "password": PASSWORD},
        format="json",
        HTTP_AUTHORIZATION="Bearer expired.or.garbage",
    )

    assert_token_pair(response, user)


# --- Refresh ------------------------------------------------------------------------------------


@pytest.fixture
def pair(login, user) -> dict:
    return assert_token_pair(login(), user)


def refresh(api, token: str):
    return api.post(REFRESH, {"refresh_token": token}, format="json")


def test_refresh_answers_a_new_pair_and_rotates(api, user, pair, problem):
    old_jti = claims(pair["refresh_token"])["jti"]

    response = refresh(api, pair["refresh_token"])

    body = assert_token_pair(response, user)
    assert body["refresh_token"] != pair["refresh_token"]
    assert claims(body["refresh_token"])["jti"] != old_jti
    assert revoked_jtis() == {old_jti}  # exactly the old token, nothing else
    assert set(IssuedRefreshToken.objects.filter(user=user).values_list("jti", flat=True)) == {
        old_jti,
        claims(body["refresh_token"])["jti"],
    }
    assert api.get(ME, **bearer(body["access_token"])).status_code == 200
    # The old refresh token is now refused; the new one works.
    assert_auth_problem(problem, refresh(api, pair["refresh_token"]), "invalid_token")
    assert revoked_jtis() == {old_jti}
    assert_token_pair(refresh(api, body["refresh_token"]), user)
    assert revoked_jtis() == {old_jti, claims(body["refresh_token"])["jti"]}


def test_refresh_reads_the_role_from_the_database(api, user, pair):
    User.objects.filter(pk=user.pk).update(role=Role.PROJECT_MANAGER)
    user.refresh_from_db()

    body = assert_token_pair(refresh(api, pair["refresh_token"]), user)

    assert body["role"] == "ProjectManager"


def test_two_refreshes_racing_with_one_token_only_one_wins(api, user, pair, problem):
    """Both requests find the token live before either writes; the second must still lose.

    The race is replayed deterministically: the *live* filter lets revoked tokens through, so
    only the conditional revoking UPDATE can tell that the token was already spent.
    """
    old_jti = claims(pair["refresh_token"])["jti"]

    def live_or_revoked(self, now=None):
        return self.filter(expires_at__gt=timezone.now())

    with mock.patch.object(IssuedRefreshTokenQuerySet, "live", live_or_revoked):
        first = refresh(api, pair["refresh_token"])
        second = refresh(api, pair["refresh_token"])

    assert_token_pair(first, user)
    assert_auth_problem(problem, second, "invalid_token")
    assert revoked_jtis() == {old_jti}
    assert IssuedRefreshToken.objects.filter(user=user).count() == 2  # the login's and the winner's


def _access_token(user, pair):
    return pair["access_token"]


def _garbage(user, pair):
    return "garbage"


def _expired_refresh(user, pair):
    token = RefreshToken(pair["refresh_token"])  # the issued token, re-signed with changed claims
    token["exp"] = int((timezone.now() - timedelta(seconds=1)).timestamp())
    return str(token)


def _other_secret(user, pair):
    return jwt.encode(claims(pair["refresh_token"]), "another-secret-that-is-long-enough-for-hs256", algorithm="HS256")


def _deactivated_user(user, pair):
    User.objects.filter(pk=user.pk).update(is_active=False)  # behind the model's back: nothing revoked
    return pair["refresh_token"]


def _another_users_jti(user, pair):
    """Correctly signed and live, but the token id belongs to another user's token."""
    token = RefreshToken(pair["refresh_token"])
    token["jti"] = claims(pair["other_refresh_token"])["jti"]
    return str(token)


def _deactivated_company(user, pair):
    Company.objects.filter(pk=user.company_id).update(is_active=False)  # behind the model's back
    return pair["refresh_token"]


def _deleted_user_guid(user, pair):
    token = RefreshToken(pair["refresh_token"])
    token["user_guid"] = "00000000-0000-4000-8000-000000000000"
    return str(token)


def _malformed_user_guid(user, pair):
    """Correctly signed, but naming the user by something that is not a UUID."""
    token = RefreshToken(pair["refresh_token"])
    token["user_guid"] = "not-a-uuid"
    return str(token)


def _integer_user_id(user, pair):
    """Correctly signed, naming the user the default simplejwt way: by internal integer id."""
    token = RefreshToken(pair["refresh_token"])
    del token["user_guid"]
    token["user_id"] = user.pk
    return str(token)


REFUSED_REFRESHES = {
    "access-token": _access_token,
    "garbage": _garbage,
    "expired": _expired_refresh,
    "signed-with-another-secret": _other_secret,
    "user-deactivated": _deactivated_user,
    "company-deactivated": _deactivated_company,
    "unknown-user": _deleted_user_guid,
    "malformed-user-guid": _malformed_user_guid,
    "integer-user-id": _integer_user_id,
    "another-users-token-id": _another_users_jti,
}


@pytest.mark.parametrize("case", REFUSED_REFRESHES)
def test_a_bad_refresh_token_is_401(api, user, pair, make_user, login, problem, case):
    other = make_user(Role.OPERATOR, email="other@example.com")
    pair = {**pair, "other_refresh_token": assert_token_pair(login(email=other.email), other)["refresh_token"]}
    token = REFUSED_REFRESHES[case](user, pair)
    outstanding = IssuedRefreshToken.objects.count()

    response = refresh(api, token)

    body = assert_auth_problem(problem, response, "invalid_token")
    assert body["detail"] == "The refresh token is invalid, expired or revoked."
    assert "access_token" not in body
    assert revoked_jtis() == set()
    assert IssuedRefreshToken.objects.count() == outstanding  # no new pair was issued


@pytest.mark.parametrize(
    "payload",
    [{}, {"refresh_token": 123}, {"refresh_token": None}, {"refresh": "x"}, ["x"]],
    ids=["missing", "number", "null", "wrong-name", "array-body"],
)
def test_a_malformed_refresh_body_is_400(api, pair, problem, payload):
    response = api.post(REFRESH, payload, format="json")

    problem(response, 400, None)
    assert revoked_jtis() == set()


def test_a_refresh_with_an_extra_field_is_400_and_does_not_rotate(api, pair, problem):
    response = api.post(REFRESH, {"refresh_token": pair["refresh_token"], "extra": 1}, format="json")

    body = problem(response, 400, "invalid_body")
    assert body["errors"][0]["pointer"] == "/extra"
    assert revoked_jtis() == set()
    assert refresh(api, pair["refresh_token"]).status_code == 200  # still unused


# --- Logout -------------------------------------------------------------------------------------


def test_logout_revokes_the_refresh_token(api, user, pair, problem):
    response = api.post(LOGOUT, {"refresh_token": pair["refresh_token"]}, format="json", **bearer(pair["access_token"]))

    assert response.status_code == 204, response.content
    assert response.content == b""
    assert revoked_jtis() == {claims(pair["refresh_token"])["jti"]}
    assert_auth_problem(problem, refresh(api, pair["refresh_token"]), "invalid_token")
    assert IssuedRefreshToken.objects.filter(user=user).count() == 1  # the refresh issued nothing


def test_logout_twice_is_401_the_second_time(api, pair, problem):
    body, headers = {"refresh_token": pair["refresh_token"]}, bearer(pair["access_token"])
    assert api.post(LOGOUT, body, format="json", **headers).status_code == 204

    response = api.post(LOGOUT, body, format="json", **headers)

    assert_auth_problem(problem, response, "invalid_token")
    assert revoked_jtis() == {claims(pair["refresh_token"])["jti"]}


def test_logout_without_credentials_is_401_and_revokes_nothing(api, user, pair, problem):
    response = api.post(LOGOUT, {"refresh_token": pair["refresh_token"]}, format="json")

    assert_auth_problem(problem, response, "not_authenticated")
    assert revoked_jtis() == set()
    assert_token_pair(refresh(api, pair["refresh_token"]), user)


def test_logout_with_the_refresh_token_as_credential_is_401(api, user, pair, problem):
    response = api.post(
        LOGOUT, {"refresh_token": pair["refresh_token"]}, format="json", **bearer(pair["refresh_token"])
    )

    assert_auth_problem(problem, response, "invalid_token")
    assert revoked_jtis() == set()


def test_logout_with_another_users_refresh_token_is_401_and_that_token_stays_usable(
    api, make_user, user, pair, problem
):
    mallory = make_user(Role.OPERATOR, email="mallory@example.com")

    response = api.post(
        LOGOUT, {"refresh_token": pair["refresh_token"]}, format="json", **bearer(access_token_for(mallory))
    )

    assert_auth_problem(problem, response, "invalid_token")
    assert revoked_jtis() == set()
    assert_token_pair(refresh(api, pair["refresh_token"]), user)


def test_logout_with_an_api_key_is_401_and_revokes_nothing(api, user, pair, make_api_key, problem):
    _api_key, raw_key = make_api_key()

    response = api.post(LOGOUT, {"refresh_token": pair["refresh_token"]}, format="json", HTTP_X_API_KEY=raw_key)

    assert_auth_problem(problem, response, "invalid_token")
    assert revoked_jtis() == set()


@pytest.mark.parametrize(
    "payload", [{}, {"refresh_token": 5}, {"refresh_token": "x", "all": True}], ids=["missing", "number", "extra"]
)
def test_a_malformed_logout_body_is_400(api, pair, problem, payload):
    response = api.post(LOGOUT, payload, format="json", **bearer(pair["access_token"]))

    problem(response, 400, "invalid_body")
    assert revoked_jtis() == set()


def test_a_bad_refresh_token_in_logout_is_401(api, pair, problem):
    response = api.post(LOGOUT, {"refresh_token": "garbage"}, format="json", **bearer(pair["access_token"]))

    assert_auth_problem(problem, response, "invalid_token")
    assert revoked_jtis() == set()
