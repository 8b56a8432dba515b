from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mailroom.model import (
    INDEXES,
    FileRecord,
    MessageRecord,
    file_pk_sk,
    group_of,
    table_definition,
    time_key_of,
    time_shard_keys,
)
from mailroom.policy import Outcome


def make_file(**overrides: object) -> FileRecord:
    values: dict[str, object] = {
        "file_id": "incoming/abc123/01-report.pdf",
        "filename": "report.pdf",
        "safe_name": "01-report.pdf",
        "size": 1234,
        "sha256": "b" * 64,
        "received_at": "2026-11-20T09:14:03.512Z",
        "source": "email",
        "message_id": "abc123",
        "sender": "Jane@Client.Example",
        "case": "case-42",
    }
    values.update(overrides)
    return FileRecord(**values)  # type: ignore[arg-type]


def test_file_item_lives_in_its_message_collection_and_indexes() -> None:
    item = make_file().to_item()

    assert item["pk"] == "MSG#abc123"
    assert item["sk"] == "FILE#incoming/abc123/01-report.pdf"
    assert item["sender_key"] == "jane@client.example"
    assert item["time_key"] == time_key_of("incoming/abc123/01-report.pdf")
    assert item["time_key"] in time_shard_keys()
    assert "original_sender_key" not in item  # not a forward
    assert item["sha256_key"] == "b" * 64
    assert item["case_key"] == "case-42"
    assert item["sort_key"] == "2026-11-20T09:14:03.512Z#incoming/abc123/01-report.pdf"
    assert "outcome_key" not in item  # sparse: files never show up in the outcome index
    assert FileRecord.from_item(item) == make_file()


def test_message_item_is_only_in_the_outcome_index() -> None:
    record = MessageRecord(
        message_id="abc123",
        received_at="2026-11-20T09:14:03.512Z",
        raw_key="raw/abc123",
        outcome=Outcome.QUARANTINED,
    )
    item = record.to_item()

    assert item["pk"] == "MSG#abc123" and item["sk"] == "MESSAGE"
    assert item["outcome_key"] == "quarantined"
    assert not {"sender_key", "time_key", "sha256_key", "case_key"} & item.keys()
    assert MessageRecord.from_item(item) == record


def test_message_item_stays_small_whatever_the_headers_hold() -> None:
    record = MessageRecord(
        message_id="abc123",
        received_at="2026-11-20T09:14:03.512Z",
        raw_key="raw/abc123",
        outcome=Outcome.EXTRACTED,
        subject="S" * 1_000_000,
        recipients=[f"r{i}@x.example" for i in range(10_000)],
        warnings=["w" * 10_000] * 1_000,
    )
    item = record.to_item()
    size = len(json.dumps(item).encode())

    assert size < 40_000  # far below DynamoDB's 400 KB
    assert len(item["recipients"]) == 50
    assert item["recipients_truncated"] is True
    one = MessageRecord(
        message_id="m",
        received_at="2026-11-20T09:14:03.512Z",
        raw_key="raw/m",
        outcome=Outcome.EXTRACTED,
        recipients=["a@x.example"],
    )
    assert one.to_item()["recipients_truncated"] is False


def test_file_partition_is_derived_from_the_key() -> None:
    assert group_of("incoming/abc/01-x.pdf") == "abc"
    assert group_of("incoming/loose-file.pdf") == "loose-file.pdf"
    assert file_pk_sk("incoming/up-1/a b.pdf")["pk"] == "MSG#up-1"


def test_table_definition_declares_every_index() -> None:
    definition = table_definition("t")
    names = {gsi["IndexName"] for gsi in definition["GlobalSecondaryIndexes"]}
    declared = {a["AttributeName"] for a in definition["AttributeDefinitions"]}

    assert names == set(INDEXES)
    assert set(INDEXES.values()) <= declared
    assert definition["BillingMode"] == "PAY_PER_REQUEST"


