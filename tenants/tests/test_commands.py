"""The tenants management commands: thin wrappers over the services.

Each prints its result alone on the last stdout line; a failure is a one-line ``CommandError``
and writes nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import PASSWORD
from tenants.models import ApiKey, Company, User
from tenants.roles import Role

RAW_KEY = re.compile(r"^rfk_(?P<key_id>[a-z0-9]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
RANDOM_GUID = "3c9d2a71-6b8e-4f05-a1d3-9e7c5b4a2f10"


def run(name: str, *args) -> tuple[list[str], str]:
    """Run a command; returns (stdout lines, stderr)."""
    stdout, stderr = StringIO(), StringIO()
    call_command(name, *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue().splitlines(), stderr.getvalue()


def fails(name: str, *args) -> str:
    """Run a command that must fail; returns its one-line message."""
    stdout = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(name, *args, stdout=stdout, stderr=StringIO())
    message = str(raised.value)
    assert message and "\n" not in message, message
    assert "Traceback" not in message
    assert stdout.getvalue() == ""
    return message


def table(lines: list[str]) -> list[dict[str, str]]:
    """The rows of a printed table, read by the header's column positions."""
    header = lines[0]
    names = ["PREFIX", "COMPANY", "DESCRIPTION", "SCOPES", "ACTIVE", "LAST USED"]
    starts = [header.index(name) for name in names]
    assert starts == sorted(starts), header
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    return [
        {name: line[start:end].strip() for name, (start, end) in zip(names, bounds, strict=True)} for line in lines[1:]
    ]


def counts() -> tuple[int, int, int]:
    return Company.objects.count(), User.objects.count(), ApiKey.objects.count()


# --- create_company ---------------------------------------------------------------------------


def test_create_company_prints_its_guid_last(db):
    lines, stderr = run("create_company", "--name", "Baltic Timber", "--short-name", "BT")

    guid = uuid.UUID(lines[-1])
    assert lines[-1] == str(guid)
    company = Company.objects.get(guid=guid)
    assert (company.name, company.short_name, company.is_active) == ("Baltic Timber", "BT", True)
    assert "Baltic Timber" in stderr


def test_create_company_with_a_given_guid(db):
    lines, _ = run("create_company", "--name", "Given", "--guid", RANDOM_GUID.upper().replace("-", ""))

    assert lines[-1] == RANDOM_GUID
    assert Company.objects.get(guid=RANDOM_GUID).name == "Given"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(["--name", "acme WINDOWS"], "exists already", id="name-taken-any-case"),
        pytest.param(["--name", "New", "--guid", "not-a-guid"], "not a valid UUID", id="bad-guid"),
        pytest.param(["--name", "New", "--guid", "existing"], "exists already", id="guid-taken"),
        pytest.param(["--name", "   "], "blank", id="blank-name"),
        pytest.param(["--short-name", "X"], "--name", id="name-missing"),
    ],
)
def test_create_company_failures_are_one_line_and_write_nothing(args, words, company):
    args = [str(company.guid) if arg == "existing" else arg for arg in args]
    before = counts()

    message = fails("create_company", *args)

    assert words in message
    assert counts() == before


# --- create_user ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", Role.values)
def test_create_user_prints_its_guid_last(role, company, api):
    lines, stderr = run(
        "create_user",
        *("--email", "Ops.Lead@Example.com", "--password", PASSWORD, "--role", role),
        *("--company", str(company.guid), "--name", "Ada", "--surname", "Byron"),
    )

    user = User.objects.get(guid=uuid.UUID(lines[-1]))
    assert lines[-1] == str(user.guid)
    assert (user.email, user.role, user.company, user.name, user.surname) == (
        "ops.lead@example.com",
        role,
        company,
        "Ada",
        "Byron",
    )
    assert user.check_password(PASSWORD)
    assert PASSWORD not in stderr and PASSWORD not in "\n".join(lines)
    login = api.post("/api/v1/auth/login", {"email": "ops.lead@example.com", "password": PASSWORD}, format="json")
    assert login.status_code == 200
    assert login.json()["role"] == role


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        pytest.param({"--company": RANDOM_GUID}, f"No company {RANDOM_GUID}", id="unknown-company"),
        pytest.param({"--company": "acme"}, "not a valid UUID", id="bad-company-guid"),
        pytest.param({"--role": "Boss"}, "Unknown role 'Boss'", id="unknown-role"),
        pytest.param({"--role": "operator"}, "Unknown role", id="role-wrong-case"),
        pytest.param({"--password": "short"}, "too weak", id="weak-password"),
        pytest.param({"--password": "12345678"}, "too weak", id="numeric-password"),
        pytest.param({"--email": "TAKEN@example.com"}, "is taken", id="email-taken"),
    ],
)
def test_create_user_failures_are_one_line_and_write_nothing(overrides, words, company, make_user):
    make_user(Role.OPERATOR, email="taken@example.com")
    arguments = {"--email": "fresh@example.com", "--password": PASSWORD, "--role": "Operator"}
    arguments["--company"] = str(company.guid)
    arguments.update(overrides)
    before = counts()

    message = fails("create_user", *[part for pair in arguments.items() for part in pair])

    assert words in message
    assert counts() == before
    assert not User.objects.filter(email="fresh@example.com").exists()


