"""``Cache-Control: no-store`` on every response that carries a secret, and only there.

Secrets: the token pair of login and refresh, the raw key of ``POST /api/v1/api-keys``. Ordinary
answers (who-am-I, key lists, logout's empty 204, errors) carry none and stay cacheable by the
client's rules.
"""

from __future__ import annotations

import pytest

from conftest import PASSWORD, access_token_for
from tenants.models import ApiKey
from tenants.models.api_key import secret_hash
from tenants.roles import Role

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"


def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store"


def assert_cacheable(response) -> None:
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.fixture
def admin(make_user):
    return make_user(Role.COMPANY_ADMIN, email="ada@example.com")


@pytest.fixture
def pair(api, admin) -> dict:
    response = api.post(LOGIN, {"email": admin.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert_no_store(response)
    return response.json()


def test_login_is_not_stored_by_caches(api, admin):
    response = api.post(LOGIN, {"email": admin.email, "password": PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    assert_no_store(response)
    assert set(response.json()) == {"access_token", "refresh_token", "token_type", "expires_in", "role"}


def test_refresh_is_not_stored_by_caches(api, pair):
    response = api.post(REFRESH, {"refresh_token": pair["refresh_token"]}, format="json")

    assert response.status_code == 200, response.content
    assert_no_store(response)
    assert response.json()["refresh_token"] != pair["refresh_token"]


def test_a_new_api_key_is_not_stored_by_caches(as_user, admin, company):
    response = as_user(admin).post("/api/v1/api-keys", {"scopes": ["sync:read"]}, format="json")

    assert response.status_code == 201, response.content
    assert_no_store(response)
    body = response.json()
    api_key = ApiKey.objects.get(guid=body["guid"], company=company)
    assert api_key.secret_hash == secret_hash(body["key"].split("_", 2)[2])


def test_answers_without_a_secret_stay_cacheable(api, as_user, admin, pair, make_api_key, problem):
    api_key, _raw = make_api_key()
    client = as_user(admin)

    me = api.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
    keys = client.get("/api/v1/api-keys")
    key = client.get(f"/api/v1/api-keys/{api_key.guid}")
    wrong = api.post(LOGIN, {"email": admin.email, "password": "wrong"}, format="json")
    logout = api.post(
        "/api/v1/auth/logout",
        {"refresh_token": pair["refresh_token"]},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(admin)}",
    )

    assert me.status_code == 200 and me.json()["email"] == admin.email
    assert keys.status_code == 200 and [row["guid"] for row in keys.json()] == [str(api_key.guid)]
    assert key.status_code == 200 and "key" not in key.json()
    problem(wrong, 401, "invalid_credentials")
    assert logout.status_code == 204
    for response in (me, keys, key, wrong, logout):
        assert_cacheable(response)
