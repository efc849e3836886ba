"""The OpenAPI document and the docs pages: public, generated, served without a CDN."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from ractory.api.schema import order_each_paths_methods
from tenants.roles import Role

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)


def test_schema_is_yaml_by_default_and_public(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert "json" not in response["Content-Type"]
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Ra Factory API"
    assert {"/health", "/api/v1/health", "/api/v1/api-keys", "/api/v1/auth/login"} <= set(document["paths"])


def test_schema_is_served_without_the_trailing_slash_too(api):
    with_slash = api.get("/api/schema/")
    without = api.get("/api/schema")
    assert without.status_code == 200
    assert yaml.safe_load(without.content) == yaml.safe_load(with_slash.content)


@pytest.mark.parametrize("version", ["%00", "%01", "a%0d%0aX-Evil:%201", "2.0"], ids=["nul", "soh", "crlf", "other"])
def test_a_version_parameter_is_ignored_and_never_reaches_a_header(api, version):
    response = api.get(f"/api/schema/?version={version}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Disposition"] == 'inline; filename="Ra Factory API.yaml"'
    assert "X-Evil" not in response
    assert yaml.safe_load(response.content)["info"]["version"] == "1.0.0"


def test_schema_is_json_with_format_json(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert (
        json.loads(response.content)["paths"].keys() == yaml.safe_load(api.get("/api/schema/").content)["paths"].keys()
    )


def test_schema_is_json_with_accept_application_json(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "/api/v1/api-keys" in response.json()["paths"]


def test_schema_ignores_bad_credentials(api):
    response = api.get("/api/schema/?format=json", HTTP_X_API_KEY="rfk_nope_nope")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_schema_documents_each_path_once_without_trailing_slash_duplicates(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    assert [path for path in paths if path.endswith("/")] == []


def test_schema_documents_the_problem_responses_of_a_write(api):
    operation = api.get("/api/schema/?format=json").json()["paths"]["/api/v1/api-keys"]["post"]
    for status in ("400", "401", "403", "413", "415", "422", "429", "500", "503"):
        content = operation["responses"][status]["content"]
        assert list(content) == ["application/problem+json"], status
        (example,) = content["application/problem+json"]["examples"].values()
        assert example["value"]["status"] == int(status)
        assert {"type", "title", "status", "detail", "code", "request_id"} <= set(example["value"])


def test_schema_documents_the_paging_parameters_of_a_list(api):
    document = api.get("/api/schema/?format=json").json()
    operation = document["paths"]["/api/v1/api-keys"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert parameters["offset"]["schema"]["minimum"] == 0
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert schema["type"] == "array"  # the bare array, not a {count, results} envelope


def test_schema_format_error_is_a_json_problem_not_yaml(api, full_problem):
    # The schema view renders YAML; its errors must still be problem documents in JSON.
    body = full_problem(api.get("/api/schema/?format=xml"), 404, "not_found")
    assert body["detail"] == "Not found."


def test_schema_unacceptable_accept_header_is_a_json_problem(api, full_problem):
    body = full_problem(api.get("/api/schema/", HTTP_ACCEPT="text/csv"), 406, "not_acceptable")
    assert body["type"] == "/problems/not-acceptable"


def test_schema_wrong_method_is_a_json_problem(api, full_problem):
    response = api.post("/api/schema/", data=b"{}", content_type="application/json")
    full_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize(
    ("path", "script"),
    [
        ("/api/docs/", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/docs", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/redoc/", "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
        ("/api/redoc", "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_docs_page_is_public_html_loading_local_assets(api, path, script, db):
    response = api.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = ASSET.findall(html)
    assert script in assets
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert "/api/schema" in html


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_page_references_no_cdn(api, path):
    html = api.get(path).content.decode()
    for cdn in ("unpkg", "jsdelivr", "cdnjs", "googleapis", "gstatic", "cloudflare"):
        assert cdn not in html.lower(), cdn
    assert EXTERNAL.findall(html) == []


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_assets_are_served_by_the_service(api, path):
    assets = ASSET.findall(api.get(path).content.decode())
    assert assets
    for asset in assets:
        response = api.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_docs_pages_need_no_credentials_even_when_a_bad_one_is_sent(api, make_user, as_user):
    assert api.get("/api/docs/", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 200
    assert as_user(make_user(Role.OPERATOR)).get("/api/redoc/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/sync/pieces", "/api/v1/projects"])
def test_options_describes_the_endpoint_without_a_server_error(api, make_api_key, path):
    _, raw = make_api_key()
    api.credentials(HTTP_X_API_KEY=raw)

    response = api.options(path)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"name", "description"}
    assert body["description"]


def _operation(schema: dict, path: str, method: str) -> dict:
    return schema["paths"][path][method]


def test_the_schema_documents_the_401_of_login_and_refresh_and_the_404_of_filtered_lists(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()

    assert "401" in _operation(schema, "/api/v1/auth/login", "post")["responses"]
    assert "401" in _operation(schema, "/api/v1/auth/refresh", "post")["responses"]
    for path in ("/api/v1/pieces", "/api/v1/users", "/api/v1/sync/runs"):
        operation = _operation(schema, path, "get")
        assert "404" in operation["responses"], path
        company = next(parameter for parameter in operation["parameters"] if parameter["name"] == "company_guid")
        assert company["schema"] == {"type": "string", "format": "uuid"}


def test_each_paths_methods_keep_a_plain_views_order_whatever_the_hash_seed():
    # A ViewSet's methods come from a set; the hook orders them so the document is stable.
    endpoints = [
        ("/api/v1/pieces/{guid}", "^pieces/(?P<guid>...)$", "DELETE", None),
        ("/api/v1/pieces/{guid}", "^pieces/(?P<guid>...)$", "GET", None),
        ("/api/v1/api-keys", "^api-keys$", "POST", None),
        ("/api/v1/api-keys", "^api-keys$", "GET", None),
        ("/api/v1/pieces", "^pieces$", "GET", None),
    ]

    ordered = order_each_paths_methods(endpoints=endpoints)

    assert [(path, method) for path, _regex, method, _callback in ordered] == [
        ("/api/v1/pieces/{guid}", "GET"),
        ("/api/v1/pieces/{guid}", "DELETE"),
        ("/api/v1/api-keys", "GET"),
        ("/api/v1/api-keys", "POST"),
        ("/api/v1/pieces", "GET"),
    ]


def test_an_entity_details_operations_are_listed_get_then_delete(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]

    assert list(paths["/api/v1/pieces/{guid}"]) == ["get", "delete"]
    assert paths["/api/v1/pieces/{guid}"]["get"]["operationId"] == "pieces_retrieve"
    assert paths["/api/v1/pieces/{guid}"]["delete"]["operationId"] == "pieces_destroy"
    assert list(paths["/api/v1/pieces/{guid}/restore"]) == ["post"]
    assert paths["/api/v1/pieces/{guid}/restore"]["post"]["operationId"] == "pieces_restore"