# --- create_api_key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "stored"),
    [
        pytest.param("sync:read,sync:write", ["sync:read", "sync:write"], id="both"),
        pytest.param("sync:write, sync:read, sync:write", ["sync:read", "sync:write"], id="spaces-duplicates"),
        pytest.param("sync:read", ["sync:read"], id="read"),
    ],
)
def test_create_api_key_prints_the_raw_key_last_and_it_authenticates(scopes, stored, company, as_key):
    lines, stderr = run("create_api_key", "--company", str(company.guid), "--scopes", scopes, "--description", "ERP")

    match = RAW_KEY.match(lines[-1])
    assert match, lines
    key = ApiKey.objects.get(key_id=match["key_id"])
    assert (key.company, key.scopes, key.description, key.expires_at) == (company, stored, "ERP", None)
    assert key.secret_hash == hashlib.sha256(match["secret"].encode()).hexdigest()
    assert match["secret"] not in stderr
    assert key.prefix in stderr
    me = as_key(lines[-1]).get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["guid"] == str(key.guid)
    assert me.json()["scopes"] == stored


@pytest.mark.parametrize(
    ("expires_at", "stored"),
    [
        pytest.param("2099-03-04T05:06:07Z", datetime(2099, 3, 4, 5, 6, 7, tzinfo=UTC), id="utc"),
        pytest.param("2099-03-04T07:06:07+02:00", datetime(2099, 3, 4, 5, 6, 7, tzinfo=UTC), id="offset"),
        pytest.param("2099-03-04T05:06:07", datetime(2099, 3, 4, 5, 6, 7, tzinfo=UTC), id="no-zone-is-utc"),
        pytest.param("2099-03-04 05:06", datetime(2099, 3, 4, 5, 6, tzinfo=UTC), id="space-no-seconds"),
        pytest.param("2099-03-04T21:05:07+15:59", datetime(2099, 3, 4, 5, 6, 7, tzinfo=UTC), id="largest-offset"),
    ],
)
def test_create_api_key_with_an_expiry(expires_at, stored, company):
    lines, _ = run(
        "create_api_key", "--company", str(company.guid), "--scopes", "sync:read", "--expires-at", expires_at
    )

    key = ApiKey.objects.get(key_id=RAW_KEY.match(lines[-1])["key_id"])
    assert key.expires_at == stored


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        pytest.param({"--scopes": "sync:read,sync:admin"}, "Unknown scope 'sync:admin'", id="bad-scope"),
        pytest.param({"--scopes": " , "}, "at least one scope", id="no-scope"),
        pytest.param({"--company": RANDOM_GUID}, f"No company {RANDOM_GUID}", id="unknown-company"),
        pytest.param({"--company": "12"}, "not a valid UUID", id="bad-company-guid"),
        pytest.param({"--expires-at": "tomorrow"}, "not an ISO 8601 timestamp", id="expiry-text"),
        pytest.param({"--expires-at": "2099-13-45T00:00:00Z"}, "not an ISO 8601 timestamp", id="expiry-impossible"),
        pytest.param({"--expires-at": "2000-01-01T00:00:00Z"}, "Must be in the future", id="expiry-past"),
        # offsets Python reads but PostgreSQL cannot store (beyond ±15:59): refused, never a crash
        pytest.param({"--expires-at": "2099-01-01T00:00:00+16:00"}, "within ±15:59", id="expiry-offset-16"),
        pytest.param({"--expires-at": "2099-01-01T00:00:00-16:00"}, "within ±15:59", id="expiry-offset-minus-16"),
        pytest.param({"--expires-at": "2099-01-01T00:00:00+23:59"}, "within ±15:59", id="expiry-offset-23-59"),
    ],
)
def test_create_api_key_failures_are_one_line_and_write_nothing(overrides, words, company):
    arguments = {"--company": str(company.guid), "--scopes": "sync:read"}
    arguments.update(overrides)
    before = counts()

    message = fails("create_api_key", *[part for pair in arguments.items() for part in pair])

    assert words in message
    assert counts() == before


# --- list_api_keys ----------------------------------------------------------------------------


