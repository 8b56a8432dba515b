"""Migration step 3 (`mailroom migrate`) takes claimed original senders out of the sender
index, run on a seeded table (moto): afterwards `--sender` finds only verified/vouched ones."""

from __future__ import annotations

from mailroom.adapters.catalog import to_ddb
from mailroom.adapters.schema import DynamoSchemaStore
from mailroom.model import FileRecord
from mailroom.usecases.files import FileQuery, list_files
from mailroom.usecases.migrate import migrate
from tests.integration.conftest import Stack


def record(
    n: int, original: str | None, level: str | None, sender: str = "fwd@x.example"
) -> FileRecord:
    return FileRecord(
        file_id=f"incoming/m{n}/01-f{n}.pdf",
        filename=f"f{n}.pdf",
        safe_name=f"01-f{n}.pdf",
        size=3,
        sha256=f"{n:064x}",
        received_at=f"2026-11-0{n}T10:00:00.000Z",
        source="email",
        message_id=f"m{n}",
        sender=sender,
        original_sender=original,
        original_sender_via="attached-message" if original else None,
        original_sender_level=level,
    )


def legacy_item(stack: Stack, rec: FileRecord) -> None:
    """A record as main wrote it before levels: indexed by its original sender, no level."""
    item = rec.to_item()
    item.pop("claimed_sender_key", None)
    item["original_sender_key"] = (rec.original_sender or "").lower()
    stack.ddb.put_item(TableName="mailroom-test", Item=to_ddb(item))


def found(stack: Stack, sender: str, include_claimed: bool = False) -> list[str]:
    page = list_files(stack.catalog, FileQuery(sender=sender, include_claimed=include_claimed))
    return [m.record.file_id for m in page.files]


def test_claimed_original_senders_leave_the_sender_index(stack: Stack) -> None:
    # GIVEN two legacy records (no level) and one of each level written today
    legacy_item(stack, record(1, "ceo@client.example", None))
    legacy_item(stack, record(2, "ceo@client.example", None))
    stack.catalog.put_file(record(3, "ceo@client.example", "verified"))
    stack.catalog.put_file(record(4, "ceo@client.example", "vouched"))
    stack.catalog.put_file(record(5, None, None))
    assert found(stack, "ceo@client.example") == [
        "incoming/m4/01-f4.pdf",
        "incoming/m3/01-f3.pdf",
        "incoming/m2/01-f2.pdf",
        "incoming/m1/01-f1.pdf",
    ]

    # WHEN the table, at version 2, is migrated (twice: the second run has nothing to do)
    store = DynamoSchemaStore(stack.ddb, "mailroom-test")
    store.set_version(2)
    report = migrate(store)
    store.set_version(2)
    again = migrate(store)

    # THEN only verified and vouched are found by sender; the rest with --include-claimed
    [step] = report.steps
    assert (step.version, step.changed) == (3, 2)
    assert again.steps[0].changed == 0
    assert found(stack, "ceo@client.example") == ["incoming/m4/01-f4.pdf", "incoming/m3/01-f3.pdf"]
    assert found(stack, "ceo@client.example", include_claimed=True) == [
        "incoming/m4/01-f4.pdf",
        "incoming/m3/01-f3.pdf",
        "incoming/m2/01-f2.pdf",
        "incoming/m1/01-f1.pdf",
    ]
    migrated = stack.catalog.get_file("incoming/m1/01-f1.pdf")
    assert migrated is not None and migrated.original_sender_level == "claimed"
    # the forwarder is still found as the sender
    assert len(found(stack, "fwd@x.example")) == 5


def test_dry_run_changes_nothing(stack: Stack) -> None:
    legacy_item(stack, record(1, "ceo@client.example", None))
    store = DynamoSchemaStore(stack.ddb, "mailroom-test")
    store.set_version(2)
    report = migrate(store, dry_run=True)
    assert report.steps[0].changed == 1
    assert found(stack, "ceo@client.example") == ["incoming/m1/01-f1.pdf"]
