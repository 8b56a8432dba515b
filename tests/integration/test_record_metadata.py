"""record_metadata, driven by S3 ObjectCreated events, against moto S3 and DynamoDB."""

from __future__ import annotations

import copy
import hashlib
from datetime import date
from typing import Any
from urllib.parse import quote_plus

from mailroom.handlers import extract_attachments, record_metadata
from mailroom.model import Bounds
from tests.conftest import SAMPLE_MAIL, load_event
from tests.integration.conftest import BUCKET, Stack

MESSAGE_ID = "f6m7k0q3cbjq1u2v8d1n4ha5ls2o7r9e0t4pd481"
FIRST = f"incoming/{MESSAGE_ID}/01-Attestation de résidence – Dupont.pdf"


def s3_event(*keys: str) -> dict[str, Any]:
    """The sample event, one record per key, keys URL-encoded as S3 sends them."""
    template = load_event("s3-object-created.json")
    record = template["Records"][0]
    records = []
    for key in keys:
        one = copy.deepcopy(record)
        one["s3"]["object"]["key"] = quote_plus(key, safe="/")
        # The sample's versionId is no object's here: an upload's event for another version
        # than the current one is skipped (usecases/upload_recording.py).
        one["s3"]["object"].pop("versionId", None)
        records.append(one)
    return {"Records": records}


def extract_sample(stack: Stack, context: Any) -> list[str]:
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=f"raw/{MESSAGE_ID}",
        Body=(SAMPLE_MAIL / "collaborator-two-pdfs.eml").read_bytes(),
    )
    extract_attachments.handler(load_event("ses-receipt.json"), context)
    return stack.keys("incoming/")


def test_sample_event_key_is_url_decoded(stack: Stack, context: Any) -> None:
    extract_sample(stack, context)
    event = load_event("s3-object-created.json")
    assert "+" in event["Records"][0]["s3"]["object"]["key"]  # the sample needs decoding

    assert record_metadata.handler(event, context) == {"recorded": 1}

    record = stack.catalog.get_file(FIRST)
    assert record is not None
    assert record.filename == "Attestation de résidence – Dupont.pdf"


def test_file_record_carries_metadata_and_sender(stack: Stack, context: Any) -> None:
    keys = extract_sample(stack, context)

    record_metadata.handler(s3_event(*keys), context)

    record = stack.catalog.get_file(FIRST)
    assert record is not None
    body = stack.s3.get_object(Bucket=BUCKET, Key=FIRST)["Body"].read()
    assert record.size == len(body)
    assert record.sha256 == hashlib.sha256(body).hexdigest()
    assert record.safe_name == "01-Attestation de résidence – Dupont.pdf"
    assert record.content_type == "application/pdf"
    assert record.detected_type == "application/pdf"
    assert record.sender == "elodie.martin@partner-avocats.example"
    assert record.sender_name == "Élodie Martin"
    assert record.message_id == MESSAGE_ID
    assert record.source == "email"
    assert record.case == "case-42"
    assert record.received_at == "2026-11-20T09:14:03.512Z"
    assert record.etag and record.version_id
    assert record.bucket == BUCKET


def test_every_access_pattern_finds_the_files(stack: Stack, context: Any) -> None:
    keys = extract_sample(stack, context)
    record_metadata.handler(s3_event(*keys), context)
    sha = stack.catalog.get_file(keys[1]).sha256  # type: ignore[union-attr]
    day = date(2026, 11, 20)

    message, files = stack.catalog.get_message(MESSAGE_ID)
    by_sender = [f for f, _ in stack.catalog.files_from("Elodie.Martin@partner-avocats.example")]
    by_case = list(stack.catalog.files_of_case("case-42", Bounds.of(day, day)))
    by_day = list(stack.catalog.files_newest_first(Bounds.of(day, day)))
    later = Bounds.of(date(2026, 11, 21), date(2026, 11, 22))
    outside = list(stack.catalog.files_newest_first(later))

    assert message is not None and message.outcome == "extracted"
    assert sorted(f.file_id for f in files) == keys
    assert {f.file_id for f in by_sender} == {f.file_id for f in by_case} == set(keys)
    assert {f.file_id for f in by_day} == set(keys)
    assert outside == []
    assert [f.file_id for f in stack.catalog.files_by_sha256(sha)] == [keys[1]]
    assert [m.message_id for m in stack.catalog.messages_by_outcome("extracted")] == [MESSAGE_ID]


