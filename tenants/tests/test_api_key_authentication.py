"""API-key authentication over real HTTP.

Every header form an integrator may use is exercised against every way a key can be refused,
and the cost of a lookup (one indexed query, a conditional UPDATE at most once a minute) is
counted with the real database.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import access_token_for, assert_auth_problem
from tenants import services
from tenants.models import ApiKey
from tenants.roles import Role

ME = "/api/v1/auth/me"

# The three ways to send a key, plus the schemes in other letter cases.
HEADER_FORMS = {
    "x-api-key": lambda key: {"HTTP_X_API_KEY": key},
    "authorization-apikey": lambda key: {"HTTP_AUTHORIZATION": f"ApiKey {key}"},
    "authorization-bearer": lambda key: {"HTTP_AUTHORIZATION": f"Bearer {key}"},
}
SCHEME_SPELLINGS = {
    "apikey-lower": lambda key: {"HTTP_AUTHORIZATION": f"apikey {key}"},
    "bearer-upper": lambda key: {"HTTP_AUTHORIZATION": f"BEARER {key}"},
}


def split_key(raw_key: str) -> tuple[str, str]:
    """``rfk_<key_id>_<secret>`` → ``(key_id, secret)``; the secret may itself contain ``_``."""
    prefix, key_id, secret = raw_key.split("_", 2)
    assert prefix == "rfk"
    return key_id, secret


def row(api_key: ApiKey) -> dict:
    """Every column of the key's row as stored now, to prove a refusal wrote nothing."""
    fresh = ApiKey.objects.get(pk=api_key.pk)
    return {**model_to_dict(fresh), "created_at": fresh.created_at, "updated_at": fresh.updated_at}


# --- Accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [*HEADER_FORMS, *SCHEME_SPELLINGS])
def test_a_key_is_accepted_in_every_header_form(api, company, make_api_key, form):
    api_key, raw_key = make_api_key(scopes=["sync:write", "sync:read"])
    headers = {**HEADER_FORMS, **SCHEME_SPELLINGS}[form](raw_key)
    before = timezone.now()

    response = api.get(ME, **headers)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "guid": str(api_key.guid),
        "email": None,
        "role": "Integration",
        "company_guid": str(company.guid),
        "auth_type": "api_key",
        "scopes": ["sync:read", "sync:write"],
    }
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None and before <= api_key.last_used_at <= timezone.now()


def test_me_lists_exactly_the_scopes_of_the_key(api, company, make_api_key):
    api_key, raw_key = make_api_key(scopes=["sync:read"])

    response = api.get(ME, HTTP_X_API_KEY=raw_key)

    assert response.status_code == 200
    assert response.json()["scopes"] == ["sync:read"]
    assert response.json()["guid"] == str(api_key.guid)


def test_a_key_acts_inside_its_own_company(api, company, other_company, make_api_key):
    """Two keys of two companies: each /me names its own company, never the other."""
    key_a, raw_a = make_api_key(company=company)
    key_b, raw_b = make_api_key(company=other_company)

    body_a = api.get(ME, HTTP_X_API_KEY=raw_a).json()
    body_b = api.get(ME, HTTP_X_API_KEY=raw_b).json()

    assert (body_a["guid"], body_a["company_guid"]) == (str(key_a.guid), str(company.guid))
    assert (body_b["guid"], body_b["company_guid"]) == (str(key_b.guid), str(other_company.guid))


def test_the_same_key_in_x_api_key_and_authorization_is_accepted(api, make_api_key):
    api_key, raw_key = make_api_key()

    response = api.get(ME, HTTP_X_API_KEY=raw_key, HTTP_AUTHORIZATION=f"ApiKey {raw_key}")

    assert response.status_code == 200
    assert response.json()["guid"] == str(api_key.guid)


# --- Refused --------------------------------------------------------------------------------------


def _malformed(raw_key, api_key):
    key_id, secret = split_key(raw_key)
    return f"rfk_{key_id.upper()}_{secret}"  # key ids are lower-case [a-z0-9]


def _short_key_id(raw_key, api_key):
    key_id, secret = split_key(raw_key)
    return f"rfk_{key_id[:-1]}_{secret}"


def _no_secret(raw_key, api_key):
    key_id, _secret = split_key(raw_key)
    return f"rfk_{key_id}_"


