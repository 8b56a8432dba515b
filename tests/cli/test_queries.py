"""Query cost and reach: requests follow the rows returned, both senders of a forward are found,
`messages` lists every outcome, files of a message keep their order, pages continue."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailroom.adapters.catalog import to_ddb
from mailroom.cli import config as cli_config
from mailroom.model import FileRecord, MessageRecord
from mailroom.policy import Outcome
from mailroom.usecases import files
from mailroom.usecases.messages import OUTCOMES
from tests.cli.conftest import TABLE, Stack, hours_ago, iso, run


@pytest.fixture
def count_requests(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The DynamoDB operations the CLI sends, counted at the botocore boundary."""
    calls: list[str] = []
    real = cli_config.dynamodb_client

    def counting(config: Any) -> Any:
        client = real(config)
        client.meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
        )
        return client

    monkeypatch.setattr(cli_config, "dynamodb_client", counting)
    yield calls


def _bulk_files(stack: Stack, count: int, start: datetime, days: int) -> list[FileRecord]:
    rng = random.Random(7)
    records = []
    for n in range(count):
        moment = start + timedelta(seconds=rng.randrange(days * 86400))
        records.append(
            FileRecord(
                file_id=f"incoming/m{n:05d}/01-f{n}.pdf",
                filename=f"f{n}.pdf",
                safe_name=f"01-f{n}.pdf",
                size=10,
                sha256=f"{n:064x}",
                received_at=iso(moment),
                source="email",
                message_id=f"m{n:05d}",
                sender=f"client{n % 50}@example.com",
            )
        )
    for i in range(0, len(records), 25):
        batch = [{"PutRequest": {"Item": to_ddb(r.to_item())}} for r in records[i : i + 25]]
        stack.ddb.batch_write_item(RequestItems={TABLE: batch})
    return records


@pytest.mark.slow
def test_list_requests_follow_the_rows_not_the_calendar(
    stack: Stack, count_requests: list[str]
) -> None:
    # GIVEN 10,000 files spread over three years
    start = datetime(2023, 1, 1, tzinfo=UTC)
    records = _bulk_files(stack, 10_000, start, 3 * 365)
    newest = sorted(records, key=lambda r: (r.received_at, r.file_id), reverse=True)

    # WHEN listing the newest 50 since 2000 (26 years, ~9,800 days), then all time
    result = run("list", "--since", "2000-01-01", "--limit", "50", "--json")
    since_2000 = list(count_requests)
    count_requests.clear()
    all_time = run("list", "--since", "0001-01-01", "--limit", "50", "--json")

    # THEN the newest 50, for one Query per by_time shard (4), whatever the range
    assert result.exit_code == 0, result.stderr
    assert [f["file_id"] for f in json.loads(result.stdout)] == [r.file_id for r in newest[:50]]
    # ... and one PutItem: the listing's audit entry, reported by the CLI (issue 22)
    assert since_2000 == ["Query"] * 4 + ["PutItem"]
    assert all_time.exit_code == 0, all_time.stderr
    assert count_requests.count("Query") <= 4
    assert count_requests.count("PutItem") == 1


def test_list_requests_stay_few_for_an_empty_wide_range(
    stack: Stack, count_requests: list[str]
) -> None:
    stack.add_file("m1", "a.pdf", received_at=hours_ago(1))

    result = run("list", "--since", "0001-01-01", "--until", "2025-12-31", "--json")
    messages = run("messages", "--since", "1970-01-01", "--json")

    assert json.loads(result.stdout) == []
    assert json.loads(messages.stdout) == []
    # 4 shards for the files, one Query per outcome partition for the messages
    assert count_requests.count("Query") <= 4 + len(OUTCOMES)


def test_sender_finds_the_forwarder_and_the_client_behind_the_forward(stack: Stack) -> None:
    # GIVEN dave forwards carol's mail; carol also writes directly
    forwarded = stack.add_file(
        "m1",
        "lease.pdf",
        received_at=hours_ago(3),
        sender="dave@firm.example",
        original_sender="carol@origin.example",
    )
    direct = stack.add_file("m2", "id.pdf", received_at=hours_ago(1), sender="Carol@Origin.example")
    stack.add_file("m3", "other.pdf", received_at=hours_ago(2), sender="eve@else.example")

    as_client = run("list", "--sender", "carol@origin.example", "--json")
    as_forwarder = run("list", "--sender", "DAVE@firm.example", "--json")
    as_csv = run("list", "--sender", "carol@origin.example", "--format", "csv")

    # THEN both find the forwarded file, and say in which role the address matched
    assert as_client.exit_code == 0, as_client.stderr
    found = json.loads(as_client.stdout)
    assert [(f["file_id"], f["matched"]) for f in found] == [
        (direct.file_id, "sender"),
        (forwarded.file_id, "original_sender"),
    ]
    assert [(f["file_id"], f["matched"]) for f in json.loads(as_forwarder.stdout)] == [
        (forwarded.file_id, "sender")
    ]
    header, *rows = as_csv.stdout.splitlines()
    assert header.split(",")[0] == "file_id"
    assert header.endswith(",matched")
    assert rows[1].endswith(",original_sender")


