"""The MES tables hold their invariants themselves: natural keys, live-only business uniqueness,
enum and range checks, the soft-delete check and, on PostgreSQL, same-company parent links. Also:
the MES cascade map (a job's soft delete reaches its parts and their operations, a part's its
operations) and the read-only, tenant-aware admin of the five tables.

Violating rows are written with the ORM inside ``transaction.atomic()``, and wherever the database
names the refusing constraint (always on PostgreSQL) the test checks that it is the intended one.
"""

from __future__ import annotations

import itertools
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assemblies import services
from assemblies.cascade import CASCADES, ENTITY_NAMES, link_hops
from assemblies.models import (
    AuditEvent,
    Cell,
    Job,
    JobStatus,
    Operation,
    OperationStatus,
    Part,
    Resource,
    ResourceStatus,
    ResourceType,
)
from assemblies.selectors import child_counts
from tenants.roles import Role

MES_MODELS = [Cell, Resource, Job, Part, Operation]
SOURCE = "SAP"
_numbers = itertools.count(1)

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite cannot add composite same-company foreign keys to existing tables",
)


def create(model, company, **fields):
    """A valid row of ``model`` in ``company`` (parents made in the same company), with ``fields`` on top."""
    n = next(_numbers)
    values = {"company": company, "external_source": SOURCE, "external_id": f"{model._meta.model_name}-{n}"}
    if model is Cell:
        values["name"] = f"Cell {n}"
    elif model is Resource:
        values.update(name=f"Tool {n}", type=ResourceType.TOOLING)
    elif model is Job:
        values["job_number"] = f"JOB-{n}"
    elif model is Part:
        values["part_number"] = f"PART-{n}"
        if "job" not in fields:
            values["job"] = create(Job, company)
    elif model is Operation:
        values.update(operation_name=f"Step {n}", sequence=n)
        if "part" not in fields:
            values["part"] = create(Part, company)
        if "cell" not in fields:
            values["cell"] = create(Cell, company)
    values.update(fields)
    return model.objects.create(**values)


def deleted(when=None) -> dict:
    return {"is_active": False, "deleted_at": when or timezone.now()}


@contextmanager
def refused(constraint: str):
    """The block must fail with an IntegrityError raised by ``constraint``.

    PostgreSQL always names the constraint; SQLite names check constraints and unique indexes
    but reports any other UNIQUE by its columns, which must then be exactly the constraint's.
    """
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        yield
    message = str(error.value)
    if connection.vendor == "sqlite" and message.startswith("UNIQUE constraint failed: ") and "index '" not in message:
        model, unique = next(
            (model, c) for model in MES_MODELS for c in model._meta.constraints if c.name == constraint
        )
        columns = [f"{model._meta.db_table}.{model._meta.get_field(name).column}" for name in unique.fields]
        assert message == f"UNIQUE constraint failed: {', '.join(columns)}", message
    else:
        assert constraint in message, message


# --- common MES columns -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("model", MES_MODELS, ids=lambda model: model.__name__)
def test_natural_key_is_unique_per_company_and_source(model, company, other_company):
    row = create(model, company)
    constraint = f"assemblies_{model._meta.model_name}_company_source_extid_uniq"
    with refused(constraint):
        create(model, company, external_id=row.external_id)
    # The same external id from another source, or in another company, is another row.
    create(model, company, external_id=row.external_id, external_source="Exact")
    create(model, other_company, external_id=row.external_id)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MES_MODELS, ids=lambda model: model.__name__)
def test_natural_key_counts_soft_deleted_rows(model, company):
    row = create(model, company, **deleted())
    with refused(f"assemblies_{model._meta.model_name}_company_source_extid_uniq"):
        create(model, company, external_id=row.external_id)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MES_MODELS, ids=lambda model: model.__name__)
def test_guid_is_unique_across_companies(model, company, other_company):
    row = create(model, company)
    assert isinstance(row.guid, uuid.UUID)
    with refused(f"assemblies_{model._meta.model_name}_guid_uniq"):
        create(model, other_company, guid=row.guid)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MES_MODELS, ids=lambda model: model.__name__)
@pytest.mark.parametrize("field", ["external_id", "external_source"])
def test_external_key_must_not_be_blank(model, field, company):
    with refused(f"assemblies_{model._meta.model_name}_{field}_nonblank_check"):
        create(model, company, **{field: ""})


