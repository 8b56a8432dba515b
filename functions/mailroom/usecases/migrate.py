"""`mailroom migrate`: bring the table's items to the code's schema version, step by step.

The version lives in one item (model.SCHEMA_ITEM_KEY). A table without it is at version 1 when
it holds records (written before versions were recorded), and current when it is empty (a new
stack: there is nothing to change). Each change of index keys registers a step in STEPS: a pure
function from an item to the attributes it must gain. A step scans the table once (a linear
pass, page by page), updates only what differs with UpdateItem (never PutItem: nothing else on
the item is touched), and saves its position after every page, so an interrupted run resumes
where it stopped; running it again finds nothing to change (idempotent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mailroom.model import INDEXES, SCHEMA_VERSION, SORT_KEY, FileRecord, MessageRecord
from mailroom.ports import REMOVED, SchemaStore

INDEX_ATTRIBUTES = (SORT_KEY, *INDEXES.values())


def expected_index_keys(item: dict[str, Any]) -> dict[str, Any]:
    """The index keys (and sort key) the current code writes for this item; {} for others."""
    try:
        if item.get("type") == "file":
            full = FileRecord.from_item(item).to_item()
        elif item.get("type") == "message":
            full = MessageRecord.from_item(item).to_item()
        else:
            return {}
    except (KeyError, TypeError, ValueError):
        return {}  # not a record this code can read: left alone, counted as skipped
    return {name: full[name] for name in INDEX_ATTRIBUTES if name in full}


def missing_index_keys(item: dict[str, Any]) -> dict[str, Any]:
    """What the item lacks (or holds differently) of the keys the code's indexes need."""
    return {k: v for k, v in expected_index_keys(item).items() if item.get(k) != v}


def stale_index_keys(item: dict[str, Any]) -> dict[str, Any]:
    """Index keys the item holds but the code no longer writes for it (REMOVED), and those it
    lacks: a claimed original sender leaves `by_original_sender` for `by_claimed_sender`."""
    expected = expected_index_keys(item)
    if not expected:
        return {}  # not a record this code can read: left alone
    changes: dict[str, Any] = {k: v for k, v in expected.items() if item.get(k) != v}
    changes.update({k: REMOVED for k in INDEX_ATTRIBUTES if k in item and k not in expected})
    return changes


def trust_levels(item: dict[str, Any]) -> dict[str, Any]:
    """Step 3: a file record written before levels says what it was, claimed (nothing verified
    or vouched for it then), and its index keys follow (`stale_index_keys`)."""
    changes = stale_index_keys(item)
    original = str(item.get("original_sender") or "").lower()
    forwarded = original and original != str(item.get("sender") or "").lower()
    if item.get("type") == "file" and forwarded and "original_sender_level" not in item:
        changes["original_sender_level"] = "claimed"
    return changes


@dataclass(frozen=True)
class Step:
    version: int  # the version the table is at once the step has run
    description: str
    changes: Callable[[dict[str, Any]], dict[str, Any]]  # item -> attributes to set


# Every change of index keys adds one step here and raises model.SCHEMA_VERSION to match.
# A new index whose key no existing item can carry (by_filing: only the routing code sets
# needs_filing) needs none: missing_index_keys finds nothing (tests/unit/test_filing_schema.py).
STEPS: dict[int, Step] = {
    2: Step(
        2,
        "backfill index keys (by_time, by_original_sender and the others) on older items",
        missing_index_keys,
    ),
    3: Step(
        3,
        "index original senders by trust level: claimed ones leave by_original_sender for "
        "by_claimed_sender (stale index keys removed)",
        trust_levels,
    ),
}


@dataclass
class StepReport:
    version: int
    description: str
    scanned: int = 0
    changed: int = 0  # updated, or (dry run) would be
    skipped: int = 0  # updated concurrently (gone) or unreadable
    resumed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "description": self.description,
            "scanned": self.scanned,
            "changed": self.changed,
            "skipped": self.skipped,
            "resumed": self.resumed,
        }


@dataclass
class MigrateReport:
    from_version: int
    to_version: int
    dry_run: bool
    steps: list[StepReport] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return self.from_version == self.to_version

    def as_dict(self) -> dict[str, Any]:
        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "code_version": SCHEMA_VERSION,
            "dry_run": self.dry_run,
            "steps": [s.as_dict() for s in self.steps],
        }


class SchemaTooNew(Exception):
    """The table was migrated by a newer mailroom than this one."""


def current_version(store: SchemaStore) -> int:
    stored = store.stored_version()
    if stored is not None:
        return stored
    return 1 if store.has_records() else SCHEMA_VERSION


Progress = Callable[[int, int | None], None]  # items scanned so far, total (approximate)


def migrate(
    store: SchemaStore,
    *,
    dry_run: bool = False,
    page_size: int = 500,
    progress: Progress | None = None,
    steps: dict[int, Step] | None = None,
    target: int = SCHEMA_VERSION,
) -> MigrateReport:
    steps = STEPS if steps is None else steps
    start = current_version(store)
    if start > target:
        raise SchemaTooNew(
            f"the table is at schema version {start}, newer than this mailroom's {target}: "
            "upgrade mailroom"
        )
    report = MigrateReport(start, target, dry_run)
    total = store.item_count()
    for version in range(start + 1, target + 1):
        step = steps[version]
        result = StepReport(version, step.description)
        report.steps.append(result)
        saved = None if dry_run else store.checkpoint()
        start_key = None
        if saved and saved.get("version") == version:
            start_key = saved.get("last_key")
            result.scanned = int(saved.get("scanned", 0))
            result.changed = int(saved.get("changed", 0))
            result.resumed = start_key is not None
        while True:
            items, start_key = store.scan_page(start_key, page_size)
            for item in items:
                result.scanned += 1
                changes = step.changes(item)
                if not changes:
                    continue
                if dry_run or store.set_attributes({"pk": item["pk"], "sk": item["sk"]}, changes):
                    result.changed += 1
                else:
                    result.skipped += 1
            if progress:
                progress(result.scanned, total)
            if start_key is None:
                break
            if not dry_run:
                store.save_checkpoint(
                    {
                        "version": version,
                        "last_key": start_key,
                        "scanned": result.scanned,
                        "changed": result.changed,
                    }
                )
        if not dry_run:
            store.set_version(version)
    if not dry_run and start == target and store.stored_version() is None:
        store.set_version(target)  # a new table: record its version once
    return report


def count_missing_index_keys(
    store: SchemaStore, page_size: int = 500, progress: Progress | None = None
) -> tuple[int, int, list[str]]:
    """A full scan (preflight --deep): items scanned, items missing keys, a few of their ids."""
    scanned = missing = 0
    examples: list[str] = []
    start_key: dict[str, Any] | None = None
    total = store.item_count()
    while True:
        items, start_key = store.scan_page(start_key, page_size)
        for item in items:
            scanned += 1
            if missing_index_keys(item):
                missing += 1
                if len(examples) < 5:
                    examples.append(str(item.get("file_id") or item.get("message_id")))
        if progress:
            progress(scanned, total)
        if start_key is None:
            return scanned, missing, examples
