"""Migration step (issue 16): records indexed by an original sender that is only claimed.

Before original senders had levels, every one was written to `by_original_sender`, so a search
by sender found whoever a forward claimed to be from. This step moves each file record whose
original sender is not verified or vouched (a record from before levels has none: claimed)
out of that index into `by_claimed_sender`, where `--include-claimed` finds it.

Written as one function for `mailroom migrate` to register (branch `deploy`). It reads every
file record once through `by_time` (Queries over its shards, no Scan), so its cost is linear in
the files; each move is a conditional update that touches only the index key and the level, so
running it twice, or alongside record_metadata, changes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from mailroom.model import FileRecord
from mailroom.policy import indexed_trust

STEP_NAME = "unindex-claimed-original-senders"


class ClaimedSenderCatalog(Protocol):
    def files_newest_first(self, bounds: None = None) -> Iterator[FileRecord]: ...

    def unindex_claimed_original_sender(self, file_id: str, address: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class MigrationReport:
    examined: int
    moved: int


def unindex_claimed_original_senders(
    catalog: ClaimedSenderCatalog,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    """Move every claimed original sender from `by_original_sender` to `by_claimed_sender`."""
    examined = moved = 0
    for record in catalog.files_newest_first():
        examined += 1
        original = (record.original_sender or "").lower()
        needs_move = (
            original
            and original != (record.sender or "").lower()  # never indexed as original then
            and not indexed_trust(record.original_sender_level)
        )
        if needs_move and (
            dry_run or catalog.unindex_claimed_original_sender(record.file_id, original)
        ):
            moved += 1
        if progress is not None and examined % 500 == 0:
            progress(examined, moved)
    return MigrationReport(examined, moved)