@pytest.mark.django_db
@pytest.mark.parametrize("model", MES_MODELS, ids=lambda model: model.__name__)
@pytest.mark.parametrize(
    "state",
    [{"is_active": False, "deleted_at": None}, {"is_active": True}],
    ids=["inactive-unstamped", "active-stamped"],
)
def test_soft_delete_check(model, state, company):
    state = {"deleted_at": timezone.now(), **state}
    with refused(f"assemblies_{model._meta.model_name}_soft_delete_check"):
        create(model, company, **state)


@pytest.mark.django_db
def test_defaults_on_insert(company):
    cell = create(Cell, company)
    assert (cell.sequence, cell.active, cell.color, cell.description) == (0, True, None, None)
    resource = create(Resource, company)
    assert (resource.status, resource.active) == (ResourceStatus.AVAILABLE, True)
    job = create(Job, company)
    assert (job.priority, job.status, job.due_date, job.notes) == (0, JobStatus.NOT_STARTED, None, None)
    part = create(Part, company, job=job)
    assert (part.quantity, part.status) == (1, JobStatus.NOT_STARTED)
    operation = create(Operation, company, part=part, cell=cell)
    assert (operation.status, operation.estimated_time_minutes) == (OperationStatus.PENDING, None)
    for row in (cell, resource, job, part, operation):
        assert row.is_active and row.deleted_at is None and row.synced_at is None and row.sync_hash is None


@pytest.mark.django_db
def test_sync_hash_holds_a_full_sha256(company):
    digest = "ab" * 32
    job = create(Job, company, sync_hash=digest, synced_at=timezone.now())
    job.refresh_from_db()
    assert job.sync_hash == digest


# --- business uniqueness: live rows only ----------------------------------------------------------


@pytest.mark.django_db
def test_cell_name_is_unique_per_company_case_insensitively(company, other_company):
    create(Cell, company, name="Cutting")
    with refused("assemblies_cell_company_name_ci_uniq"):
        create(Cell, company, name="cUTTING")
    create(Cell, other_company, name="cutting")


@pytest.mark.django_db
def test_a_deleted_cells_name_may_be_reused(company):
    old = create(Cell, company, name="Bending")
    create(Cell, company, name="bending", **deleted())
    Cell.objects.filter(pk=old.pk).update(**deleted())
    create(Cell, company, name="BENDING")
    assert Cell.objects.filter(company=company, name__iexact="bending").count() == 3


@pytest.mark.django_db
def test_job_number_is_unique_per_company_among_live_jobs(company, other_company):
    create(Job, company, job_number="JOB-2024-001")
    with refused("assemblies_job_company_job_number_uniq"):
        create(Job, company, job_number="JOB-2024-001")
    create(Job, other_company, job_number="JOB-2024-001")
    create(Job, company, job_number="JOB-2024-001", **deleted())
    # Case matters for job numbers (only cell names are compared case-insensitively).
    create(Job, company, job_number="job-2024-001")


@pytest.mark.django_db
def test_part_number_is_unique_per_job_among_live_parts(company):
    job, other_job = create(Job, company), create(Job, company)
    create(Part, company, job=job, part_number="BRACKET-A")
    with refused("assemblies_part_job_part_number_uniq"):
        create(Part, company, job=job, part_number="BRACKET-A")
    create(Part, company, job=other_job, part_number="BRACKET-A")  # two jobs may share it
    create(Part, company, job=job, part_number="BRACKET-A", **deleted())


@pytest.mark.django_db
def test_operation_sequence_is_unique_per_part_among_live_operations(company):
    part, other_part = create(Part, company), create(Part, company)
    cell = create(Cell, company)
    first = create(Operation, company, part=part, cell=cell, sequence=1)
    with refused("assemblies_operation_part_sequence_uniq"):
        create(Operation, company, part=part, cell=cell, sequence=1)
    create(Operation, company, part=other_part, cell=cell, sequence=1)
    create(Operation, company, part=part, cell=cell, sequence=2, **deleted())
    create(Operation, company, part=part, cell=cell, sequence=2)
    # Deleting an operation frees its sequence.
    Operation.objects.filter(pk=first.pk).update(**deleted())
    create(Operation, company, part=part, cell=cell, sequence=1)


