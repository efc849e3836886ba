"""seed_demo: the demo tenant, its key, and a small project tree loaded through the sync service."""

from io import StringIO

import pytest
from django.core.management import call_command

from assemblies.models import Article, Assembly, Cell, Component, Job, Operation, Part, Piece, Project, Resource
from sync.management.commands.seed_demo import DEMO_COMPANY, DEMO_EMAIL, DEMO_KEY_DESCRIPTION, DEMO_PASSWORD
from tenants.models import ApiKey, Company, User
from tenants.roles import Role
from tenants.tests.test_commands import RAW_KEY, counts, run

MODELS = (Project, Component, Assembly, Piece, Article, Cell, Resource, Job, Part, Operation)


def run_seed_demo() -> list[str]:
    stdout = StringIO()
    call_command("seed_demo", stdout=stdout, stderr=StringIO())
    return stdout.getvalue().splitlines()


def test_seed_demo_loads_the_tree_once(db, as_key):
    first_key = run_seed_demo()[-1]
    counts = [model.objects.count() for model in MODELS]
    second_output = run_seed_demo()  # production mode (tests): the key is not shown again

    assert counts == [1, 1, 1, 4, 1, 2, 1, 1, 1, 2]
    assert [model.objects.count() for model in MODELS] == counts
    assert second_output == []
    company = Company.objects.get(name="Demo Factory")
    assert {piece.company_id for piece in Piece.objects.all()} == {company.pk}
    assert all(piece.assembly_id is not None and piece.is_active for piece in Piece.objects.all())
    job = Job.objects.get(company=company)
    assert list(Operation.objects.filter(part__job=job).order_by("sequence").values_list("cell__name", flat=True)) == [
        "Cutting",
        "Welding",
    ]
    response = as_key(first_key).get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json()["company_guid"] == str(company.guid)


# --- seed_demo --------------------------------------------------------------------------------


@pytest.fixture
def dev_env_file(db, settings, tmp_path):
    """Point the development ``.env`` at a scratch file (the real one is never touched)."""
    settings.DEV_ENV_FILE = tmp_path / ".env"
    return settings.DEV_ENV_FILE


def assert_demo_tenant() -> Company:
    company = Company.objects.get(name__iexact=DEMO_COMPANY)
    user = User.objects.get(email=DEMO_EMAIL)
    assert (user.company, user.role, user.is_active) == (company, Role.COMPANY_ADMIN, True)
    assert User.objects.filter(company=company).count() == 1
    assert Company.objects.filter(name__iexact=DEMO_COMPANY).count() == 1
    return company


@pytest.mark.parametrize("debug", [False, True], ids=["production", "development"])
def test_seed_demo_prints_a_key_that_authenticates(debug, settings, dev_env_file, as_key, api):
    settings.DEBUG = debug

    lines, stderr = run("seed_demo")

    company = assert_demo_tenant()
    assert RAW_KEY.match(lines[-1]), lines
    me = as_key(lines[-1]).get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["company_guid"] == str(company.guid)
    assert me.json()["scopes"] == ["sync:read", "sync:write"]
    key = ApiKey.objects.get(company=company)
    assert (key.description, key.scopes) == (DEMO_KEY_DESCRIPTION, ["sync:read", "sync:write"])
    login = api.post("/api/v1/auth/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, format="json")
    assert login.status_code == 200
    assert str(company.guid) in stderr
    assert (dev_env_file.exists() and lines[-1] in dev_env_file.read_text()) is debug


def test_seed_demo_twice_in_production_keeps_one_tenant_and_one_key(settings, dev_env_file, as_key):
    settings.DEBUG = False
    first, _ = run("seed_demo")
    before = counts()

    second, stderr = run("seed_demo")

    assert counts() == before == (1, 1, 1)
    assert_demo_tenant()
    assert second == []  # the secret of the existing key cannot be shown again
    assert "exists already" in stderr
    assert as_key(first[-1]).get("/api/v1/auth/me").status_code == 200
    assert not dev_env_file.exists()


def test_seed_demo_twice_in_development_prints_the_same_remembered_key(settings, dev_env_file, as_key):
    settings.DEBUG = True
    first, _ = run("seed_demo")

    second, _ = run("seed_demo")

    assert second[-1] == first[-1]
    assert counts() == (1, 1, 1)
    assert_demo_tenant()
    assert as_key(second[-1]).get("/api/v1/auth/me").status_code == 200


def test_seed_demo_in_development_replaces_a_remembered_key_that_was_revoked(settings, dev_env_file, as_key, problem):
    settings.DEBUG = True
    first, _ = run("seed_demo")
    run("revoke_api_key", first[-1][: len("rfk_") + 12])

    second, _ = run("seed_demo")

    assert second[-1] != first[-1]
    problem(as_key(first[-1]).get("/api/v1/auth/me"), 401, "api_key_revoked")
    assert as_key(second[-1]).get("/api/v1/auth/me").status_code == 200
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 1
    assert (Company.objects.count(), User.objects.count()) == (1, 1)


def test_seed_demo_finds_the_demo_company_in_any_case(settings, dev_env_file, make_company):
    settings.DEBUG = False
    renamed = make_company(DEMO_COMPANY.upper())

    lines, _ = run("seed_demo")

    assert Company.objects.get() == renamed
    assert User.objects.get(email=DEMO_EMAIL).company == renamed
    assert ApiKey.objects.get().company == renamed
    assert RAW_KEY.match(lines[-1])


def test_seed_demo_keeps_an_existing_demo_tenant_as_it_is(settings, dev_env_file):
    settings.DEBUG = False
    run("seed_demo")
    user = User.objects.get(email=DEMO_EMAIL)
    user.name = "Changed"
    user.save()
    rows = list(Company.objects.values_list("guid", "name", "updated_at")), list(User.objects.values_list("password"))

    run("seed_demo")

    user.refresh_from_db()
    assert user.name == "Changed"
    assert user.check_password(DEMO_PASSWORD)
    assert (
        list(Company.objects.values_list("guid", "name", "updated_at")),
        list(User.objects.values_list("password")),
    ) == rows
