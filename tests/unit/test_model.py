from __future__ import annotations

import json

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


def test_a_forwarded_file_is_indexed_under_both_senders_once_each() -> None:
    forwarded = make_file(original_sender="Carol@Origin.Example").to_item()
    self_forward = make_file(original_sender="jane@client.example").to_item()

    assert forwarded["sender_key"] == "jane@client.example"
    assert forwarded["original_sender_key"] == "carol@origin.example"
    assert "original_sender_key" not in self_forward


def test_time_shards_spread_files_and_are_stable() -> None:
    keys = [time_key_of(f"incoming/m{n}/01-a.pdf") for n in range(400)]

    assert set(keys) == set(time_shard_keys())
    assert min(keys.count(k) for k in set(keys)) > 50  # roughly even
    assert time_key_of("incoming/m1/01-a.pdf") == time_key_of("incoming/m1/01-a.pdf")
