"""Queries on file records: the listing (by sender, by case, by date), one file, duplicates.

Every listing is newest first and lazy: it asks the catalogue for about `limit` rows and stops,
so its cost follows the rows returned, not the date range. Files of one message keep their part
order (01, 02, ...) inside the newest-first list, the order `mailroom message` shows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from itertools import islice
from typing import Any

from mailroom.model import PREFIXES, Bounds, FileRecord
from mailroom.policy import indexed_trust
from mailroom.ports import FileCatalog
from mailroom.usecases.errors import InvalidInput, NotFound
from mailroom.usecases.params import day, flag, known, page_size
from mailroom.usecases.roles import Role, needs

TOP = "\U0010ffff"  # sorts after any key (UTF-8 and code points agree)
MAX_LIMIT = 10_000  # one listing; more is a job for --format csv over several ranges


@dataclass(frozen=True, slots=True)
class FileQuery:
    sender: str | None = None  # the sender of record or the client behind a forward
    case: str | None = None
    since: date | None = None  # UTC days, inclusive
    until: date | None = None
    limit: int = 50
    cursor: str | None = None  # `FilePage.next` of the previous page
    include_deleted: bool = False  # deleted files are hidden unless asked for
    # With a sender: also files whose original sender is only claimed (never verified or
    # vouched); they come from their own index, so the cost still follows the rows returned.
    include_claimed: bool = False
    # Issue 20: documents only unless asked for (inline images, signatures, trackers, bodies).
    include_all: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> FileQuery:
        """GET /files?sender=&case=&since=&until=&limit=&cursor=&include_deleted="""
        known(params, PARAMS)
        return cls(
            sender=params.get("sender") or None,
            case=params.get("case") or None,
            since=day("since", params.get("since")),
            until=day("until", params.get("until")),
            limit=page_size(params.get("limit")),
            cursor=params.get("cursor") or None,
            include_deleted=flag("include_deleted", params.get("include_deleted")),
            include_claimed=flag("include_claimed", params.get("include_claimed")),
            include_all=flag("all", params.get("all")),
        )


PARAMS: tuple[str, ...] = ("sender", "case", "since", "until", "limit", "cursor")
PARAMS += ("include_deleted", "all", "include_claimed")


@dataclass(frozen=True, slots=True)
class FileMatch:
    record: FileRecord
    matched: str | None = None  # with a sender filter: "sender" or "original_sender"

    def to_dict(self) -> dict[str, Any]:
        """The record's fields, plus `matched` when a sender filter chose it (CLI and API)."""
        values = asdict(self.record)
        if values.get("original_sender") and not values.get("original_sender_level"):
            values["original_sender_level"] = "claimed"  # recorded before levels existed
        if self.matched is not None:
            values["matched"] = self.matched
        return values


@dataclass(frozen=True, slots=True)
class FilePage:
    files: list[FileMatch]
    next: str | None  # a cursor for the following page, None at the end


def check_range(since: date | None, until: date | None) -> None:
    if since and until and since > until:
        raise InvalidInput("since", f"the start {since} is after the end {until}")


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"the limit is between 1 and {MAX_LIMIT}")


@needs(Role.READER)
def list_files(catalog: FileCatalog, query: FileQuery) -> FilePage:
    """Files newest first, filtered by sender and/or case, one page of `query.limit`."""
    check_range(query.since, query.until)
    check_limit(query.limit)
    position = _Cursor.decode(query.cursor)
    bounds = Bounds.of(query.since, query.until)
    if position is not None:
        # Re-read the message the previous page stopped in, then skip what it showed.
        bounds = Bounds(bounds.low, min(bounds.high or TOP, position.group + TOP))
    page = query.limit + (position.shown if position else 0)
    matches: Iterable[FileMatch]
    sender = (query.sender or "").strip().lower() or None
    # Passed only when asked for, so a catalogue that lists documents only still serves.
    every: dict[str, Any] = {"include_all": True} if query.include_all else {}
    if query.case:
        records = catalog.files_of_case(query.case.strip().lower(), bounds, page_size=page, **every)
        claimed = query.include_claimed
        matches = (m for r in records if (m := _match(r, sender, claimed)) is not None)
    elif sender:
        # Asked for only when wanted: a catalogue without claimed senders need not know it.
        extra = {"include_claimed": True} if query.include_claimed else {}
        found = catalog.files_from(sender, bounds, page_size=page, **every, **extra)
        matches = (FileMatch(r, role) for r, role in found)
    else:
        matches = (
            FileMatch(r) for r in catalog.files_newest_first(bounds, page_size=page, **every)
        )
    if not query.include_deleted:
        # Skipped rows are still read: a listing costs what it returns plus the deleted files
        # among them (few: deleting is for what was sent by mistake).
        matches = (m for m in matches if not m.record.deleted)
    ordered = in_part_order(matches)
    if position is not None:
        ordered = _skip_shown(ordered, position)
    taken = list(islice(ordered, query.limit + 1))
    files = taken[: query.limit]
    more = len(taken) > query.limit
    if not (more and files):
        return FilePage(files, None)
    after = _Cursor.after(files)
    if position is not None and after.group == position.group:
        # Still inside the message the previous page stopped in: count what it showed too.
        after = _Cursor(after.group, after.shown + position.shown)
    return FilePage(files, after.encode())