def test_duplicate_event_changes_nothing(stack: Stack, context: Any) -> None:
    keys = extract_sample(stack, context)
    record_metadata.handler(s3_event(*keys), context)
    before = stack.items()

    record_metadata.handler(s3_event(*keys, *keys), context)

    assert stack.items() == before


def test_upload_without_provenance_still_gets_a_record(stack: Stack, context: Any) -> None:
    key = "incoming/up-20261120-manual/scan of contract.pdf"
    body = (SAMPLE_MAIL / "collaborator-two-pdfs.eml").read_bytes()  # any bytes will do
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="application/pdf")

    record_metadata.handler(s3_event(key), context)

    record = stack.catalog.get_file(key)
    assert record is not None
    assert record.source == "upload"
    assert record.message_id == "up-20261120-manual"
    assert record.filename == "scan of contract.pdf"
    assert record.sha256 == hashlib.sha256(body).hexdigest()
    assert record.sender is None
    assert record.detected_type == "text/plain"  # the bytes are a text message, not a PDF


def test_deleted_object_and_foreign_prefix_are_skipped(stack: Stack, context: Any) -> None:
    stack.s3.put_object(Bucket=BUCKET, Key="raw/not-for-us", Body=b"x")

    result = record_metadata.handler(s3_event("incoming/gone/file.pdf", "raw/not-for-us"), context)

    assert result == {"recorded": 0}
    assert stack.items() == []


def test_a_zero_byte_object_is_recorded(stack: Stack, context: Any) -> None:
    """A ranged GET of an empty object is refused (416): its record comes from a HEAD."""
    key = "incoming/up-20261120-empty/blank.txt"
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"")

    assert record_metadata.handler(s3_event(key), context) == {"recorded": 1}

    record = stack.catalog.get_file(key)
    assert record is not None
    assert record.size == 0
    assert record.sha256 == hashlib.sha256(b"").hexdigest()
    assert record.detected_type is None


def test_size_is_the_whole_object_not_the_sniffed_range(stack: Stack, context: Any) -> None:
    key = "incoming/up-20261120-big/data.bin"
    body = bytes(range(256)) * 1000  # 256 KB, far more than the 8 KB sniff
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    record_metadata.handler(s3_event(key), context)

    record = stack.catalog.get_file(key)
    assert record is not None
    assert record.size == len(body)
    assert record.sha256 == hashlib.sha256(body).hexdigest()


def test_re_recording_keeps_what_staff_set(stack: Stack, context: Any) -> None:
    """A reprocess or `doctor --fix` re-records the object: the pipeline's fields are written
    again (UpdateItem), a staff deletion stays, and an attribute the code does not own too."""
    keys = extract_sample(stack, context)
    record_metadata.handler(s3_event(*keys), context)
    assert stack.catalog.mark_deleted(FIRST, "clerk@firm.example", "2026-12-01T10:00:00.000Z")
    key = {"pk": {"S": f"MSG#{MESSAGE_ID}"}, "sk": {"S": f"FILE#{FIRST}"}}
    stack.ddb.update_item(
        TableName=stack.catalog.table,
        Key=key,
        UpdateExpression="SET held_by = :h, case_key = :stale",
        ExpressionAttributeValues={":h": {"S": "legal@firm.example"}, ":stale": {"S": "stale"}},
    )

    assert record_metadata.handler(s3_event(*keys), context) == {"recorded": len(keys)}

    record = stack.catalog.get_file(FIRST)
    assert record is not None
    assert (record.deleted, record.deleted_by) == (True, "clerk@firm.example")
    assert record.deleted_at == "2026-12-01T10:00:00.000Z"
    item = stack.ddb.get_item(TableName=stack.catalog.table, Key=key)["Item"]
    assert item["held_by"] == {"S": "legal@firm.example"}  # not the pipeline's: kept
    assert item["case_key"] == {"S": "case-42"}  # the pipeline's: derived again
    assert item["sha256_key"]["S"] == record.sha256
    # A new record still gets the defaults of the staff fields.
    other = stack.catalog.get_file(keys[1])
    assert other is not None and other.deleted is False