def ddb_size(value: object) -> int:
    """DynamoDB's item size accounting ("Item sizes and formats", DynamoDB developer guide):
    strings in UTF-8 bytes, numbers up to 21 bytes, booleans 1, lists and maps 3 bytes plus 1
    per element plus their contents (and a map's keys). Rounded up where the guide is vague."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int):
        return 21
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list):
        return 3 + sum(1 + ddb_size(v) for v in value)
    if isinstance(value, dict):
        return 3 + sum(1 + ddb_size(k) + ddb_size(v) for k, v in value.items())
    raise TypeError(type(value))


def test_worst_case_message_item_stays_under_400_kb() -> None:
    """Every list and string at its worst, in 4-byte UTF-8, still makes an item DynamoDB takes."""
    wide = "𝔁"  # 4 bytes in UTF-8
    huge = wide * 1_000_000
    key = "incoming/" + "m" * 40 + "/" + wide * ((1024 - 50) // 4)  # an S3 key is <= 1024 bytes
    record = MessageRecord(
        message_id="m" * 40,
        received_at="2026-11-20T09:14:03.512Z",
        raw_key="raw/" + "m" * 40,
        outcome=Outcome.EXTRACTED,
        envelope_sender=huge,
        from_address=huge,
        from_name=huge,
        recipients=[huge] * 10_000,
        case=huge,
        subject=huge,
        rfc_message_id=huge,
        verdicts={huge: huge, **{f"k{i}": huge for i in range(100)}},
        attachment_count=10_000,
        file_ids=[key] * 10_000,
        original_sender=huge,
        original_sender_via=huge,
        reason=huge,
        warnings=[huge] * 10_000,
        auth_reason=huge,
        authenticated=False,
    )
    item = record.to_item()
    size = sum(ddb_size(k) + ddb_size(v) for k, v in item.items())

    assert size < 300_000  # DynamoDB's limit is 400 KB
    assert (item["file_count"], item["file_ids_truncated"], len(item["file_ids"])) == (
        10_000,
        True,
        100,
    )
    assert item["warnings_truncated"] is True and len(item["warnings"]) == 50
    assert all(len(r) <= 320 for r in item["recipients"])
    assert item["from_address"].endswith("…")
    back = MessageRecord.from_item(item)
    assert back.file_count == 10_000 and back.file_ids_truncated


def test_a_small_message_item_says_nothing_was_cut() -> None:
    record = MessageRecord(
        message_id="m",
        received_at="2026-11-20T09:14:03.512Z",
        raw_key="raw/m",
        outcome=Outcome.PROCESSING,
        file_ids=["incoming/m/01-a.pdf"],
        authenticated=True,
        auth_reason="dmarc=PASS for firm.example",
    )
    item = record.to_item()

    assert item["outcome_key"] == "processing"
    assert (item["file_count"], item["file_ids_truncated"], item["warnings_truncated"]) == (
        1,
        False,
        False,
    )
    assert MessageRecord.from_item(item) == replace(record, file_count=1)


def test_a_forwarded_file_is_indexed_under_both_senders_once_each() -> None:
    forwarded = make_file(
        original_sender="Carol@Origin.Example", original_sender_level="vouched"
    ).to_item()
    self_forward = make_file(
        original_sender="jane@client.example", original_sender_level="verified"
    ).to_item()

    assert forwarded["sender_key"] == "jane@client.example"
    assert forwarded["original_sender_key"] == "carol@origin.example"
    assert "claimed_sender_key" not in forwarded
    assert "original_sender_key" not in self_forward


@pytest.mark.parametrize("level", ["claimed", None])  # None: written before levels existed
def test_a_claimed_original_sender_has_its_own_index_key(level: str | None) -> None:
    item = make_file(original_sender="Carol@Origin.Example", original_sender_level=level).to_item()
    assert "original_sender_key" not in item
    assert item["claimed_sender_key"] == "carol@origin.example"


def test_time_shards_spread_files_and_are_stable() -> None:
    keys = [time_key_of(f"incoming/m{n}/01-a.pdf") for n in range(400)]

    assert set(keys) == set(time_shard_keys())
    assert min(keys.count(k) for k in set(keys)) > 50  # roughly even
    # Fixed values: a shard from Python's salted hash() would differ from one process to the
    # next, which comparing two calls in one process cannot see.
    assert [time_key_of(f"incoming/m{n}/01-a.pdf") for n in range(1, 6)] == [
        "FILES#1",
        "FILES#2",
        "FILES#0",
        "FILES#1",
        "FILES#3",
    ]
