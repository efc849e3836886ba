"""Refresh tokens are never stored readable, and every credential change revokes them.

The storage tests look at the database the way someone holding a backup would: every column of
every table, whatever model it belongs to. The revocation tests go through each write path that
changes a password or deactivates a user or company (API, Django admin, management command, the
model API itself) and then try every refresh token the user held; for deactivations they also
reactivate first, so a token that was merely refused while the user was inactive would show.
"""

from __future__ import annotations

import re
from unittest import mock

import jwt
import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from conftest import PASSWORD, access_token_for
from tenants import services
from tenants.caller import Caller
from tenants.models import Company, IssuedRefreshToken, User
from tenants.roles import Role

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"
NEW_PASSWORD = "a-brand-new-horse-staple"
JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")


def login(api, user: User, password: str = PASSWORD) -> dict:
    response = api.post(LOGIN, {"email": user.email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(api, token: str):
    return api.post(REFRESH, {"refresh_token": token}, format="json")


def every_stored_text() -> list[str]:
    """Every value of every column of every table, as text: what a database dump holds."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [column.name for column in connection.introspection.get_table_description(cursor, table)]
            casts = ", ".join(f"CAST({connection.ops.quote_name(name)} AS TEXT)" for name in columns)
            cursor.execute(f"SELECT {casts} FROM {connection.ops.quote_name(table)}")
            values.extend(str(value) for row in cursor.fetchall() for value in row if value is not None)
    return values


# --- Storage ------------------------------------------------------------------------------------


def test_the_database_holds_no_part_of_a_refresh_token(api, make_user):
    user = make_user(Role.OPERATOR)
    first = login(api, user)
    rotated = refresh(api, first["refresh_token"])
    assert rotated.status_code == 200, rotated.content

    stored = every_stored_text()

    for token in (first["refresh_token"], rotated.json()["refresh_token"]):
        header, payload, signature = token.split(".")
        assert not [value for value in stored if token in value or signature in value or payload in value]
    assert IssuedRefreshToken.objects.filter(user=user).count() == 2


def test_nothing_from_a_database_dump_refreshes(api, make_user, problem):
    """Whatever looks like a token in a dump is refused; the rows name a token but cannot sign one."""
    user = make_user(Role.OPERATOR)
    pair = login(api, user)

    candidates = [match for value in every_stored_text() for match in JWT_SHAPE.findall(value)]
    for candidate in candidates:
        problem(refresh(api, candidate), 401, "invalid_token")
    assert candidates == []
    # Rebuilt from the row: the claims are right, but the signing key is not in the database.
    row = IssuedRefreshToken.objects.get(user=user)
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    assert (claims["jti"], claims["exp"]) == (row.jti, int(row.expires_at.timestamp()))
    forged = jwt.encode(claims, "a-key-guessed-by-whoever-holds-the-dump-000000", algorithm="HS256")
    problem(refresh(api, forged), 401, "invalid_token")
    assert IssuedRefreshToken.objects.get(user=user).revoked_at is None  # the forgery spent nothing
    assert refresh(api, pair["refresh_token"]).status_code == 200


def test_a_refresh_token_unknown_to_the_database_is_refused(api, make_user, problem):
    """Correctly signed but never issued (or purged): only tokens the table knows refresh."""
    user = make_user(Role.OPERATOR)
    pair = login(api, user)
    IssuedRefreshToken.objects.filter(user=user).delete()  # what purge_expired will do to spent rows

    problem(refresh(api, pair["refresh_token"]), 401, "invalid_token")
    problem(refresh(api, str(RefreshToken.for_user(user))), 401, "invalid_token")
    assert IssuedRefreshToken.objects.count() == 0


# --- Revocation ---------------------------------------------------------------------------------


@pytest.fixture
def victim(make_user):
    return make_user(Role.OPERATOR, email="victim@example.com")


@pytest.fixture
def bystander(make_user, company):
    """Same company, untouched by password changes and user deactivation."""
    return make_user(Role.OPERATOR, email="bystander@example.com", company=company)


@pytest.fixture
def stranger(make_user, other_company):
    """Another company: untouched by everything here."""
    return make_user(Role.OPERATOR, email="stranger@example.com", company=other_company)


def assert_all_revoked(api, problem, user: User, tokens: list[str]) -> None:
    for token in tokens:
        problem(refresh(api, token), 401, "invalid_token")
    assert IssuedRefreshToken.objects.filter(user=user).count() == len(tokens)  # no new pair issued
    assert not IssuedRefreshToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def assert_still_refreshes(api, user: User, token: str) -> None:
    response = refresh(api, token)
    assert response.status_code == 200, response.content
    assert response.json()["role"] == user.role


def _self_password_api(api, admin_client_for, make_user, victim, company):
    client = Client()
    response = client.patch(
        f"/api/v1/users/{victim.guid}",
        data={"password": NEW_PASSWORD},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(victim)}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["guid"] == str(victim.guid)


def _admin_password_api(api, admin_client_for, make_user, victim, company):
    manager = make_user(Role.COMPANY_ADMIN, email="boss@example.com")
    client = Client()
    response = client.patch(
        f"/api/v1/users/{victim.guid}",
        data={"password": NEW_PASSWORD},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(manager)}",
    )
    assert response.status_code == 200, response.content


def _admin_password_django_admin(api, admin_client_for, make_user, victim, company):
    client = admin_client_for(make_user(Role.SYSTEM_ADMIN, email="root@example.com"))
    response = client.post(
        f"/admin/tenants/user/{victim.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:2000]


def _company_admin_password_django_admin(api, admin_client_for, make_user, victim, company):
    client = admin_client_for(make_user(Role.COMPANY_ADMIN, email="boss@example.com"))
    response = client.post(
        f"/admin/tenants/user/{victim.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:2000]


def _changepassword_command(api, admin_client_for, make_user, victim, company):
    with mock.patch("getpass.getpass", return_value=NEW_PASSWORD):
        call_command("changepassword", victim.email, stdout=mock.MagicMock())


def _set_password_and_save(api, admin_client_for, make_user, victim, company):
    user = User.objects.get(pk=victim.pk)
    user.set_password(NEW_PASSWORD)
    user.save()


def _set_unusable_password(api, admin_client_for, make_user, victim, company):
    user = User.objects.get(pk=victim.pk)
    user.set_unusable_password()
    user.save()


PASSWORD_CHANGES = {
    "self-api": _self_password_api,
    "admin-api": _admin_password_api,
    "system-admin-django-admin": _admin_password_django_admin,
    "company-admin-django-admin": _company_admin_password_django_admin,
    "changepassword-command": _changepassword_command,
    "set-password-and-save": _set_password_and_save,
    "set-unusable-password": _set_unusable_password,
}


@pytest.mark.parametrize("case", PASSWORD_CHANGES)
def test_a_password_change_revokes_every_refresh_token_of_the_user(
    api, admin_client_for, make_user, company, victim, bystander, stranger, problem, case
):
    tokens = [login(api, victim)["refresh_token"] for _ in range(2)]
    others = [login(api, bystander)["refresh_token"], login(api, stranger)["refresh_token"]]

    PASSWORD_CHANGES[case](api, admin_client_for, make_user, victim, company)

    victim.refresh_from_db()
    assert victim.check_password(NEW_PASSWORD) or not victim.has_usable_password()
    assert_all_revoked(api, problem, victim, tokens)
    assert_still_refreshes(api, bystander, others[0])
    assert_still_refreshes(api, stranger, others[1])
    if victim.has_usable_password():
        assert_still_refreshes(api, victim, login(api, victim, NEW_PASSWORD)["refresh_token"])


def test_an_edit_without_a_password_revokes_nothing(api, make_user, victim):
    manager = make_user(Role.COMPANY_ADMIN, email="boss@example.com")
    token = login(api, victim)["refresh_token"]
    client = Client()

    response = client.patch(
        f"/api/v1/users/{victim.guid}",
        data={"name": "Renamed", "role": Role.PROJECT_MANAGER},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(manager)}",
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed"
    assert not IssuedRefreshToken.objects.filter(user=victim, revoked_at__isnull=False).exists()
    victim.refresh_from_db()
    assert_still_refreshes(api, victim, token)


def test_a_weak_new_password_is_422_and_revokes_nothing(api, victim, problem):
    token = login(api, victim)["refresh_token"]
    client = Client()

    response = client.patch(
        f"/api/v1/users/{victim.guid}",
        data={"password": "123"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(victim)}",
    )

    problem(response, 422, "validation_error")
    assert not IssuedRefreshToken.objects.filter(user=victim, revoked_at__isnull=False).exists()
    assert_still_refreshes(api, victim, token)


class RenamedMD5PasswordHasher(MD5PasswordHasher):
    """A "new" preferred hasher, so that Django rehashes the stored MD5 password at login."""

    algorithm = "md5-renamed"


def test_a_password_hash_upgrade_at_login_revokes_nothing(api, victim, settings):
    """Django rehashes a password on login when the hasher changed; that is no password change."""
    token = login(api, victim)["refresh_token"]
    settings.PASSWORD_HASHERS = [
        f"{__name__}.RenamedMD5PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]

    second = login(api, victim)

    assert User.objects.get(pk=victim.pk).password.startswith("md5-renamed$")  # the hash was upgraded
    assert not IssuedRefreshToken.objects.filter(user=victim, revoked_at__isnull=False).exists()
    assert_still_refreshes(api, victim, token)
    assert_still_refreshes(api, victim, second["refresh_token"])


def _user_delete_api(make_user, admin_client_for, victim, company):
    manager = make_user(Role.COMPANY_ADMIN, email="boss@example.com")
    response = Client().delete(f"/api/v1/users/{victim.guid}", HTTP_AUTHORIZATION=f"Bearer {access_token_for(manager)}")
    assert response.status_code == 204, response.content


def _user_patch_inactive_api(make_user, admin_client_for, victim, company):
    manager = make_user(Role.COMPANY_ADMIN, email="boss@example.com")
    response = Client().patch(
        f"/api/v1/users/{victim.guid}",
        data={"is_active": False},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(manager)}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False


def _user_inactive_django_admin(make_user, admin_client_for, victim, company):
    client = admin_client_for(make_user(Role.SYSTEM_ADMIN, email="root@example.com"))
    response = client.post(
        f"/admin/tenants/user/{victim.pk}/change/",
        {
            "email": victim.email,
            "company": victim.company_id,
            "role": victim.role,
            "name": "",
            "surname": "",
            # is_active left out: the checkbox is unticked
        },
    )
    assert response.status_code == 302, response.content[:3000]


def _user_service(make_user, admin_client_for, victim, company):
    root = make_user(Role.SYSTEM_ADMIN, email="root@example.com")
    services.deactivate_user(user=victim, by=Caller.for_user(root))


USER_DEACTIVATIONS = {
    "delete-api": _user_delete_api,
    "patch-inactive-api": _user_patch_inactive_api,
    "django-admin": _user_inactive_django_admin,
    "service": _user_service,
}


@pytest.mark.parametrize("case", USER_DEACTIVATIONS)
def test_deactivating_a_user_revokes_its_refresh_tokens_for_good(
    api, admin_client_for, make_user, company, victim, bystander, stranger, problem, case
):
    tokens = [login(api, victim)["refresh_token"] for _ in range(2)]
    others = [login(api, bystander)["refresh_token"], login(api, stranger)["refresh_token"]]

    USER_DEACTIVATIONS[case](make_user, admin_client_for, victim, company)

    assert User.objects.get(pk=victim.pk).is_active is False
    User.objects.filter(pk=victim.pk).update(is_active=True, deleted_at=None)  # reactivated: still revoked
    assert_all_revoked(api, problem, victim, tokens)
    assert_still_refreshes(api, bystander, others[0])
    assert_still_refreshes(api, stranger, others[1])


def _company_delete_api(make_user, admin_client_for, company, other_company):
    root = make_user(Role.SYSTEM_ADMIN, email="root@example.com", company=other_company)
    response = Client().delete(
        f"/api/v1/companies/{company.guid}", HTTP_AUTHORIZATION=f"Bearer {access_token_for(root)}"
    )
    assert response.status_code == 204, response.content


def _company_patch_inactive_api(make_user, admin_client_for, company, other_company):
    root = make_user(Role.SYSTEM_ADMIN, email="root@example.com", company=other_company)
    response = Client().patch(
        f"/api/v1/companies/{company.guid}",
        data={"is_active": False},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(root)}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False


def _company_inactive_django_admin(make_user, admin_client_for, company, other_company):
    client = admin_client_for(make_user(Role.SYSTEM_ADMIN, email="root@example.com", company=other_company))
    response = client.post(
        f"/admin/tenants/company/{company.pk}/change/",
        {"name": company.name, "short_name": "", "logo_path": "", "company_index": ""},
    )
    assert response.status_code == 302, response.content[:3000]


def _company_service(make_user, admin_client_for, company, other_company):
    services.deactivate_company(company=company)


COMPANY_DEACTIVATIONS = {
    "delete-api": _company_delete_api,
    "patch-inactive-api": _company_patch_inactive_api,
    "django-admin": _company_inactive_django_admin,
    "service": _company_service,
}


@pytest.mark.parametrize("case", COMPANY_DEACTIVATIONS)
def test_deactivating_a_company_revokes_the_refresh_tokens_of_all_its_users(
    api, admin_client_for, make_user, company, other_company, victim, bystander, stranger, problem, case
):
    victims = {
        victim: [login(api, victim)["refresh_token"] for _ in range(2)],
        bystander: [login(api, bystander)["refresh_token"]],
    }
    outside = login(api, stranger)["refresh_token"]

    COMPANY_DEACTIVATIONS[case](make_user, admin_client_for, company, other_company)

    assert Company.objects.get(pk=company.pk).is_active is False
    Company.objects.filter(pk=company.pk).update(is_active=True)  # reactivated: still revoked
    for user, tokens in victims.items():
        assert_all_revoked(api, problem, user, tokens)
    assert_still_refreshes(api, stranger, outside)


def test_an_access_token_dies_with_its_user_at_once(api, victim, make_user, problem):
    """Access tokens are not revoked one by one: every request re-reads the user."""
    pair = login(api, victim)
    assert api.get(ME, HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}").status_code == 200

    services.deactivate_user(user=victim, by=Caller.for_user(make_user(Role.SYSTEM_ADMIN, email="root@example.com")))

    problem(api.get(ME, HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}"), 401, "user_inactive")
