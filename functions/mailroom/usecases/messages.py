"""Queries on message records: one message with its files, messages by outcome or all of them.

"All messages" merges the few outcome partitions of `by_outcome` (one Query each to start), so
it costs about what it returns, like the file listing. `older_than` finds records left behind,
such as messages stuck in `processing` after an out-of-memory kill.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from mailroom.model import Bounds, FileRecord, MessageRecord, message_sort_key
from mailroom.policy import Outcome
from mailroom.ports import FileCatalog
from mailroom.usecases.errors import InvalidInput, NotFound
from mailroom.usecases.files import check_limit, check_range
from mailroom.usecases.params import day, known, page_size
from mailroom.usecases.roles import Role, needs

UPLOAD_ID = re.compile(r"up-[0-9]{8}-[0-9a-f]+")

# Every outcome a record can carry. "processing" is the record written before extraction starts
# (issue 7); listed here too so that the partition is read even before the enum names it.
OUTCOMES: tuple[str, ...] = tuple(dict.fromkeys([*(str(o) for o in Outcome), "processing"]))


@dataclass(frozen=True, slots=True)
class MessageView:
    record: MessageRecord | None  # None: an upload's id (files but no message record)
    files: list[FileRecord]  # recorded files, in part order
    held: list[str] = field(default_factory=list)  # quarantined objects: kept, never served
    upload: bool = False  # the id is an upload's (`mailroom upload`, the dashboard): no email


@needs(Role.READER)
def get_message(catalog: FileCatalog, message_id: str) -> MessageView:
    record, files = catalog.get_message(message_id)
    upload = record is None and is_upload_id(message_id)
    if record is None and not files:
        if upload:
            raise NotFound(
                f"no file of upload {message_id!r} is recorded (yet: recording takes seconds)"
            )
        raise NotFound(f"no message with id {message_id!r}")
    held: list[str] = []
    if record is not None and str(record.outcome) == Outcome.QUARANTINED:
        # A quarantined message's files sit under quarantine/ with no file record: list them.
        held = list(record.file_ids)
    return MessageView(record, sorted(files, key=lambda f: f.file_id), held, upload)


def is_upload_id(message_id: str) -> bool:
    """`up-<yyyymmdd>-<hex>` (`uploads.new_upload_id`): never an SES or import message id."""
    return UPLOAD_ID.fullmatch(message_id) is not None


def container_of(record: FileRecord, siblings: list[FileRecord]) -> FileRecord | None:
    """The archive or .msg a file was taken from: the sibling whose key is `<nn>-...` with
    `nn` the file's `parent_index` (issue 20)."""
    if record.parent_index is None:
        return None
    for sibling in siblings:
        number = sibling.file_id.rsplit("/", 1)[-1].partition("-")[0]
        if number.isdigit() and int(number) == record.parent_index:
            return sibling
    return None


@dataclass(frozen=True, slots=True)
class MessageQuery:
    outcome: str | None = None  # None: every outcome
    since: date | None = None
    until: date | None = None
    older_than: int | None = None  # seconds: only records received before now minus this
    limit: int = 50
    cursor: str | None = None  # `MessagePage.next` of the previous page

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> MessageQuery:
        """GET /messages?outcome=&since=&until=&limit=&cursor="""
        known(params, ("outcome", "since", "until", "limit", "cursor"))
        return cls(
            outcome=params.get("outcome") or None,
            since=day("since", params.get("since")),
            until=day("until", params.get("until")),
            limit=page_size(params.get("limit")),
            cursor=params.get("cursor") or None,
        )


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[MessageRecord]
    next: str | None  # a cursor for the following page, None at the end


def iso_z(moment: datetime) -> str:
    """The shape of `received_at` (milliseconds, Z), so it compares with sort keys."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@needs(Role.READER)
def list_messages(
    catalog: FileCatalog, query: MessageQuery, *, now: datetime | None = None
) -> list[MessageRecord]:
    return page_messages(catalog, query, now=now).messages


@needs(Role.READER)
def page_messages(
    catalog: FileCatalog, query: MessageQuery, *, now: datetime | None = None
) -> MessagePage:
    """Messages newest first, one page; the cursor is the sort key of the last one shown."""
    check_range(query.since, query.until)
    check_limit(query.limit)
    if query.outcome is not None and query.outcome not in OUTCOMES:
        raise InvalidInput("outcome", f"{query.outcome!r} is not one of {', '.join(OUTCOMES)}")
    before = query.cursor
    if before is not None and "#" not in before:
        raise InvalidInput("cursor", "the cursor is not one this listing returned")
    if query.older_than is not None:
        cut = iso_z((now or datetime.now(UTC)) - timedelta(seconds=query.older_than))
        before = cut if before is None else min(before, cut)
    bounds = Bounds.of(query.since, query.until, before)
    if query.outcome is not None:
        records = catalog.messages_with(query.outcome, bounds, page_size=query.limit)
    else:
        records = catalog.messages_newest_first(OUTCOMES, bounds, page_size=query.limit)
    taken = list(islice(records, query.limit + 1))
    shown = taken[: query.limit]
    more = len(taken) > query.limit and shown
    return MessagePage(shown, message_sort_key(shown[-1]) if more else None)