# --- enum and range checks ------------------------------------------------------------------------

ENUM_CASES = [
    (Resource, "type", ResourceType.values),
    (Resource, "status", ResourceStatus.values),
    (Job, "status", JobStatus.values),
    (Part, "status", JobStatus.values),
    (Operation, "status", OperationStatus.values),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "field", "allowed"), ENUM_CASES, ids=[f"{model.__name__}.{field}" for model, field, _ in ENUM_CASES]
)
def test_enum_check_accepts_exactly_its_values(model, field, allowed, company):
    for value in allowed:
        assert getattr(create(model, company, **{field: value}), field) == value
    for value in ("", "unknown", allowed[0].upper()):
        with refused(f"assemblies_{model._meta.model_name}_{field}_check"):
            create(model, company, **{field: value})


def test_enum_values_are_those_of_the_spec():
    assert ResourceType.values == ["tooling", "fixture", "mold", "material", "equipment"]
    assert ResourceStatus.values == ["available", "in_use", "maintenance"]
    assert JobStatus.values == ["not_started", "in_progress", "on_hold", "completed"]
    assert OperationStatus.values == ["pending", "in_progress", "completed", "on_hold"]


RANGE_CASES = [
    (Cell, "sequence", 0),
    (Job, "priority", 0),
    (Part, "quantity", 1),
    (Operation, "sequence", 1),
    (Operation, "estimated_time_minutes", 0),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "field", "minimum"), RANGE_CASES, ids=[f"{model.__name__}.{field}" for model, field, _ in RANGE_CASES]
)
def test_range_check(model, field, minimum, company):
    assert getattr(create(model, company, **{field: minimum}), field) == minimum
    create(model, company, **{field: 2**31 - 1})
    for value in (minimum - 1, -(2**31)):
        with refused(f"assemblies_{model._meta.model_name}_{field}_min_check"):
            create(model, company, **{field: value})


@pytest.mark.django_db
def test_estimated_time_may_be_left_empty(company):
    assert create(Operation, company, estimated_time_minutes=None).estimated_time_minutes is None


# --- parent links ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_parents_are_protected(company):
    operation = create(Operation, company)
    for parent in (operation.part.job, operation.part, operation.cell):
        with pytest.raises(ProtectedError), transaction.atomic():
            parent.delete()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("child", "link", "constraint"),
    [
        (Part, "job", "assemblies_part_job_same_company_fk"),
        (Operation, "part", "assemblies_operation_part_same_company_fk"),
        (Operation, "cell", "assemblies_operation_cell_same_company_fk"),
    ],
)
@pytest.mark.postgres
@requires_postgres
def test_postgres_refuses_a_parent_of_another_company(child, link, constraint, company, other_company):
    foreign_parent = create(child._meta.get_field(link).related_model, other_company)
    with refused(constraint):
        create(child, company, **{link: foreign_parent})
        connection.check_constraints()  # the key is deferred like Django's own: check it now
    # The same row with a parent of its own company is fine.
    create(child, company, **{link: create(foreign_parent.__class__, company)})
    connection.check_constraints()


@pytest.mark.django_db
@pytest.mark.postgres
@requires_postgres
def test_postgres_same_company_keys_are_named_as_the_spec_says():
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conname LIKE 'assemblies_%%'")
        names = {row[0] for row in cursor.fetchall()}
    expected = {
        "assemblies_job_company_id_uniq",
        "assemblies_part_company_id_uniq",
        "assemblies_cell_company_id_uniq",
        "assemblies_part_job_same_company_fk",
        "assemblies_operation_part_same_company_fk",
        "assemblies_operation_cell_same_company_fk",
    }
    assert expected <= names


# --- cascade map: what a soft delete also reaches -------------------------------------------------


def test_cascade_map_covers_the_mes_entities():
    assert CASCADES[Job] == ((Part, "job"), (Operation, "part__job"))
    assert CASCADES[Part] == ((Operation, "part"),)
    assert CASCADES[Cell] == CASCADES[Resource] == CASCADES[Operation] == ()
    assert {ENTITY_NAMES[model] for model in MES_MODELS} == {"cell", "resource", "job", "part", "operation"}
    assert link_hops(Part, "job") == [("assemblies_part", "job_id")]
    assert link_hops(Operation, "part__job") == [("assemblies_operation", "part_id"), ("assemblies_part", "job_id")]


