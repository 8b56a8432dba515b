"""Issue 22: the export function against moto: a job's zip streamed into a multipart upload
under exports/, progress and result on the job item, and the zip verifies offline."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from mailroom import exports
from mailroom.adapters.catalog import AuditTrail
from mailroom.adapters.export_jobs import ExportJobTable, MultipartUpload
from mailroom.audit import Target
from mailroom.handlers import export_case
from mailroom.handlers.runtime import export_ports
from mailroom.model import FileRecord, MessageRecord
from mailroom.policy import Outcome
from mailroom.usecases import export_jobs
from tests.integration.conftest import BUCKET, TABLE, LambdaContext, Stack

CASE = "matter-7"


@pytest.fixture
def export_stack(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    key = boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    monkeypatch.setenv("MAILROOM_EXPORT_SIGNING_KEY_ARN", key["KeyMetadata"]["Arn"])
    export_case.export_settings.cache_clear()
    export_ports.cache_clear()
    yield stack
    export_case.export_settings.cache_clear()
    export_ports.cache_clear()


def put_message(stack: Stack, message_id: str, bodies: dict[str, bytes]) -> None:
    """A message of CASE: its raw .eml, its record, and one recorded file per body."""
    raw = f"Subject: {message_id}\r\n\r\nraw body of {message_id}\r\n".encode()
    stack.s3.put_object(Bucket=BUCKET, Key=f"raw/{message_id}", Body=raw)
    file_ids = []
    for name, body in bodies.items():
        key = f"incoming/{message_id}/{name}"
        version = stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]
        stack.catalog.put_file(
            FileRecord(
                file_id=key,
                filename=name,
                safe_name=name,
                size=len(body),
                sha256=hashlib.sha256(body).hexdigest(),
                received_at="2026-12-01T10:00:00Z",
                source="email",
                message_id=message_id,
                case=CASE,
                sender="client@example.test",
                version_id=version,
            )
        )
        file_ids.append(key)
    stack.catalog.put_message(
        MessageRecord(
            message_id=message_id,
            received_at="2026-12-01T10:00:00Z",
            raw_key=f"raw/{message_id}",
            outcome=Outcome.EXTRACTED,
            case=CASE,
            file_ids=file_ids,
            verdicts={"spam": "PASS", "virus": "PASS"},
        )
    )


def run(job: export_jobs.ExportJob) -> dict[str, Any]:
    return export_case.handler(export_jobs.job_event(job), LambdaContext())  # type: ignore[arg-type]


def fetch(stack: Stack, key: str) -> bytes:
    return bytes(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def new(with_raw: bool = False) -> export_jobs.ExportJob:
    return export_jobs.new_job(
        CASE,
        None,
        None,
        with_raw=with_raw,
        by="admin@firm.test",
        via="api",
        exports_prefix="exports/",
    )


def test_the_function_builds_a_zip_under_exports_that_verifies(export_stack: Stack) -> None:
    stack = export_stack
    put_message(stack, "m1", {"01-a.pdf": b"%PDF a" * 1000, "02-b.pdf": b"%PDF b"})
    put_message(stack, "m2", {"01-c.pdf": b"%PDF c" * 3})
    jobs = ExportJobTable(stack.ddb, TABLE)
    job = new()
    assert jobs.create_job(job.to_item())  # as the api does before it invokes

    assert run(job) == {"job": job.job_id, "status": "done"}

    item = export_jobs.ExportJob.from_item(jobs.get_job(job.job_id) or {})
    assert (item.status, item.files_done, item.files_total) == ("done", 3, 3)
    assert item.bytes_done == item.bytes_total == 6000 + 6 + 18
    assert item.key == f"exports/{job.job_id}.zip"
    body = fetch(stack, item.key)
    assert item.size == len(body)
    checked = exports.verify_export(io.BytesIO(body))
    assert checked.ok, checked.problems
    assert (checked.documents, checked.raw) == (3, 0)
    assert item.summary["documents"] == 3
    assert item.summary["key_fingerprint"] == checked.signed_by
    # Nothing else was written: one object under exports/, no upload left open.
    assert stack.keys("exports/") == [item.key]
    assert stack.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []

    # One `export` entry on the audit trail, written by the function, naming who asked.
    trail = AuditTrail(stack.ddb, TABLE, 365)
    [entry] = trail.entries_of([Target.case(CASE)])
    assert (entry.action, entry.actor, entry.origin) == ("export", "admin@firm.test", "function")
    assert entry.reported_by == "server"
    assert entry.details["job"] == job.job_id and entry.details["documents"] == 3
    assert entry.details["requested_via"] == "api"

    # Delivered twice: a done job is not built again (the same object version stays), and
    # the trail keeps its one entry.
    versions = stack.versions("exports/")
    assert run(job)["status"] == "done"
    assert stack.versions("exports/") == versions
    assert len(list(trail.entries_of([Target.case(CASE)]))) == 1


def test_with_raw_adds_each_raw_message_listed_with_its_sha256(export_stack: Stack) -> None:
    stack = export_stack
    put_message(stack, "m1", {"01-a.pdf": b"%PDF a"})
    put_message(stack, "m2", {"01-b.pdf": b"%PDF b"})
    job = new(with_raw=True)
    # Started by the CLI: no item yet, the function creates it from the event.
    assert run(job)["status"] == "done"

    item = export_jobs.ExportJob.from_item(
        ExportJobTable(stack.ddb, TABLE).get_job(job.job_id) or {}
    )
    assert (item.files_done, item.files_total, item.requested_by) == (4, 4, "admin@firm.test")
    body = fetch(stack, item.key)
    checked = exports.verify_export(io.BytesIO(body))
    assert checked.ok, checked.problems
    assert (checked.documents, checked.raw) == (2, 2)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        manifest = json.loads(archive.read(exports.MANIFEST_JSON))
        raw = {row["message_id"]: row for row in manifest["raw"]}
        for message_id in ("m1", "m2"):
            stored = fetch(stack, f"raw/{message_id}")
            assert archive.read(raw[message_id]["name"]) == stored
            assert raw[message_id]["sha256"] == hashlib.sha256(stored).hexdigest()
        sums = exports.parse_sums(archive.read(exports.SUMS))
        assert {row["name"] for row in manifest["raw"]} <= set(sums)


def test_a_changed_document_fails_the_job_naming_it_and_leaves_no_zip(
    export_stack: Stack,
) -> None:
    stack = export_stack
    put_message(stack, "m1", {"01-a.pdf": b"%PDF a" * 2_000_000})  # 12 MB: two parts at least
    # The object's current bytes change, and the record (its version) is moved to the new one.
    changed = stack.s3.put_object(Bucket=BUCKET, Key="incoming/m1/01-a.pdf", Body=b"tampered")
    stack.ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "MSG#m1"}, "sk": {"S": "FILE#incoming/m1/01-a.pdf"}},
        UpdateExpression="SET version_id = :v",
        ExpressionAttributeValues={":v": {"S": changed["VersionId"]}},
    )
    job = new()

    assert run(job)["status"] == "failed"

    item = export_jobs.ExportJob.from_item(
        ExportJobTable(stack.ddb, TABLE).get_job(job.job_id) or {}
    )
    assert item.status == "failed"
    assert "incoming/m1/01-a.pdf" in (item.error or "")
    assert stack.keys("exports/") == []
    assert stack.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert list(AuditTrail(stack.ddb, TABLE, 365).entries_of([Target.case(CASE)])) == []


def test_a_case_without_documents_fails_the_job_saying_so(export_stack: Stack) -> None:
    job = new()
    assert run(job)["status"] == "failed"
    stored = ExportJobTable(export_stack.ddb, TABLE).get_job(job.job_id) or {}
    assert "no documents" in stored["error"]


def test_the_event_cannot_name_the_key_or_a_bad_job_id(export_stack: Stack) -> None:
    stack = export_stack
    put_message(stack, "m1", {"01-a.pdf": b"%PDF a"})
    job = new()
    job.key = "incoming/evil.zip"
    assert run(job)["status"] == "done"
    assert stack.keys("exports/") == [f"exports/{job.job_id}.zip"]
    assert "incoming/evil.zip" not in stack.keys("incoming/")
    bad = new()
    bad.job_id = "../../x"
    with pytest.raises(export_jobs.InvalidInput):
        run(bad)


def test_the_multipart_upload_keeps_one_part_in_memory(export_stack: Stack) -> None:
    upload = MultipartUpload(
        export_stack.s3, BUCKET, "exports/parts.bin", "application/zip", part_bytes=5 * 1024 * 1024
    )
    chunk = b"x" * (1024 * 1024)
    for _ in range(12):
        upload.write(chunk)
        assert len(upload._buffer) < 5 * 1024 * 1024  # the bound is the point
    assert upload.tell() == 12 * len(chunk)
    assert upload.complete() == 12 * len(chunk)
    assert fetch(export_stack, "exports/parts.bin") == chunk * 12
