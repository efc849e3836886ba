"""Helpers of the MES sync tests: an Eryxon client (``Authorization: Bearer <key>``) and the
envelope assertions."""

from __future__ import annotations

import json

from rest_framework.test import APIClient

from assemblies.models import Cell, Job, Operation, Part, Resource

MODELS = {"cells": Cell, "resources": Resource, "jobs": Job, "parts": Part, "operations": Operation}


def eryxon_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def put(client: APIClient, plural: str, item, **extra):
    return client.put(f"/api-{plural}/sync", data=json.dumps(item), content_type="application/json", **extra)


def bulk(client: APIClient, plural: str, body, query: str = "", **extra):
    url = f"/api-{plural}/bulk-sync" + (f"?{query}" if query else "")
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def success(response, status: int = 200) -> dict:
    """The response is Eryxon's success envelope with ``status``; returns its ``data``."""
    assert response.status_code == status, (response.status_code, response.content[:800])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"success", "data"}, body
    assert body["success"] is True
    return body["data"]


def failure(response, status: int, code: str) -> dict:
    """The response is Eryxon's error envelope; returns its ``error``."""
    assert response.status_code == status, (response.status_code, response.content[:800])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"success", "error"}, body
    assert body["success"] is False
    assert body["error"]["code"] == code, body
    return body["error"]


def rows(plural: str, company, **filters) -> list:
    return list(MODELS[plural].objects.filter(company=company, **filters).order_by("id"))


def state(company, *plurals: str) -> dict:
    """Every column of every row of ``plurals`` (default: all five MES entities) in ``company``,
    as {plural: {guid: {column: value}}}: compare two of them to prove nothing was written."""
    return {
        plural: {values["guid"]: values for values in MODELS[plural].objects.filter(company=company).values()}
        for plural in (plurals or MODELS)
    }