def test_the_forwarded_sender_is_in_the_index_not_scanned(stack: Stack) -> None:
    record = stack.add_file(
        "m1", "a.pdf", received_at=hours_ago(1), sender="d@f.example", original_sender="C@o.example"
    )
    item = record.to_item()
    assert item["original_sender_key"] == "c@o.example"
    assert (
        "original_sender_key"
        not in stack.add_file(
            "m2",
            "b.pdf",
            received_at=hours_ago(1),
            sender="x@y.example",
            original_sender="X@y.example",
        ).to_item()
    )


def test_files_of_a_message_keep_their_part_order_in_list_as_in_message(stack: Stack) -> None:
    at = hours_ago(1)
    parts = [stack.add_file("m1", f"p{i}.pdf", received_at=at, index=i) for i in (1, 2, 3)]
    later = stack.add_file("m2", "later.pdf", received_at=hours_ago(0.5))

    listed = [f["file_id"] for f in json.loads(run("list", "--json").stdout)]
    shown = [f["file_id"] for f in json.loads(run("message", "m1", "--json").stdout)["files"]]

    assert listed == [later.file_id, *(p.file_id for p in parts)]
    assert shown == [p.file_id for p in parts]
    assert [f["file_id"] for f in json.loads(run("list", "--limit", "2", "--json").stdout)] == [
        later.file_id,
        parts[0].file_id,
    ]


def test_pages_continue_where_the_cursor_left_off(stack: Stack) -> None:
    at = hours_ago(2)
    for i in (1, 2, 3):
        stack.add_file("m1", f"p{i}.pdf", received_at=at, index=i)
    for n in range(4):
        stack.add_file(f"n{n}", "x.pdf", received_at=hours_ago(1 + n / 10))
    whole = files.list_files(stack.catalog, files.FileQuery(limit=100))

    seen, cursor = [], None
    while True:
        page = files.list_files(stack.catalog, files.FileQuery(limit=2, cursor=cursor))
        seen.extend(m.record.file_id for m in page.files)
        if page.next is None:
            break
        cursor = page.next

    assert seen == [m.record.file_id for m in whole.files]
    assert len(seen) == 7


def test_messages_without_outcome_lists_every_message_newest_first(stack: Stack) -> None:
    stack.add_message("a", received_at=hours_ago(5), outcome=Outcome.EXTRACTED)
    stack.add_message("b", received_at=hours_ago(4), outcome=Outcome.FAILED, reason="x")
    stack.add_message("c", received_at=hours_ago(3), outcome=Outcome.QUARANTINED)
    stack.add_message("d", received_at=hours_ago(2), outcome=Outcome.NO_ATTACHMENTS)
    stack.add_message("e", received_at=hours_ago(1), outcome=Outcome.REJECTED)

    result = run("messages", "--json")
    limited = run("messages", "--limit", "2", "--json")

    assert result.exit_code == 0, result.stderr
    assert [m["message_id"] for m in json.loads(result.stdout)] == ["e", "d", "c", "b", "a"]
    assert [m["message_id"] for m in json.loads(limited.stdout)] == ["e", "d"]


def test_older_than_keeps_only_records_older_than_the_cut(stack: Stack) -> None:
    stack.add_message("old", received_at=hours_ago(2), outcome=Outcome.FAILED)
    stack.add_message("new", received_at=hours_ago(0.1), outcome=Outcome.FAILED)

    result = run("messages", "--outcome", "failed", "--older-than", "15m", "--json")
    bad = run("messages", "--older-than", "soon")

    assert [m["message_id"] for m in json.loads(result.stdout)] == ["old"]
    assert bad.exit_code == 2


def test_stuck_processing_messages_are_found(stack: Stack) -> None:
    processing = Outcome.PROCESSING
    stack.add_message("stuck", received_at=hours_ago(1), outcome=processing)
    stack.add_message("busy", received_at=hours_ago(0.01), outcome=processing)

    result = run("messages", "--outcome", "processing", "--older-than", "15m", "--json")

    assert [m["message_id"] for m in json.loads(result.stdout)] == ["stuck"]


def test_processing_is_an_accepted_outcome_value(stack: Stack) -> None:
    result = run("messages", "--outcome", "processing", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_message_records_sort_by_their_own_key() -> None:
    record = MessageRecord("x", "2026-01-01T00:00:00.000Z", "raw/x", Outcome.FAILED)
    assert record.to_item()["sort_key"] == "2026-01-01T00:00:00.000Z#x"


def test_a_claimed_client_is_found_only_with_include_claimed_through_its_own_index(
    stack: Stack,
) -> None:
    claimed = stack.add_file(
        "m1",
        "contract.pdf",
        received_at=hours_ago(1),
        sender="mallory@evil.example",
        original_sender="ceo@client.example",
        original_sender_level="claimed",
    )
    assert claimed.to_item()["claimed_sender_key"] == "ceo@client.example"

    plain = run("list", "--sender", "ceo@client.example", "--json")
    wider = run("list", "--sender", "ceo@client.example", "--include-claimed", "--json")
    table = run("list", "--sender", "ceo@client.example", "--include-claimed", "--wide")

    assert json.loads(plain.stdout) == []
    [found] = json.loads(wider.stdout)
    assert (found["file_id"], found["original_sender_level"]) == (claimed.file_id, "claimed")
    assert "ceo@client.example (claimed) via mallory@evil.example" in table.stdout
