"""The production entities in the admin: tenant-aware, read-only, fast lists, picture preview."""

from __future__ import annotations

import base64

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assemblies.models import Piece
from conftest import PASSWORD
from sync.tests.factories import SyncClient
from tenants.roles import Role

# A 1×1 PNG: the preview shows it as an image.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
ADMIN_LISTS = ["project", "component", "assembly", "piece", "article", "auditevent"]


def admin_client(user) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


@pytest.fixture
def trees(make_api_key, as_key, company, other_company):
    """A tree in each company, built through the sync API."""
    built = {}
    for owner in (company, other_company):
        _, raw = make_api_key(company=owner)
        writer = SyncClient(as_key(raw), owner)
        tree = writer.tree(pieces=3, articles=1)
        built[owner.pk] = (writer, tree)
    return built


@pytest.mark.parametrize("model", ADMIN_LISTS)
def test_a_company_admin_lists_only_its_own_rows(model, make_user, company, other_company, trees):
    client = admin_client(make_user(Role.COMPANY_ADMIN))

    response = client.get(f"/admin/assemblies/{model}/")

    assert response.status_code == 200
    page = response.content.decode()
    _, own = trees[company.pk]
    _, other = trees[other_company.pk]
    if model == "piece":
        assert all(Piece.objects.get(guid=guid).piece_id in page for guid in own.pieces)
        assert str(other.pieces[0]) not in page
    if model == "project":
        assert Piece.objects.filter(company=other_company).exists()
        assert "Other Doors" not in page  # no company filter or column values of another tenant


def test_a_company_admin_cannot_open_another_companys_piece(make_user, other_company, trees):
    client = admin_client(make_user(Role.COMPANY_ADMIN))
    foreign = Piece.objects.filter(company=other_company).first()

    response = client.get(f"/admin/assemblies/piece/{foreign.pk}/change/")

    assert response.status_code == 302  # outside the queryset: back to the index
    foreign.refresh_from_db()
    assert foreign.is_active


def test_a_system_admin_sees_every_company_and_can_filter_by_company(make_user, company, other_company, trees):
    client = admin_client(make_user(Role.SYSTEM_ADMIN))

    everything = client.get("/admin/assemblies/piece/").content.decode()
    only_other = client.get(f"/admin/assemblies/piece/?company__id__exact={other_company.pk}").content.decode()

    own_piece = Piece.objects.filter(company=company).first()
    other_piece = Piece.objects.filter(company=other_company).first()
    assert own_piece.piece_id in everything and other_piece.piece_id in everything
    assert f"/admin/assemblies/piece/{other_piece.pk}/change/" in only_other
    assert f"/admin/assemblies/piece/{own_piece.pk}/change/" not in only_other


def test_the_piece_list_is_searchable_by_piece_id_and_barcode(make_user, company, trees):
    writer, tree = trees[company.pk]
    target = Piece.objects.get(guid=tree.pieces[1])
    Piece.objects.filter(pk=target.pk).update(barcode="BC-FIND-ME")
    client = admin_client(make_user(Role.COMPANY_ADMIN))

    by_id = client.get("/admin/assemblies/piece/", {"q": target.piece_id}).content.decode()
    by_barcode = client.get("/admin/assemblies/piece/", {"q": "BC-FIND-ME"}).content.decode()

    for page in (by_id, by_barcode):
        assert f"/admin/assemblies/piece/{target.pk}/change/" in page
        others = [pk for pk in Piece.objects.filter(company=company).exclude(pk=target.pk).values_list("pk", flat=True)]
        assert all(f"/admin/assemblies/piece/{pk}/change/" not in page for pk in others)


def test_list_pages_cost_the_same_queries_for_few_and_many_rows(make_user, company, trees):
    writer, tree = trees[company.pk]
    client = admin_client(make_user(Role.COMPANY_ADMIN))
    client.get("/admin/assemblies/piece/")  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/assemblies/piece/").status_code == 200
    writer.pieces(tree.project, tree.component, tree.assembly, count=60)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/admin/assemblies/piece/").status_code == 200

    assert len(many) == len(few)
    assert not any('"picture"' in query["sql"] or "picture" in query["sql"].split("FROM")[0] for query in many)


def test_the_detail_page_previews_the_picture_and_links_the_parents(make_user, company, trees):
    writer, tree = trees[company.pk]
    writer.ok("pieces", [writer.item("pieces", guid=tree.pieces[0], picture=base64.b64encode(PNG).decode())])
    piece = Piece.objects.get(guid=tree.pieces[0])
    client = admin_client(make_user(Role.COMPANY_ADMIN))

    page = client.get(f"/admin/assemblies/piece/{piece.pk}/change/").content.decode()

    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in page
    assert 'name="_save"' not in page  # read-only: no save button


def test_the_entities_cannot_be_added_or_changed_in_the_admin(make_user, company, trees):
    _, tree = trees[company.pk]
    piece = Piece.objects.get(guid=tree.pieces[0])
    client = admin_client(make_user(Role.SYSTEM_ADMIN))

    assert client.get("/admin/assemblies/piece/add/").status_code == 403
    response = client.post(f"/admin/assemblies/piece/{piece.pk}/change/", {"piece_id": "CHANGED"})

    assert response.status_code in {200, 403}
    piece.refresh_from_db()
    assert piece.piece_id != "CHANGED"
