"""The one runner of sync requests, called directly as ``sync_file`` calls it: no HTTP anywhere.

The HTTP families are tested through their endpoints; these tests pin what the runner itself
promises to any caller: one transaction, the run on record (also for a refusal), refusals as
data, and idempotent replays that return the stored answer without touching the engine.
"""

from __future__ import annotations

import uuid

import pytest

from assemblies.models import Job, Project
from ractory.api.problems import problem_from_refusal
from ractory.refusals import FieldError, InvalidInput, NoSuchRow, NotPermitted, Refusal, StateConflict
from sync.entities import MES_ENTITIES, SYNC_ENTITIES
from sync.models import IdempotencyRecord, SyncRun
from sync.refusals import CompanyMismatch, IdempotencyKeyReused, ItemsRefused
from sync.runner import SyncRequest, run_sync
from tenants.caller import Caller
from tenants.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def caller(company) -> Caller:
    return Caller(company=company, role=Role.INTEGRATION)


def project(caller, **fields) -> dict:
    return {"guid": str(uuid.uuid4()), "company_guid": str(caller.company.guid), "code": "P-1", **fields}


def project_request(caller, items, **options) -> SyncRequest:
    return SyncRequest(
        caller=caller,
        entity=SYNC_ENTITIES["projects"],
        items=items,
        endpoint="TEST",
        request_hash="h" * 64,
        **options,
    )


def render(outcome):
    return 200, {"inserted": outcome.count("inserted")}


def test_a_request_writes_its_rows_and_its_run_in_one_go(caller, company):
    item = project(caller)

    result = run_sync(project_request(caller, [item]), render=render)

    assert result.answer == (200, {"inserted": 1})
    assert result.replayed is False
    assert [item.action for item in result.outcome.items] == ["inserted"]
    assert Project.objects.get(guid=item["guid"]).company == company
    run = SyncRun.objects.get()
    assert (run.entity, run.endpoint, run.status, run.inserted, run.errors) == ("project", "TEST", "succeeded", 1, 0)


def test_without_render_the_outcome_is_the_answer(caller):
    result = run_sync(project_request(caller, [project(caller)]))

    assert result.answer is None
    assert result.outcome.count("inserted") == 1
    assert Project.objects.count() == 1


def test_an_atomic_request_with_a_bad_item_is_refused_as_data_and_on_record(caller, company):
    good, bad = project(caller), project(caller, code=7)

    with pytest.raises(ItemsRefused) as refused:
        run_sync(project_request(caller, [good, bad]), render=render)

    refusal = refused.value
    assert refusal.failed_items == 1
    assert refusal.outcome.company == company
    assert [(error.pointer, error.code) for error in refusal.errors] == [("/projects/1/code", "invalid_string")]
    assert [item.action for item in refusal.outcome.items] == ["inserted", "error"]
    assert Project.objects.count() == 0  # the good item too: nothing was written
    run = SyncRun.objects.get()
    assert (run.status, run.errors, run.item_count) == ("failed", 1, 2)
    assert run.error_summary["errors"][0]["pointer"] == "/projects/1/code"


def test_an_item_naming_another_company_refuses_the_request_and_is_on_record(caller, other_company):
    item = project(caller, company_guid=str(other_company.guid))

    with pytest.raises(CompanyMismatch) as refused:
        run_sync(project_request(caller, [item]), render=render)

    assert refused.value.code == "company_mismatch"
    assert str(other_company.guid) in refused.value.detail
    assert Project.objects.count() == 0
    assert SyncRun.objects.get().status == "failed"


def test_a_replay_returns_the_stored_answer_and_runs_nothing(caller):
    request = project_request(caller, [project(caller)], idempotency_key="k-1")
    first = run_sync(request, render=render)

    again = run_sync(request, render=lambda outcome: pytest.fail("a replay must not run the engine"))

    assert again.replayed is True
    assert again.outcome is None
    assert again.answer == first.answer == (200, {"inserted": 1})
    assert Project.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert SyncRun.objects.count() == 1  # the replay is not a run


def test_the_same_key_for_another_request_is_refused_and_on_record(caller):
    run_sync(project_request(caller, [], idempotency_key="k-2"), render=render)
    other = SyncRequest(
        caller=caller,
        entity=SYNC_ENTITIES["projects"],
        items=[],
        endpoint="TEST",
        request_hash="x" * 64,
        idempotency_key="k-2",
    )

    with pytest.raises(IdempotencyKeyReused):
        run_sync(other, render=render)

    assert list(SyncRun.objects.order_by("started_at").values_list("status", flat=True)) == ["succeeded", "failed"]


def test_an_idempotent_request_needs_a_render(caller):
    with pytest.raises(ValueError, match="render"):
        run_sync(project_request(caller, [], idempotency_key="k-3"))

    assert SyncRun.objects.count() == 0


def test_an_mes_tree_runs_through_the_same_runner(caller):
    job = {"external_id": "SO-1", "external_source": "ERP", "job_number": "J-1", "parts": []}
    request = SyncRequest(
        caller=caller, entity=MES_ENTITIES["jobs"], items=[job], endpoint="TEST", request_hash="m" * 64, wrapper=None
    )

    result = run_sync(request)

    assert result.outcome.items[0].action == "inserted"
    assert Job.objects.get().job_number == "J-1"
    assert SyncRun.objects.get().entity == "job"


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (InvalidInput(errors=[FieldError("/a", "blank", "Blank.")]), 422),
        (IdempotencyKeyReused("Used before."), 422),
        (NotPermitted(), 403),
        (CompanyMismatch("Another company."), 403),
        (StateConflict("Deleted parent.", code="parent_inactive"), 409),
        (NoSuchRow(), 404),
        (Refusal("Not yourself.", code="cannot_deactivate_self"), 400),
    ],
)
def test_each_kind_of_refusal_answers_its_status_with_its_code_and_errors(refusal, status):
    problem = problem_from_refusal(refusal)

    assert (problem.status, problem.code, problem.detail, problem.errors) == (
        status,
        refusal.code,
        refusal.detail,
        refusal.errors,
    )
