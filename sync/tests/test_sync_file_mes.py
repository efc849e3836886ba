"""``sync_file`` loads Eryxon MES files through the same engine as ``/api-*/bulk-sync``."""

from __future__ import annotations

import json

import pytest

from assemblies.models import Cell, Job, Operation, Part
from sync.models import SyncRun

from .test_sync_file import counts, fails, run, summary

pytestmark = pytest.mark.django_db


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def company_guid(company) -> str:
    return str(company.guid)


def test_a_csv_of_cells_then_a_json_of_nested_jobs_load_the_whole_tree(company, company_guid, tmp_path):
    cells = write(
        tmp_path,
        "cells.csv",
        "external_id,external_source,name,sequence,color\nWC-CUT,SAP,Cutting,1,#3B82F6\nWC-BEND,SAP,Bending,2,\n",
    )
    stdout, _ = run("cells", cells, "--company", company_guid)
    assert summary(stdout) == counts(inserted=2)
    assert dict(Cell.objects.filter(company=company).values_list("name", "color")) == {
        "Cutting": "#3b82f6",
        "Bending": None,
    }

    job = {
        "external_id": "SO-1",
        "external_source": "SAP",
        "job_number": "JOB-1",
        "parts": [
            {
                "external_id": "SO-1-10",
                "part_number": "BRACKET",
                "operations": [
                    {"external_id": "SO-1-10-010", "operation_name": "Cut", "cell_name": "cutting", "sequence": 1},
                    {"external_id": "SO-1-10-020", "operation_name": "Bend", "cell_name": "BENDING", "sequence": 2},
                ],
            }
        ],
    }
    jobs = write(tmp_path, "jobs.json", json.dumps({"jobs": [job]}))
    stdout, _ = run("jobs", jobs, "--company", company_guid)
    assert summary(stdout) == counts(inserted=1)
    part = Part.objects.get(company=company)
    assert part.job == Job.objects.get(company=company, external_id="SO-1")
    assert list(
        Operation.objects.filter(part=part).order_by("sequence").values_list("cell__name", "external_source")
    ) == [
        ("Cutting", "SAP"),
        ("Bending", "SAP"),
    ]
    run_record = SyncRun.objects.filter(entity="job").get()
    assert (run_record.endpoint, run_record.status, run_record.inserted) == ("sync_file", "succeeded", 1)

    stdout, _ = run("jobs", jobs, "--company", company_guid)  # the same file again
    assert summary(stdout) == counts(unchanged=1)


def test_ndjson_bad_rows_are_reported_with_their_line_and_nested_pointer(company, company_guid, tmp_path):
    good = {"external_id": "SO-1", "external_source": "SAP", "job_number": "JOB-1"}
    bad = {
        "external_id": "SO-2",
        "external_source": "SAP",
        "job_number": "JOB-2",
        "parts": [{"external_id": "SO-2-10", "part_number": "X", "quantity": 0}],
    }
    path = write(tmp_path, "jobs.ndjson", json.dumps(good) + "\n\n" + json.dumps(bad) + "\n")

    stdout, stderr = run("jobs", path, "--company", company_guid, "--partial")

    assert summary(stdout) == counts(inserted=1, errors=1)
    assert stderr.strip() == (
        f"{path}:3: /parts/0/quantity min_value: Ensure this value is greater than or equal to 1."
    )
    assert list(Job.objects.filter(company=company).values_list("external_id", flat=True)) == ["SO-1"]
    assert not Part.objects.exists()  # the bad tree is refused whole


def test_atomic_mes_batch_with_a_bad_row_writes_nothing(company, company_guid, tmp_path):
    path = write(
        tmp_path,
        "cells.json",
        json.dumps([{"external_id": "A", "external_source": "SAP", "name": "A"}, {"external_id": "B", "name": "B"}]),
    )
    message, _, stderr = fails("cells", path, "--company", company_guid)
    assert message == "Batch 1 (lines 1-1) has 1 bad row; nothing was written and the command stopped."
    assert "/1/external_source required: This field is required." in stderr
    assert not Cell.objects.exists()
    assert SyncRun.objects.get().status == "failed"