def test_list_api_keys_shows_a_table_without_secrets(make_api_key, company, other_company):
    used, used_raw = make_api_key(["sync:write", "sync:read"], description="ERP sync")
    used.last_used_at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    used.save()
    disabled, disabled_raw = make_api_key(["sync:read"], description="paused")
    disabled.is_active = False
    disabled.save()
    revoked, revoked_raw = make_api_key(["sync:read"], company=other_company)
    call_command("revoke_api_key", revoked.prefix, stdout=StringIO())

    lines, _ = run("list_api_keys")

    assert table(lines) == [
        {
            "PREFIX": used.prefix,
            "COMPANY": "Acme Windows",
            "DESCRIPTION": "ERP sync",
            "SCOPES": "sync:read,sync:write",
            "ACTIVE": "yes",
            "LAST USED": "2026-11-22T10:00:00Z",
        },
        {
            "PREFIX": disabled.prefix,
            "COMPANY": "Acme Windows",
            "DESCRIPTION": "paused",
            "SCOPES": "sync:read",
            "ACTIVE": "no",
            "LAST USED": "never",
        },
        {
            "PREFIX": revoked.prefix,
            "COMPANY": "Other Doors",
            "DESCRIPTION": "",
            "SCOPES": "sync:read",
            "ACTIVE": "revoked",
            "LAST USED": "never",
        },
    ]
    output = "\n".join(lines)
    for key, raw in ((used, used_raw), (disabled, disabled_raw), (revoked, revoked_raw)):
        assert raw.split("_", 2)[2] not in output
        assert key.secret_hash not in output


def test_list_api_keys_of_one_company(make_api_key, other_company):
    mine, _ = make_api_key(description="mine")
    theirs, _ = make_api_key(company=other_company, description="theirs")

    lines, _ = run("list_api_keys", "--company", str(other_company.guid))

    assert [row["PREFIX"] for row in table(lines)] == [theirs.prefix]
    assert mine.prefix not in "\n".join(lines)


def test_list_api_keys_with_no_keys_prints_only_the_header(db):
    lines, _ = run("list_api_keys")

    assert len(lines) == 1
    assert lines[0].startswith("PREFIX")


@pytest.mark.parametrize(
    ("company_guid", "words"),
    [(RANDOM_GUID, f"No company {RANDOM_GUID}"), ("bogus", "not a valid UUID")],
    ids=["unknown", "bad"],
)
def test_list_api_keys_of_an_unknown_company_fails(company_guid, words, db):
    assert words in fails("list_api_keys", "--company", company_guid)


# --- revoke_api_key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda key, raw: key.prefix, id="prefix"),
        pytest.param(lambda key, raw: f"  {key.prefix} ", id="prefix-padded"),
        pytest.param(lambda key, raw: str(key.guid), id="guid"),
        pytest.param(lambda key, raw: str(key.guid).upper(), id="guid-upper"),
        pytest.param(lambda key, raw: key.guid.hex, id="guid-no-hyphens"),
    ],
)
def test_revoke_api_key_by_prefix_or_guid(spelling, make_api_key, as_key, problem):
    key, raw = make_api_key()
    bystander, bystander_raw = make_api_key()
    assert as_key(raw).get("/api/v1/auth/me").status_code == 200

    lines, _ = run("revoke_api_key", spelling(key, raw))

    assert lines[-1] == f"{key.prefix} revoked."
    key.refresh_from_db()
    assert key.is_active is False
    assert key.revoked_at is not None
    assert key.deleted_at == key.revoked_at
    problem(as_key(raw).get("/api/v1/auth/me"), 401, "api_key_revoked")
    bystander.refresh_from_db()
    assert bystander.revoked_at is None
    assert as_key(bystander_raw).get("/api/v1/auth/me").status_code == 200


def test_revoking_twice_says_so_and_keeps_the_first_time(make_api_key):
    key, _ = make_api_key()
    run("revoke_api_key", key.prefix)
    key.refresh_from_db()
    first = key.revoked_at

    lines, _ = run("revoke_api_key", str(key.guid))

    assert lines[-1] == f"{key.prefix} was already revoked."
    key.refresh_from_db()
    assert key.revoked_at == first


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        pytest.param("rfk_zzzzzzzzzzzz", "No API key rfk_zzzzzzzzzzzz", id="unknown-prefix"),
        pytest.param(RANDOM_GUID, f"No API key {RANDOM_GUID}", id="unknown-guid"),
        pytest.param("rfk_", "No API key", id="empty-prefix"),
        pytest.param("hello", "neither a key prefix", id="garbage"),
    ],
)
def test_revoke_api_key_failures_change_nothing(argument, words, make_api_key):
    key, _ = make_api_key()

    message = fails("revoke_api_key", argument)

    assert words in message
    key.refresh_from_db()
    assert (key.is_active, key.revoked_at) == (True, None)


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("create_user", ["--email", "late@example.com", "--password", PASSWORD, "--role", Role.OPERATOR]),
        ("create_api_key", ["--scopes", "sync:read"]),
    ],
)
def test_commands_refuse_a_deactivated_company(command, args, company):
    company.is_active = False
    company.save()
    before = counts()

    message = fails(command, "--company", str(company.guid), *args)

    assert "deactivated" in message
    assert counts() == before


def test_revoke_api_key_accepts_the_prefix_in_upper_case(make_api_key):
    api_key, _ = make_api_key()

    lines, _ = run("revoke_api_key", api_key.prefix.upper())

    assert lines[-1] == f"{api_key.prefix} revoked."
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_list_api_keys_keeps_one_line_per_key_for_multiline_descriptions(make_api_key):
    make_api_key(description="first line\nsecond line")

    lines, _ = run("list_api_keys")

    assert len(lines) == 2
    assert table(lines)[0]["DESCRIPTION"] == "first line second line"
