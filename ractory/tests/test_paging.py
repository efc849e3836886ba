"""Every list is a bare JSON array paged by limit/offset, with X-Total-Count and Link;
unknown or invalid query parameters are 400 problems pointing at /query/<name>."""

from __future__ import annotations

import pytest

from tenants.models import ApiKey, Company
from tenants.roles import Role

API_KEYS = "/api/v1/api-keys"


@pytest.fixture
def five_keys(make_api_key) -> list[str]:
    """Five keys of the admin's company, in creation order (their guids as text)."""
    return [str(make_api_key(description=f"key {index}")[0].guid) for index in range(5)]


def guids(response) -> list[str]:
    return [row["guid"] for row in response.json()]


def next_link(url: str) -> str:
    return f'<http://testserver{url}>; rel="next"'


# --- the shape of a page ----------------------------------------------------------------------


def test_list_is_a_bare_array_with_the_total_and_no_link_when_everything_fits(company_admin, five_keys):
    response = company_admin.get(API_KEYS)
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert guids(response) == five_keys
    assert response["X-Total-Count"] == "5"
    assert "Link" not in response


def test_empty_list_is_an_empty_array_with_total_zero(company_admin):
    response = company_admin.get(API_KEYS)
    assert response.status_code == 200
    assert response.json() == []
    assert response["X-Total-Count"] == "0"
    assert "Link" not in response


def test_first_page_links_to_the_next(company_admin, five_keys):
    response = company_admin.get(f"{API_KEYS}?limit=2")
    assert response.status_code == 200
    assert guids(response) == five_keys[:2]
    assert response["X-Total-Count"] == "5"
    assert response["Link"] == next_link(f"{API_KEYS}?limit=2&offset=2")


def test_middle_page_links_to_the_next(company_admin, five_keys):
    response = company_admin.get(f"{API_KEYS}?limit=2&offset=2")
    assert guids(response) == five_keys[2:4]
    assert response["X-Total-Count"] == "5"
    assert response["Link"] == next_link(f"{API_KEYS}?limit=2&offset=4")


def test_last_page_has_no_next_link(company_admin, five_keys):
    response = company_admin.get(f"{API_KEYS}?limit=2&offset=4")
    assert guids(response) == five_keys[4:]
    assert response["X-Total-Count"] == "5"
    assert "Link" not in response


def test_page_ending_exactly_at_the_last_row_has_no_next_link(company_admin, five_keys):
    response = company_admin.get(f"{API_KEYS}?limit=5")
    assert guids(response) == five_keys
    assert "Link" not in response
    one_short = company_admin.get(f"{API_KEYS}?limit=4")
    assert guids(one_short) == five_keys[:4]
    assert one_short["Link"] == next_link(f"{API_KEYS}?limit=4&offset=4")


def test_offset_past_the_end_is_an_empty_page_with_the_total(company_admin, five_keys):
    response = company_admin.get(f"{API_KEYS}?offset=7")
    assert response.status_code == 200
    assert response.json() == []
    assert response["X-Total-Count"] == "5"
    assert "Link" not in response


def test_following_the_links_reads_every_row_once_in_order(company_admin, five_keys):
    seen: list[str] = []
    url = f"{API_KEYS}?limit=2"
    for _ in range(10):
        response = company_admin.get(url)
        assert response.status_code == 200
        seen += guids(response)
        if "Link" not in response:
            break
        url = response["Link"].removeprefix("<http://testserver").split(">")[0]
    assert seen == five_keys


def test_link_keeps_the_other_query_parameters(company_admin, five_keys):
    ApiKey.objects.filter(guid=five_keys[0]).update(is_active=False)
    response = company_admin.get(f"{API_KEYS}?is_active=true&limit=1")
    assert guids(response) == five_keys[1:2]
    assert response["X-Total-Count"] == "4"  # rows matching the filter, not all rows
    assert response["Link"] == next_link(f"{API_KEYS}?is_active=true&limit=1&offset=1")


def test_total_counts_only_the_callers_company(company_admin, five_keys, make_api_key, other_company):
    make_api_key(company=other_company)
    response = company_admin.get(API_KEYS)
    assert response["X-Total-Count"] == "5"
    assert guids(response) == five_keys


@pytest.mark.parametrize("limit", ["1", "1000", "0001"])
def test_limit_bounds_are_accepted(company_admin, five_keys, limit):
    response = company_admin.get(f"{API_KEYS}?limit={limit}")
    assert response.status_code == 200, response.content
    assert guids(response) == five_keys[: int(limit)]


def test_default_limit_is_1000(make_user, as_user, make_company):
    system_admin = make_user(Role.SYSTEM_ADMIN)
    Company.objects.bulk_create(Company(name=f"Bulk {index:04d}") for index in range(1001 - Company.objects.count()))
    assert Company.objects.count() == 1001
    client = as_user(system_admin)
    response = client.get("/api/v1/companies")
    assert response.status_code == 200
    assert len(response.json()) == 1000
    assert response["X-Total-Count"] == "1001"
    assert response["Link"] == next_link("/api/v1/companies?limit=1000&offset=1000")
    last = client.get("/api/v1/companies?offset=1000")
    assert len(last.json()) == 1
    assert "Link" not in last