def _unknown_key_id(raw_key, api_key):
    _key_id, secret = split_key(raw_key)
    return f"rfk_{'z' * 12}_{secret}"


def _wrong_secret(raw_key, api_key):
    key_id, _secret = split_key(raw_key)
    return f"rfk_{key_id}_{secrets.token_urlsafe(32)}"


def _secret_of_another_key(raw_key, api_key):
    """Key id of this key with the (valid) secret of another key of the same company."""
    key_id, _secret = split_key(raw_key)
    other = services.create_api_key(company=api_key.company, scopes=["sync:read"]).raw_key
    return f"rfk_{key_id}_{split_key(other)[1]}"


def _revoked(raw_key, api_key):
    services.revoke_api_key(api_key=api_key)
    return raw_key


def _disabled(raw_key, api_key):
    ApiKey.objects.filter(pk=api_key.pk).update(is_active=False)
    return raw_key


def _expired(raw_key, api_key):
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return raw_key


def _company_inactive(raw_key, api_key):
    services.deactivate_company(company=api_key.company)
    return raw_key


REFUSALS = {
    "malformed-uppercase-key-id": (_malformed, "invalid_api_key"),
    "malformed-short-key-id": (_short_key_id, "invalid_api_key"),
    "malformed-empty-secret": (_no_secret, "invalid_api_key"),
    "unknown-key-id": (_unknown_key_id, "invalid_api_key"),
    "wrong-secret": (_wrong_secret, "invalid_api_key"),
    "secret-of-another-key": (_secret_of_another_key, "invalid_api_key"),
    "revoked": (_revoked, "api_key_revoked"),
    "disabled": (_disabled, "api_key_inactive"),
    "expired": (_expired, "api_key_expired"),
    "company-inactive": (_company_inactive, "company_inactive"),
}


@pytest.mark.parametrize("form", HEADER_FORMS)
@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_key_is_refused_in_every_header_form(api, make_api_key, problem, case, form):
    api_key, raw_key = make_api_key()
    build, code = REFUSALS[case]
    presented = build(raw_key, api_key)
    stored = row(api_key)

    response = api.get(ME, **HEADER_FORMS[form](presented))

    body = assert_auth_problem(problem, response, code)
    assert presented not in response.content.decode()
    assert split_key(raw_key)[1] not in response.content.decode()
    assert row(api_key) == stored  # a refusal writes nothing, last_used_at included
    assert stored["last_used_at"] is None
    assert set(body) == {"type", "title", "status", "detail", "code", "request_id"}


def test_a_key_that_expires_in_the_future_is_accepted(api, make_api_key):
    api_key, raw_key = make_api_key(expires_at=timezone.now() + timedelta(minutes=5))

    response = api.get(ME, HTTP_X_API_KEY=raw_key)

    assert response.status_code == 200
    assert response.json()["guid"] == str(api_key.guid)


@pytest.mark.parametrize("state", ["revoked", "disabled", "expired", "company-inactive"])
def test_the_state_of_a_key_is_not_revealed_without_its_secret(api, make_api_key, problem, state):
    """A wrong secret is ``invalid_api_key`` whatever the key's state: no probing by key id."""
    api_key, raw_key = make_api_key()
    REFUSALS[state][0](raw_key, api_key)

    response = api.get(ME, HTTP_X_API_KEY=_wrong_secret(raw_key, api_key))

    assert_auth_problem(problem, response, "invalid_api_key")


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_API_KEY": "not-a-key"},
        {"HTTP_X_API_KEY": ""},
        {"HTTP_X_API_KEY": "   "},
        {"HTTP_AUTHORIZATION": "ApiKey not-a-key"},
        {"HTTP_AUTHORIZATION": "ApiKey"},
        {"HTTP_AUTHORIZATION": "ApiKey xyz_abcdefghijkl_secret"},
    ],
    ids=["x-api-key-garbage", "x-api-key-empty", "x-api-key-blank", "apikey-garbage", "apikey-empty", "wrong-prefix"],
)
def test_a_presented_key_that_is_not_a_key_at_all_is_refused(api, make_api_key, problem, headers):
    api_key, _raw_key = make_api_key()

    response = api.get(ME, **headers)

    assert_auth_problem(problem, response, "invalid_api_key")
    assert row(api_key)["last_used_at"] is None


