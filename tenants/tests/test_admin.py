"""The Django admin is tenant-aware: a SystemAdmin sees every company, a CompanyAdmin its own."""

import pytest
from django.test import Client

from conftest import PASSWORD
from tenants.models import ApiKey, User
from tenants.roles import Role


@pytest.fixture
def two_tenants(company, other_company, make_user, make_api_key):
    own_key, _ = make_api_key(company=company, description="own key")
    other_key, _ = make_api_key(company=other_company, description="other key")
    own_operator = make_user(Role.OPERATOR, company=company, email="op@acme.example")
    other_operator = make_user(Role.OPERATOR, company=other_company, email="op@other.example")
    return own_key, other_key, own_operator, other_operator


def test_company_admin_sees_only_own_company_keys(admin_client_for, make_user, two_tenants):
    own_key, other_key, *_ = two_tenants
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    response = client.get("/admin/tenants/apikey/")
    assert response.status_code == 200
    page = response.content.decode()
    assert own_key.prefix in page
    assert other_key.prefix not in page
    assert own_key.secret_hash not in page  # only the masked prefix is shown


def test_company_admin_cannot_open_another_company_key(admin_client_for, make_user, two_tenants):
    _, other_key, *_ = two_tenants
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    response = client.get(f"/admin/tenants/apikey/{other_key.pk}/change/")
    assert response.status_code == 302  # the admin redirects a row outside the queryset to the index
    assert ApiKey.objects.get(pk=other_key.pk).is_active


def test_system_admin_sees_every_company_key(admin_client_for, make_user, two_tenants):
    own_key, other_key, *_ = two_tenants
    client = admin_client_for(make_user(Role.SYSTEM_ADMIN))
    page = client.get("/admin/tenants/apikey/").content.decode()
    assert own_key.prefix in page
    assert other_key.prefix in page


def test_company_admin_user_list_is_scoped(admin_client_for, make_user, two_tenants):
    *_, own_operator, other_operator = two_tenants
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    response = client.get("/admin/tenants/user/")
    assert response.status_code == 200
    page = response.content.decode()
    assert own_operator.email in page
    assert other_operator.email not in page


def test_revoke_action_revokes_only_own_company_keys(admin_client_for, make_user, two_tenants):
    own_key, other_key, *_ = two_tenants
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    response = client.post(
        "/admin/tenants/apikey/",
        {"action": "revoke_selected", "_selected_action": [own_key.pk, other_key.pk]},
    )
    assert response.status_code == 302
    own_key.refresh_from_db()
    other_key.refresh_from_db()
    assert own_key.revoked_at is not None and not own_key.is_active
    assert other_key.revoked_at is None and other_key.is_active


def test_keys_cannot_be_added_or_edited_in_the_admin(admin_client_for, make_user, two_tenants):
    own_key, *_ = two_tenants
    client = admin_client_for(make_user(Role.SYSTEM_ADMIN))
    assert client.get("/admin/tenants/apikey/add/").status_code == 403
    response = client.post(f"/admin/tenants/apikey/{own_key.pk}/change/", {"description": "changed"})
    own_key.refresh_from_db()
    assert response.status_code in {200, 403}
    assert own_key.description == "own key"


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.PROJECT_MANAGER, Role.INTEGRATION])
def test_non_admin_roles_cannot_use_the_admin(make_user, role):
    user = make_user(role)
    client = Client()
    client.login(username=user.email, password=PASSWORD)
    response = client.get("/admin/tenants/apikey/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_company_admin_cannot_create_a_company_admin(admin_client_for, make_user, company):
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    response = client.post(
        "/admin/tenants/user/add/",
        {
            "email": "boss@acme.example",
            "company": company.pk,
            "role": Role.COMPANY_ADMIN,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 200  # the form is shown again with the role refused
    assert not User.objects.filter(email="boss@acme.example").exists()


def test_company_admin_creates_an_operator_in_own_company(admin_client_for, make_user, company, other_company):
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    response = client.post(
        "/admin/tenants/user/add/",
        {
            "email": "new.op@acme.example",
            "company": company.pk,
            "role": Role.OPERATOR,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = User.objects.get(email="new.op@acme.example")
    assert created.company_id == company.pk
    assert created.role == Role.OPERATOR
    assert not created.is_staff
    assert created.check_password(PASSWORD)


def test_inactive_company_admin_cannot_log_in(make_user, company):
    user = make_user(Role.COMPANY_ADMIN)
    company.is_active = False
    company.save()
    assert not Client().login(username=user.email, password=PASSWORD)