def _match(record: FileRecord, sender: str | None, include_claimed: bool) -> FileMatch | None:
    if sender is None:
        return FileMatch(record)
    if (record.sender or "").lower() == sender:
        return FileMatch(record, "sender")
    if (record.original_sender or "").lower() == sender and (
        include_claimed or indexed_trust(record.original_sender_level)
    ):
        return FileMatch(record, "original_sender")
    return None


def group_key(record: FileRecord) -> str:
    """The sort-key prefix shared by the files of one message: `<received-at>#<folder>/`."""
    folder = record.file_id.rsplit("/", 1)[0] + "/" if "/" in record.file_id else record.file_id
    return f"{record.received_at}#{folder}"


def in_part_order(matches: Iterable[FileMatch]) -> Iterator[FileMatch]:
    """Newest message first, but each message's files in their own order (01, 02, ...)."""
    group: list[FileMatch] = []
    for match in matches:
        if group and group_key(group[0].record) != group_key(match.record):
            yield from sorted(group, key=lambda m: m.record.file_id)
            group = []
        group.append(match)
    yield from sorted(group, key=lambda m: m.record.file_id)


@dataclass(frozen=True, slots=True)
class _Cursor:
    group: str  # group_key of the last file shown
    shown: int  # how many files of that group were shown so far

    @classmethod
    def after(cls, files: list[FileMatch]) -> _Cursor:
        last = group_key(files[-1].record)
        return cls(last, sum(1 for m in files if group_key(m.record) == last))

    def encode(self) -> str:
        raw = json.dumps([self.group, self.shown], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> _Cursor | None:
        if not text:
            return None
        try:
            group, shown = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, TypeError, binascii.Error):
            raise InvalidInput("cursor", "the cursor is not one this listing returned") from None
        if not isinstance(group, str) or not isinstance(shown, int) or shown < 0:
            raise InvalidInput("cursor", "the cursor is not one this listing returned")
        return cls(group, shown)


def _skip_shown(ordered: Iterator[FileMatch], position: _Cursor) -> Iterator[FileMatch]:
    skipped = 0
    for match in ordered:
        if skipped < position.shown and group_key(match.record) == position.group:
            skipped += 1
            continue
        yield match


@needs(Role.READER)
def get_file(catalog: FileCatalog, file_id: str) -> FileRecord:
    record = catalog.get_file(file_id)
    if record is None:
        raise not_found_file(file_id)
    return record


def not_found_file(file_id: str) -> NotFound:
    hint = ""
    if not file_id.startswith(PREFIXES.incoming):
        hint = f" (file ids are object keys like {PREFIXES.incoming}<message-id>/01-name.pdf)"
    return NotFound(f"no file with id {file_id!r}{hint}")


def checked_sha256(value: str) -> str:
    digest = value.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidInput("sha256", "a sha256 is 64 hexadecimal digits")
    return digest


@needs(Role.READER)
def duplicates(
    catalog: FileCatalog, *, file_id: str | None = None, sha256: str | None = None
) -> list[FileRecord]:
    """Other files with the same bytes, newest first; a file is never its own duplicate."""
    if (file_id is None) == (sha256 is None):
        raise InvalidInput("file_id", "give either a file id or a sha256 (one of them)")
    if sha256 is not None:
        return list(catalog.files_by_sha256(checked_sha256(sha256)))
    assert file_id is not None
    record = get_file(catalog, file_id)
    return [r for r in catalog.files_by_sha256(record.sha256) if r.file_id != record.file_id]
