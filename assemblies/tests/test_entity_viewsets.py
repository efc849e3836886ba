"""The entity endpoints as DRF ViewSets on a router: URL names and routes, the restore action,
the schema serializers against the answers, and the 405 of a wrong method on each URL."""

from __future__ import annotations

import uuid

import pytest
from django.urls import resolve, reverse

from assemblies.api import serializers
from assemblies.api.views import ArticleViewSet, AssemblyViewSet, ComponentViewSet, PieceViewSet, ProjectViewSet
from sync.tests.factories import row, snapshot_all

VIEWSETS = {
    "projects": ProjectViewSet,
    "components": ComponentViewSet,
    "assemblies": AssemblyViewSet,
    "pieces": PieceViewSet,
    "articles": ArticleViewSet,
}
SERIALIZERS = {
    "projects": (serializers.ProjectSerializer, serializers.ProjectDetailSerializer),
    "components": (serializers.ComponentSerializer, serializers.ComponentDetailSerializer),
    "assemblies": (serializers.AssemblySerializer, serializers.AssemblyDetailSerializer),
    "pieces": (serializers.PieceSerializer, serializers.PieceDetailSerializer),
    "articles": (serializers.ArticleSerializer, serializers.ArticleDetailSerializer),
}


@pytest.mark.parametrize("plural", VIEWSETS)
def test_the_url_names_reverse_to_the_paths_without_a_trailing_slash(plural):
    guid = uuid.uuid4()
    assert reverse(f"{plural}-list") == f"/api/v1/{plural}"
    assert reverse(f"{plural}-detail", kwargs={"guid": guid}) == f"/api/v1/{plural}/{guid}"
    assert reverse(f"{plural}-restore", kwargs={"guid": guid}) == f"/api/v1/{plural}/{guid}/restore"


@pytest.mark.parametrize("plural", VIEWSETS)
@pytest.mark.parametrize("slash", ["", "/"], ids=["no-slash", "slash"])
def test_each_path_is_routed_to_its_viewset_actions_with_the_guid_converted(plural, slash):
    guid = uuid.uuid4()
    routes = {
        f"/api/v1/{plural}": {"get": "list"},
        f"/api/v1/{plural}/{str(guid).upper().replace('-', '')}": {"get": "retrieve", "delete": "destroy"},
        f"/api/v1/{plural}/{guid}/restore": {"post": "restore"},
    }
    for path, actions in routes.items():
        match = resolve(path + slash)
        assert match.func.cls is VIEWSETS[plural], path
        # (DRF adds HEAD as GET's action to the same mapping when the first request comes.)
        assert {method: name for method, name in match.func.actions.items() if method != "head"} == actions, path
        if path != f"/api/v1/{plural}":
            assert match.kwargs == {"guid": guid}, path


def test_the_restore_action_is_served_and_restores_the_row(writer, reader):
    guid = writer.tree(pieces=1, articles=0).pieces[0]
    response = reader.delete(reverse("pieces-detail", kwargs={"guid": guid}))
    assert response.status_code == 204
    assert row("pieces", guid).is_active is False

    response = reader.post(reverse("pieces-restore", kwargs={"guid": guid}))

    assert response.status_code == 204
    assert response.content == b""
    piece = row("pieces", guid)
    assert piece.is_active is True
    assert piece.deleted_at is None


WRONG_METHODS = [
    ("get", "/api/v1/pieces/{guid}/restore", {"POST", "OPTIONS"}),
    ("head", "/api/v1/pieces/{guid}/restore", {"POST", "OPTIONS"}),
    ("put", "/api/v1/pieces/{guid}/restore", {"POST", "OPTIONS"}),
    ("patch", "/api/v1/pieces/{guid}/restore/", {"POST", "OPTIONS"}),
    ("delete", "/api/v1/pieces/{guid}/restore", {"POST", "OPTIONS"}),
    ("post", "/api/v1/pieces/{guid}", {"GET", "DELETE", "HEAD", "OPTIONS"}),
    ("put", "/api/v1/pieces/{guid}/", {"GET", "DELETE", "HEAD", "OPTIONS"}),
    ("patch", "/api/v1/pieces/{guid}", {"GET", "DELETE", "HEAD", "OPTIONS"}),
    ("post", "/api/v1/pieces", {"GET", "HEAD", "OPTIONS"}),
    ("put", "/api/v1/pieces/", {"GET", "HEAD", "OPTIONS"}),
    ("delete", "/api/v1/pieces", {"GET", "HEAD", "OPTIONS"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
def test_a_wrong_method_is_a_405_problem_with_allow_and_writes_nothing(writer, reader, problem, method, path, allowed):
    deleted, active = writer.tree(pieces=2, articles=0).pieces
    assert reader.delete(f"/api/v1/pieces/{deleted}").status_code == 204
    # The restore URL names a deleted piece (a restore would change it), the detail URL an
    # active one (a delete would change it).
    guid = deleted if "restore" in path else active
    before = snapshot_all()

    response = getattr(reader, method)(path.format(guid=guid))

    assert response.status_code == 405
    assert {part.strip() for part in response["Allow"].split(",")} == allowed
    if method != "head":  # a HEAD answer has no body
        body = problem(response, 405, "method_not_allowed")
        assert body["detail"] == f'Method "{method.upper()}" not allowed.'
    assert snapshot_all() == before


def test_a_wrong_method_on_the_restore_url_is_permission_checked_first(writer, make_api_key, as_key, problem):
    # Each URL checks its own permission before the method, as the plain views did: a read-only
    # key is refused on the restore URL whatever the method.
    guid = writer.tree(pieces=1, articles=0).pieces[0]
    read_only = as_key(make_api_key(scopes=("sync:read",))[1])

    body = problem(read_only.get(f"/api/v1/pieces/{guid}/restore"), 403, "permission_denied")

    assert "sync:write" in body["detail"]
    assert row("pieces", guid).is_active is True


@pytest.mark.parametrize("plural", VIEWSETS)
def test_the_schema_serializers_name_the_fields_of_the_answers_in_order(writer, reader, plural):
    tree = writer.tree(pieces=1, articles=1)
    guid = tree.first(plural)
    list_serializer, detail_serializer = SERIALIZERS[plural]

    listed = reader.get(f"/api/v1/{plural}")
    detail = reader.get(f"/api/v1/{plural}/{guid}")

    assert listed.status_code == 200
    assert detail.status_code == 200
    (listed_row,) = listed.json()
    assert listed_row["guid"] == guid
    assert list(listed_row) == list(list_serializer().fields)
    assert list(detail.json()) == list(detail_serializer().fields)