@pytest.fixture
def mes_tree(company, other_company):
    """Job J with parts P1 (operations o1, o2) and P2 (o3); an unrelated job K; a row of each in another company."""
    cell = create(Cell, company)
    job, other_job = create(Job, company), create(Job, company)
    p1, p2, kp = create(Part, company, job=job), create(Part, company, job=job), create(Part, company, job=other_job)
    rows = {"J": job, "K": other_job, "P1": p1, "P2": p2, "KP": kp, "cell": cell}
    for name, part, sequence in (("o1", p1, 1), ("o2", p1, 2), ("o3", p2, 1), ("ko", kp, 1)):
        rows[name] = create(Operation, company, part=part, cell=cell, sequence=sequence)
    rows["foreign"] = create(Operation, other_company)
    return rows


def states(rows) -> dict:
    result = {}
    for name, row in rows.items():
        row.refresh_from_db()
        result[name] = (row.is_active, row.deleted_at)
    return result


@pytest.mark.django_db
def test_soft_deleting_a_part_cascades_to_its_active_operations(mes_tree):
    earlier = timezone.now() - timedelta(days=1)
    Operation.objects.filter(pk=mes_tree["o2"].pk).update(**deleted(earlier))
    touched = services.soft_delete(model=Part, row=mes_tree["P1"], actor=services.Actor())
    assert touched == 2  # P1 and o1; o2 was deleted already and keeps its own stamp
    after = states(mes_tree)
    stamp = after["P1"][1]
    assert after["o1"] == (False, stamp)
    assert after["o2"] == (False, earlier)
    assert all(after[name] == (True, None) for name in ("J", "K", "P2", "KP", "o3", "ko", "foreign", "cell"))
    event = AuditEvent.objects.get()
    assert (event.entity, event.target_guid, event.rows_touched) == ("part", mes_tree["P1"].guid, 2)


@pytest.mark.django_db
def test_restoring_a_job_brings_back_exactly_the_parts_and_operations_deleted_with_it(mes_tree):
    stamp, earlier = timezone.now(), timezone.now() - timedelta(days=1)
    for name in ("J", "P1", "P2", "o1", "o3"):
        type(mes_tree[name]).objects.filter(pk=mes_tree[name].pk).update(**deleted(stamp))
    Operation.objects.filter(pk=mes_tree["o2"].pk).update(**deleted(earlier))
    mes_tree["J"].refresh_from_db()
    assert services.restore(model=Job, row=mes_tree["J"], actor=services.Actor()) == 5
    after = states(mes_tree)
    assert all(after[name] == (True, None) for name in ("J", "P1", "P2", "o1", "o3"))
    assert after["o2"] == (False, earlier)


@pytest.mark.django_db
def test_child_counts_of_a_job_count_its_parts_and_their_operations(mes_tree, company):
    Operation.objects.filter(pk=mes_tree["o2"].pk).update(**deleted())
    assert child_counts(Job, mes_tree["J"].pk, company.pk) == {"part_count": 2, "operation_count": 2}
    assert child_counts(Part, mes_tree["P1"].pk, company.pk) == {"operation_count": 1}
    assert child_counts(Cell, mes_tree["cell"].pk, company.pk) == {}


@pytest.mark.django_db
def test_soft_deleting_a_job_cascades_to_its_parts_and_their_operations(mes_tree):
    touched = services.soft_delete(model=Job, row=mes_tree["J"], actor=services.Actor())
    after = states(mes_tree)
    stamp = after["J"][1]
    assert touched == 6
    assert all(after[name] == (False, stamp) for name in ("P1", "P2", "o1", "o2", "o3"))
    assert all(after[name] == (True, None) for name in ("K", "KP", "ko", "foreign", "cell"))


# --- admin ----------------------------------------------------------------------------------------