def test_a_bearer_value_not_starting_with_rfk_is_read_as_a_jwt(api, make_api_key, problem):
    response = api.get(ME, HTTP_AUTHORIZATION="Bearer not-a-key")

    assert_auth_problem(problem, response, "invalid_token")


def test_no_credential_is_401_not_authenticated(api, problem):
    response = api.get(ME)

    body = assert_auth_problem(problem, response, "not_authenticated")
    assert body["detail"]


def test_an_unknown_authorization_scheme_is_401(api, make_api_key, problem):
    _api_key, raw_key = make_api_key()

    response = api.get(ME, HTTP_AUTHORIZATION=f"Basic {raw_key}")

    assert_auth_problem(problem, response, "not_authenticated")


# --- A presented bad credential is never skipped -----------------------------------------------


@pytest.mark.parametrize("case", ["malformed-uppercase-key-id", "wrong-secret", "revoked", "expired"])
def test_a_bad_key_with_a_good_jwt_is_refused(api, make_user, make_api_key, problem, case):
    user = make_user(Role.COMPANY_ADMIN)
    api_key, raw_key = make_api_key()
    presented = REFUSALS[case][0](raw_key, api_key)
    token = access_token_for(user)
    assert api.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200  # the JWT is good

    response = api.get(ME, HTTP_X_API_KEY=presented, HTTP_AUTHORIZATION=f"Bearer {token}")

    body = assert_auth_problem(problem, response, None)
    assert body["code"] in {"conflicting_credentials", REFUSALS[case][1]}
    assert row(api_key)["last_used_at"] is None


def test_a_good_key_with_a_jwt_names_two_credentials_and_is_refused(api, make_user, make_api_key, problem):
    user = make_user(Role.COMPANY_ADMIN)
    api_key, raw_key = make_api_key()

    response = api.get(ME, HTTP_X_API_KEY=raw_key, HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")

    assert_auth_problem(problem, response, "conflicting_credentials")
    assert row(api_key)["last_used_at"] is None


@pytest.mark.parametrize("authorization_form", ["ApiKey", "Bearer"])
def test_two_different_keys_in_x_api_key_and_authorization_are_refused(api, make_api_key, problem, authorization_form):
    key_a, raw_a = make_api_key()
    key_b, raw_b = make_api_key()

    response = api.get(ME, HTTP_X_API_KEY=raw_a, HTTP_AUTHORIZATION=f"{authorization_form} {raw_b}")

    assert_auth_problem(problem, response, "conflicting_credentials")
    assert row(key_a)["last_used_at"] is None
    assert row(key_b)["last_used_at"] is None


# --- Cost of a lookup ----------------------------------------------------------------------------


def test_key_id_has_a_unique_index(db):
    constraints = connection.introspection.get_constraints(connection.cursor(), ApiKey._meta.db_table)
    unique_on_key_id = [c for c in constraints.values() if c["columns"] == ["key_id"] and c["unique"]]
    assert unique_on_key_id, constraints


def _queries_naming(captured, verb: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(verb)]


def test_a_fresh_key_costs_one_select_and_no_update(api, make_api_key, django_assert_num_queries):
    api_key, raw_key = make_api_key()
    recent = timezone.now() - timedelta(seconds=5)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=recent)

    with django_assert_num_queries(1) as captured:
        response = api.get(ME, HTTP_X_API_KEY=raw_key)

    assert response.status_code == 200
    (select,) = _queries_naming(captured, "SELECT")
    assert "key_id" in select and "tenants_company" in select  # the key and its company, one query
    assert _queries_naming(captured, "UPDATE") == []
    assert row(api_key)["last_used_at"] == recent


def test_first_use_costs_one_select_and_one_conditional_update(api, make_api_key, django_assert_num_queries):
    api_key, raw_key = make_api_key()

    with django_assert_num_queries(2) as captured:
        response = api.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert response.status_code == 200
    assert len(_queries_naming(captured, "SELECT")) == 1
    (update,) = _queries_naming(captured, "UPDATE")
    assert "tenants_apikey" in update and "last_used_at" in update
    assert row(api_key)["last_used_at"] is not None


