"""Reports over a date range: counts by sender, day, month, case, outcome or type; the cases.

A report reads every record in its range (Query pages of up to 1 MB, newest first, never a
Scan): it is a summary of the range, so its cost is the range's size, and `--since` keeps it
small. Files are counted by the client who sent them: the original sender of a forward, else the
sender.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from mailroom.model import Bounds, FileRecord
from mailroom.ports import FileCatalog
from mailroom.usecases.errors import InvalidInput
from mailroom.usecases.files import check_range
from mailroom.usecases.messages import OUTCOMES
from mailroom.usecases.roles import Role, needs

STAT_KEYS = ("sender", "day", "month", "case", "outcome", "type")


@dataclass(frozen=True, slots=True)
class StatRow:
    key: str
    count: int  # files (messages, for `outcome`)
    # Bytes of those files. None for `outcome`: a message record carries no size, and summing
    # its files' sizes would cost a read per message, so the report says nothing rather than 0.
    size: int | None
    last: str  # the newest received_at in the group


def _type_of(record: FileRecord) -> str:
    detected = record.detected_type or ""
    generic = {"", "text/plain", "application/octet-stream"}
    if detected in generic and record.content_type and record.content_type not in generic:
        return record.content_type
    return detected or record.content_type or "unknown"


_FILE_KEYS: dict[str, Callable[[FileRecord], str]] = {
    "sender": lambda r: (r.original_sender or r.sender or "unknown").lower(),
    "day": lambda r: r.received_at[:10],
    "month": lambda r: r.received_at[:7],
    "case": lambda r: r.case or "(none)",
    "type": _type_of,
}


@needs(Role.READER)
def stats(
    catalog: FileCatalog, by: str, since: date | None = None, until: date | None = None
) -> list[StatRow]:
    """Groups, largest count first (days and months: newest first)."""
    check_range(since, until)
    if by not in STAT_KEYS:
        raise InvalidInput("by", f"stats by one of {', '.join(STAT_KEYS)}")
    bounds = Bounds.of(since, until)
    if by == "outcome":
        rows = [
            _count(o, (m.received_at for m in catalog.messages_with(o, bounds))) for o in OUTCOMES
        ]
        return sorted((r for r in rows if r.count), key=lambda r: (-r.count, r.key))
    key = _FILE_KEYS[by]
    groups: dict[str, list[int | str]] = {}
    for record in catalog.files_newest_first(bounds):
        group = groups.setdefault(key(record), [0, 0, record.received_at])
        group[0] = int(group[0]) + 1
        group[1] = int(group[1]) + record.size
    rows = [StatRow(k, int(c), int(s), str(last)) for k, (c, s, last) in groups.items()]
    if by in {"day", "month"}:
        return sorted(rows, key=lambda r: r.key, reverse=True)
    return sorted(rows, key=lambda r: (-r.count, r.key))


def _count(key: str, times: Iterable[str]) -> StatRow:
    count = 0
    last = ""
    for received_at in times:
        count, last = count + 1, max(last, received_at)
    return StatRow(key, count, None, last)


@needs(Role.READER)
def cases(
    catalog: FileCatalog, since: date | None = None, until: date | None = None
) -> list[StatRow]:
    """Every case tag with files in the range: file count, bytes and last activity, newest first."""
    rows = [r for r in stats(catalog, "case", since, until) if r.key != "(none)"]
    return sorted(rows, key=lambda r: (r.last, r.key), reverse=True)
