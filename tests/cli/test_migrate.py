"""`mailroom migrate` on a table seeded with old-shape items (before by_time and
by_original_sender): backfilled, idempotent, resumable, --dry-run writes nothing, and staff's
fields survive."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from mailroom.adapters.catalog import from_ddb, to_ddb
from mailroom.adapters.schema import DynamoSchemaStore
from mailroom.model import SCHEMA_ITEM_KEY, SCHEMA_VERSION, FileRecord, file_pk_sk
from mailroom.usecases import migrate as use
from tests.cli.conftest import TABLE, Stack, hours_ago, run


def old_shape(stack: Stack, record: FileRecord) -> None:
    """What an item written before schema version 2 looks like: no time_key, no
    original_sender_key, the by_day key instead; and a staff deletion on it."""
    stack.ddb.update_item(
        TableName=TABLE,
        Key=to_ddb(file_pk_sk(record.file_id)),
        UpdateExpression="REMOVE time_key, original_sender_key SET day_key = :d, "
        "deleted = :t, deleted_by = :who",
        ExpressionAttributeValues=to_ddb(
            {":d": record.received_at[:10], ":t": True, ":who": "clerk@firm.example"}
        ),
    )


def item(stack: Stack, record: FileRecord) -> dict[str, Any]:
    response = stack.ddb.get_item(TableName=TABLE, Key=to_ddb(file_pk_sk(record.file_id)))
    return from_ddb(response["Item"])


def seed(stack: Stack, count: int) -> list[FileRecord]:
    records = []
    for n in range(count):
        record = stack.add_file(
            f"m{n:03d}",
            f"doc{n}.pdf",
            received_at=hours_ago(n + 1),
            original_sender="client@other.example" if n % 2 else None,
        )
        stack.add_message(f"m{n:03d}", received_at=record.received_at, file_ids=[record.file_id])
        old_shape(stack, record)
        records.append(record)
    return records


def test_migrate_backfills_index_keys_once_and_keeps_staff_fields(stack: Stack) -> None:
    records = seed(stack, 7)
    assert "time_key" not in item(stack, records[0])

    dry = run("migrate", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert (report["from_version"], report["to_version"]) == (1, SCHEMA_VERSION)
    assert report["steps"][0]["changed"] == 7  # the 7 files; the messages are whole
    assert "time_key" not in item(stack, records[0])  # nothing written
    assert DynamoSchemaStore(stack.ddb, TABLE).stored_version() is None

    done = run("migrate", "--json", "--page-size", "3")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["steps"][0]["changed"] == 7
    for record in records:
        fixed = item(stack, record)
        expected = record.to_item()
        assert fixed["time_key"] == expected["time_key"]
        assert fixed.get("original_sender_key") == expected.get("original_sender_key")
        # Staff's deletion and any attribute the code does not know are untouched.
        assert (fixed["deleted"], fixed["deleted_by"]) == (True, "clerk@firm.example")
        assert fixed["day_key"] == record.received_at[:10]
    assert DynamoSchemaStore(stack.ddb, TABLE).stored_version() == SCHEMA_VERSION

    again = run("migrate", "--json")
    assert again.exit_code == 0
    assert json.loads(again.output)["steps"] == []  # at the code's version: nothing to do
    # The listing (by_time) finds them again, the forwarded ones by their original sender too.
    listed = run("list", "--json", "--include-deleted")
    assert listed.exit_code == 0, listed.output
    assert {f["file_id"] for f in json.loads(listed.output)} == {r.file_id for r in records}


def test_an_interrupted_migration_resumes_where_it_stopped(stack: Stack) -> None:
    seed(stack, 6)
    store = DynamoSchemaStore(stack.ddb, TABLE)
    pages: list[int] = []

    class Interrupted(Exception):
        pass

    def stop_after_two_pages(scanned: int, total: int | None) -> None:
        pages.append(scanned)
        if len(pages) == 2:
            raise Interrupted

    with contextlib.suppress(Interrupted):
        use.migrate(store, page_size=2, progress=stop_after_two_pages)
    checkpoint = store.checkpoint()
    assert checkpoint is not None and checkpoint["version"] == 2  # stopped in the first step
    assert store.stored_version() is None
    resumed = use.migrate(store, page_size=2)
    step, then = resumed.steps
    assert step.resumed and (then.version, then.resumed) == (3, False)
    # It went on after the last saved page (the page in flight is scanned again: its updates
    # were made, so it changes nothing twice), and every file got its keys.
    assert 12 <= step.scanned < 12 + 2 * 2
    assert step.changed <= 6
    assert use.count_missing_index_keys(store)[1] == 0
    assert store.stored_version() == SCHEMA_VERSION and store.checkpoint() is None


def test_a_new_table_is_at_the_code_version_and_a_newer_one_is_refused(stack: Stack) -> None:
    store = DynamoSchemaStore(stack.ddb, TABLE)
    assert use.current_version(store) == SCHEMA_VERSION
    result = run("migrate", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["steps"] == []
    assert store.stored_version() == SCHEMA_VERSION
    schema = stack.ddb.get_item(TableName=TABLE, Key=to_ddb(SCHEMA_ITEM_KEY))["Item"]
    assert set(from_ddb(schema)) == {"pk", "sk", "type", "version"}  # no index key: unlisted
    store.set_version(SCHEMA_VERSION + 1)
    refused = run("migrate")
    assert refused.exit_code == 1
    assert "newer than this mailroom" in refused.output


def test_every_schema_version_has_a_registered_step() -> None:
    assert sorted(use.STEPS) == list(range(2, SCHEMA_VERSION + 1))
    assert all(step.version == v for v, step in use.STEPS.items())
