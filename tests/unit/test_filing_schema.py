"""by_filing needs no migration step (issue 21; docs/ARCHITECTURE.md "Routing rules").

Only the routing code sets `needs_filing`, so an item written before it never carries it and
must not gain `filing_key`; a message that does need filing carries the key from its first
write, and re-filing removes it.
"""

from __future__ import annotations

from mailroom.model import NEEDS_FILING, SCHEMA_VERSION, MessageRecord
from mailroom.usecases import migrate


def message(**changes: object) -> MessageRecord:
    values: dict[str, object] = {
        "message_id": "m1",
        "received_at": "2026-11-20T09:14:03.512Z",
        "raw_key": "raw/m1",
        "outcome": "extracted",
    }
    values.update(changes)
    return MessageRecord(**values)  # type: ignore[arg-type]


def test_an_item_written_before_routing_gains_no_filing_key() -> None:
    item = message(case="case-42").to_item()
    item.pop("needs_filing", None)  # older code wrote no such field
    assert "filing_key" not in item
    assert "filing_key" not in migrate.missing_index_keys(item)
    assert migrate.missing_index_keys(item) == {}


def test_a_message_needing_filing_carries_the_key_from_its_first_write() -> None:
    item = message(needs_filing=True).to_item()
    assert item["filing_key"] == NEEDS_FILING
    assert migrate.missing_index_keys(item) == {}


def test_by_filing_needs_no_step_and_every_version_has_its_step() -> None:
    assert SCHEMA_VERSION == 3  # by_filing added no step; trust levels added step 3
    assert sorted(migrate.STEPS) == list(range(2, SCHEMA_VERSION + 1))