def test_a_refused_key_costs_one_select(api, make_api_key, django_assert_num_queries, problem):
    api_key, raw_key = make_api_key()

    with django_assert_num_queries(1):
        response = api.get(ME, HTTP_X_API_KEY=_wrong_secret(raw_key, api_key))

    assert_auth_problem(problem, response, "invalid_api_key")


# --- last_used_at --------------------------------------------------------------------------------


def test_last_used_at_is_written_on_first_use(api, make_api_key):
    api_key, raw_key = make_api_key()
    assert row(api_key)["last_used_at"] is None
    before = timezone.now()

    assert api.get(ME, HTTP_X_API_KEY=raw_key).status_code == 200

    used = row(api_key)["last_used_at"]
    assert used is not None and before <= used <= timezone.now()


def test_last_used_at_is_not_rewritten_within_a_minute(api, make_api_key):
    api_key, raw_key = make_api_key()
    thirty_seconds_ago = timezone.now() - timedelta(seconds=30)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=thirty_seconds_ago)
    stored = row(api_key)

    assert api.get(ME, HTTP_X_API_KEY=raw_key).status_code == 200
    assert api.get(ME, HTTP_AUTHORIZATION=f"ApiKey {raw_key}").status_code == 200

    assert row(api_key) == stored
    assert stored["last_used_at"] == thirty_seconds_ago


def test_last_used_at_is_rewritten_when_older_than_a_minute(api, make_api_key):
    api_key, raw_key = make_api_key()
    long_ago = timezone.now() - timedelta(seconds=61)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=long_ago)
    before = timezone.now()

    assert api.get(ME, HTTP_X_API_KEY=raw_key).status_code == 200

    used = row(api_key)["last_used_at"]
    assert before <= used <= timezone.now()


# --- The secret stays secret ---------------------------------------------------------------------


def _logged_text(caplog) -> str:
    """Everything the log records carry: messages, arguments and extra fields."""
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.extend(repr(value) for value in vars(record).values())
    return "\n".join(parts)


def test_the_key_never_appears_in_logs(api, make_api_key, caplog):
    api_key, raw_key = make_api_key()
    revoked_key, revoked_raw = make_api_key()
    services.revoke_api_key(api_key=revoked_key)
    wrong = _wrong_secret(raw_key, api_key)
    caplog.set_level(logging.DEBUG)

    ok = api.get(ME, HTTP_X_API_KEY=raw_key)
    refused_wrong = api.get(ME, HTTP_AUTHORIZATION=f"Bearer {wrong}")
    refused_revoked = api.get(ME, HTTP_AUTHORIZATION=f"ApiKey {revoked_raw}")

    assert (ok.status_code, refused_wrong.status_code, refused_revoked.status_code) == (200, 401, 401)
    access_lines = [r.getMessage() for r in caplog.records if r.name == "ractory.access"]
    assert access_lines == [f"GET {ME} 200", f"GET {ME} 401", f"GET {ME} 401"]  # the logs were captured
    logged = _logged_text(caplog)
    for raw in (raw_key, wrong, revoked_raw):
        assert raw not in logged
        assert split_key(raw)[1] not in logged
    assert api_key.secret_hash not in logged


def test_the_key_appears_only_in_the_creation_response(api, as_user, make_user, problem):
    admin_client = as_user(make_user(Role.COMPANY_ADMIN))

    created = admin_client.post("/api/v1/api-keys", {"scopes": ["sync:read"]}, format="json")

    assert created.status_code == 201, created.content
    raw_key = created.json()["key"]
    _key_id, secret = split_key(raw_key)
    api_key = ApiKey.objects.get(guid=created.json()["guid"])
    assert created.json()["key_prefix"] == api_key.prefix
    key_client = APIClient()
    responses = [
        admin_client.get("/api/v1/api-keys"),
        admin_client.get(f"/api/v1/api-keys/{api_key.guid}"),
        key_client.get(ME, HTTP_X_API_KEY=raw_key),
        key_client.get(ME, HTTP_X_API_KEY=f"{raw_key}x"),
        key_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw_key[:-1]}"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 401]
    for response in responses:
        text = response.content.decode() + "\n".join(f"{k}: {v}" for k, v in response.items())
        assert secret not in text and secret[:-1] not in text
        assert api_key.secret_hash not in text
    assert ApiKey.objects.filter(secret_hash__contains=secret).count() == 0  # only the hash is stored