def test_largest_offset_is_accepted(company_admin, five_keys):
    response = company_admin.get(f"{API_KEYS}?offset={2**63 - 1}")
    assert response.status_code == 200, response.content
    assert response.json() == []
    assert response["X-Total-Count"] == "5"


def test_companies_list_pages_the_same_way(make_user, as_user, make_company):
    system_admin = make_user(Role.SYSTEM_ADMIN)  # its company is the first one
    for index in range(3):
        make_company(f"Paged {index}")
    expected = [str(guid) for guid in Company.objects.order_by("created_at", "id").values_list("guid", flat=True)]
    assert len(expected) == 4
    response = as_user(system_admin).get("/api/v1/companies?limit=3")
    assert response.status_code == 200
    assert guids(response) == expected[:3]
    assert response["X-Total-Count"] == "4"
    assert response["Link"] == next_link("/api/v1/companies?limit=3&offset=3")


# --- invalid limit and offset -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "-1"),
        ("limit", "abc"),
        ("limit", ""),
        ("limit", "1.5"),
        ("limit", "+5"),
        ("limit", " 5"),
        ("limit", "%C2%B2"),  # "²": str.isdigit() says yes, int() says no
        ("limit", "%D9%A3"),  # "٣", an Arabic-Indic 3
        ("limit", "9" * 5000),
        ("offset", "-1"),
        ("offset", "x"),
        ("offset", "1e3"),
        ("offset", str(2**63)),
        ("offset", "9" * 30),
        ("offset", "9" * 5000),
    ],
)
def test_invalid_limit_or_offset_is_400_pointing_at_the_parameter(company_admin, full_problem, five_keys, name, value):
    body = full_problem(company_admin.get(f"{API_KEYS}?{name}={value}"), 400, "invalid_query_parameter")
    assert [(error["pointer"], error["code"]) for error in body["errors"]] == [(f"/query/{name}", "invalid")]
    assert body["detail"].startswith(f"Query parameter '{name}' must be a whole number from ")


# --- unknown query parameters -----------------------------------------------------------------


def test_unknown_query_parameter_on_a_list_is_400(company_admin, full_problem, five_keys):
    body = full_problem(company_admin.get(f"{API_KEYS}?colour=red"), 400, "unknown_query_parameter")
    assert body["detail"] == "Unknown query parameter 'colour'."
    assert body["errors"] == [
        {"pointer": "/query/colour", "code": "unknown_parameter", "detail": "Unknown query parameter."}
    ]


def test_every_unknown_query_parameter_is_named(company_admin, full_problem):
    body = full_problem(company_admin.get(f"{API_KEYS}?zeta=1&limit=2&alpha=2"), 400, "unknown_query_parameter")
    assert [error["pointer"] for error in body["errors"]] == ["/query/alpha", "/query/zeta"]


def test_misspelt_filter_is_refused_not_ignored(company_admin, full_problem, five_keys):
    body = full_problem(company_admin.get(f"{API_KEYS}?is_activ=false"), 400, "unknown_query_parameter")
    assert [error["pointer"] for error in body["errors"]] == ["/query/is_activ"]


def test_paging_parameters_on_a_detail_path_are_unknown(company_admin, full_problem, five_keys):
    response = company_admin.get(f"{API_KEYS}/{five_keys[0]}?limit=1")
    body = full_problem(response, 400, "unknown_query_parameter")
    assert [error["pointer"] for error in body["errors"]] == ["/query/limit"]


def test_unknown_query_parameter_on_a_write_writes_nothing(company_admin, full_problem):
    response = company_admin.post(f"{API_KEYS}?dry=1", data={"scopes": ["sync:read"]}, format="json")
    body = full_problem(response, 400, "unknown_query_parameter")
    assert [error["pointer"] for error in body["errors"]] == ["/query/dry"]
    assert ApiKey.objects.count() == 0


def test_invalid_filter_value_is_400_pointing_at_the_parameter(company_admin, full_problem):
    body = full_problem(company_admin.get(f"{API_KEYS}?is_active=maybe"), 400, "invalid_query_parameter")
    assert [(error["pointer"], error["code"]) for error in body["errors"]] == [("/query/is_active", "invalid")]


@pytest.mark.parametrize("path", ["/health", "/api/v1/auth/me", "/api/v1/companies/current"])
def test_paging_parameters_are_unknown_outside_lists(path, make_api_key, as_key, problem):
    _, raw = make_api_key()

    body = problem(as_key(raw).get(path, {"limit": "10"}), 400, "unknown_query_parameter")

    assert body["errors"][0]["pointer"] == "/query/limit"