@pytest.fixture
def two_company_rows(company, other_company):
    """A row of each MES table in each company, with external ids and sources that tell them apart."""
    rows = {}
    for owner, tag in ((company, "own"), (other_company, "other")):
        source = f"{tag.upper()}-ERP"
        cell = create(Cell, owner, external_source=source, external_id=f"{tag}-cell", name=f"{tag} cutting")
        job = create(Job, owner, external_source=source, external_id=f"{tag}-job", job_number=f"{tag}-J-1")
        part = create(Part, owner, external_source=source, external_id=f"{tag}-part", job=job, part_number=f"{tag}-P")
        operation = create(
            Operation, owner, external_source=source, external_id=f"{tag}-operation", part=part, cell=cell
        )
        resource = create(Resource, owner, external_source=source, external_id=f"{tag}-resource")
        rows[tag] = {"cell": cell, "job": job, "part": part, "operation": operation, "resource": resource}
    return rows


@pytest.mark.django_db
@pytest.mark.parametrize("entity", ["cell", "resource", "job", "part", "operation"])
def test_company_admin_lists_only_its_companys_rows(entity, admin_client_for, make_user, two_company_rows):
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    response = client.get(f"/admin/assemblies/{entity}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"own-{entity}" in page
    assert "OWN-ERP" in page
    assert "other-" not in page and "OTHER-ERP" not in page  # rows and the source filter are scoped
    assert "company__id__exact" not in page  # the company filter is for SystemAdmins only


@pytest.mark.django_db
@pytest.mark.parametrize("entity", ["cell", "resource", "job", "part", "operation"])
def test_company_admin_opens_its_rows_read_only_and_not_another_companys(
    entity, admin_client_for, make_user, two_company_rows
):
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    own, other = two_company_rows["own"][entity], two_company_rows["other"][entity]
    response = client.get(f"/admin/assemblies/{entity}/{own.pk}/change/")
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()  # read-only: no save button
    assert client.get(f"/admin/assemblies/{entity}/{other.pk}/change/").status_code == 302


@pytest.mark.django_db
def test_admin_links_parents_and_searches_by_mes_numbers(admin_client_for, make_user, two_company_rows):
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    own = two_company_rows["own"]
    page = client.get("/admin/assemblies/operation/").content.decode()
    assert f'href="/admin/assemblies/part/{own["part"].pk}/change/"' in page
    assert f'href="/admin/assemblies/cell/{own["cell"].pk}/change/"' in page
    assert ">own-P<" in page and ">own cutting<" in page
    page = client.get("/admin/assemblies/part/").content.decode()
    assert f'href="/admin/assemblies/job/{own["job"].pk}/change/"' in page
    searches = (
        ("job", "own-J-1"),
        ("part", "own-P"),
        ("job", "own-job"),
        ("cell", "own-cell"),
        ("part", "own-J-1"),  # a part by its job's number
        ("operation", "own-P"),  # an operation by its part's number
        ("operation", "own-J-1"),  # and by its job's
    )
    for entity, term in searches:
        page = client.get(f"/admin/assemblies/{entity}/", {"q": term}).content.decode()
        assert f"own-{entity}" in page, (entity, term)
    page = client.get("/admin/assemblies/job/", {"q": "nothing-like-this"}).content.decode()
    assert "own-job" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("entity", ["cell", "resource", "job", "part", "operation"])
def test_system_admin_lists_every_company_with_a_company_filter(entity, admin_client_for, make_user, two_company_rows):
    client = admin_client_for(make_user(Role.SYSTEM_ADMIN))
    response = client.get(f"/admin/assemblies/{entity}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"own-{entity}" in page and f"other-{entity}" in page
    assert "company__id__exact" in page
    status_filter = "status__exact" in page
    assert status_filter == (entity != "cell")
    assert "external_source=OWN-ERP" in page and "external_source=OTHER-ERP" in page and "is_active__exact" in page


@pytest.mark.django_db
@pytest.mark.parametrize("entity", ["part", "operation"])
def test_mes_list_pages_cost_the_same_queries_for_few_and_many_rows(entity, admin_client_for, make_user, company):
    model = {"part": Part, "operation": Operation}[entity]
    create(model, company)
    client = admin_client_for(make_user(Role.COMPANY_ADMIN))
    client.get(f"/admin/assemblies/{entity}/")  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/admin/assemblies/{entity}/").status_code == 200
    for _ in range(30):
        create(model, company)  # each with parents of its own: the links must come from the join
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"/admin/assemblies/{entity}/").status_code == 200
    assert len(many) == len(few)
