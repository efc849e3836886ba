"""Migration ``tenants.0002``: an existing deployment's plain-text refresh tokens are gone after it.

Before it, simplejwt's ``token_blacklist`` app kept every refresh token whole in
``token_blacklist_outstandingtoken.token``. The test builds those tables as such a deployment has
them, with rows, runs the migration, and then reads the database as a backup would.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from rest_framework_simplejwt.tokens import RefreshToken

from tenants.models import IssuedRefreshToken
from tenants.roles import Role
from tenants.tests.test_refresh_token_revocation import every_stored_text

OLD_TABLES = ["token_blacklist_outstandingtoken", "token_blacklist_blacklistedtoken"]


def migrate(target: str) -> None:
    MigrationExecutor(connection).migrate([("tenants", target)])


@pytest.mark.django_db(transaction=True)  # the migration runs DDL of its own
def test_the_migration_drops_every_stored_plain_text_token(api, make_user, problem):
    user = make_user(Role.OPERATOR)
    live, spent = str(RefreshToken.for_user(user)), str(RefreshToken.for_user(user))
    migrate("0001_initial")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE token_blacklist_outstandingtoken (id integer PRIMARY KEY, jti varchar(255) NOT NULL UNIQUE,"
            " token text NOT NULL, created_at timestamp NULL, expires_at timestamp NOT NULL, user_id bigint NULL)"
        )
        cursor.execute(
            "CREATE TABLE token_blacklist_blacklistedtoken (id integer PRIMARY KEY, blacklisted_at timestamp NOT NULL,"
            " token_id integer NOT NULL UNIQUE REFERENCES token_blacklist_outstandingtoken (id))"
        )
        for pk, token in enumerate([live, spent], start=1):
            cursor.execute(
                "INSERT INTO token_blacklist_outstandingtoken VALUES (%s, %s, %s, NULL, '2099-01-01 00:00:00', %s)",
                [pk, RefreshToken(token)["jti"], token, user.pk],
            )
        cursor.execute("INSERT INTO token_blacklist_blacklistedtoken VALUES (1, '2026-01-01 00:00:00', 2)")
    recorder = MigrationRecorder(connection)
    recorder.record_applied("token_blacklist", "0013_alter_blacklistedtoken_options_and_more")
    assert any(live in value for value in every_stored_text())  # what the old storage left in a dump

    migrate("0002_issued_refresh_token")

    assert not set(OLD_TABLES) & set(connection.introspection.table_names())
    assert not recorder.migration_qs.filter(app="token_blacklist").exists()
    stored = every_stored_text()
    for token in (live, spent):
        assert not [value for value in stored if token.split(".")[2] in value]
    # No session is carried over: a token from the old table (or an old backup) refreshes no more.
    assert IssuedRefreshToken.objects.count() == 0
    problem(api.post("/api/v1/auth/refresh", {"refresh_token": live}, format="json"), 401, "invalid_token")
    assert IssuedRefreshToken.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_migration_runs_on_a_database_that_never_had_the_old_tables():
    migrate("0001_initial")
    assert "tenants_issuedrefreshtoken" not in connection.introspection.table_names()

    migrate("0002_issued_refresh_token")

    assert "tenants_issuedrefreshtoken" in connection.introspection.table_names()
    assert IssuedRefreshToken.objects.count() == 0
