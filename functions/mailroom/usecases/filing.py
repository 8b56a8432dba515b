"""Filing (issue 21): messages the rules could not file, and staff filing them by hand.

Routing (`mailroom.routing`) gives each received message a case, or flags it `needs_filing`
when rules of one level disagree. Those are listed from a sparse index that only such messages
carry, so the listing costs what it returns. Re-filing sets the message's case and every one of
its files' cases, and records who did it and when; only those staff-owned fields change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

from mailroom.model import Bounds, FileRecord, MessageRecord, message_sort_key
from mailroom.ports import CaseHolds, LegalHolds, MessageFiler, NeedsFilingReader
from mailroom.routing import CASE_RE
from mailroom.usecases.errors import InvalidInput, NotFound
from mailroom.usecases.files import check_limit, check_range
from mailroom.usecases.holds import follow_case_hold
from mailroom.usecases.messages import MessagePage, MessageQuery, iso_z
from mailroom.usecases.params import json_object, known
from mailroom.usecases.roles import Role, needs

MAX_ACTOR_CHARS = 320


@needs(Role.READER)
def page_needing_filing(catalog: NeedsFilingReader, query: MessageQuery) -> MessagePage:
    """Messages flagged `needs_filing`, newest first, one page (cursor as `page_messages`)."""
    check_range(query.since, query.until)
    check_limit(query.limit)
    if query.cursor is not None and "#" not in query.cursor:
        raise InvalidInput("cursor", "the cursor is not one this listing returned")
    bounds = Bounds.of(query.since, query.until, query.cursor)
    records = catalog.messages_needing_filing(bounds, page_size=query.limit)
    taken = list(islice(records, query.limit + 1))
    shown = taken[: query.limit]
    more = len(taken) > query.limit and shown
    return MessagePage(shown, message_sort_key(shown[-1]) if more else None)


@dataclass(frozen=True, slots=True)
class Filed:
    message: MessageRecord
    files: list[FileRecord]  # as they now are: each with the new case
    previous_case: str | None


def case_from(value: object) -> str:
    """A case id as staff type it (`Case-42` -> `case-42`), or InvalidInput."""
    case = str(value or "").strip().lower()
    if not CASE_RE.match(case):
        raise InvalidInput(
            "case", f"{value!r} is not a case id (a-z, 0-9, '.', '_', '-'; at most 64)"
        )
    return case


def case_from_body(text: str | None) -> str:
    """POST /messages/{id}/file {"case": "case-42"}"""
    values = json_object(text)
    known(values, ("case",), "field")
    return case_from(values.get("case"))


@needs(Role.UPLOADER)  # re-filing changes a case: the role that may add documents
def file_message(
    catalog: MessageFiler,
    message_id: str,
    case: str,
    *,
    by: str,
    now: datetime | None = None,
    holds: CaseHolds | None = None,
    locks: LegalHolds | None = None,
) -> Filed:
    """File `message_id` and all its files under `case`; idempotent (a retry sets the same).

    The message first (it leaves the needs-filing list and says who and when; from then on
    the case is staff's, and the pipeline's writes keep it: `Catalog.put_message`), then each
    file recorded by then, listed after the message changed. A file whose record lands later
    (record_metadata runs a moment after the extraction) reads the filing after its write and
    follows it (`recording._follow_filing`), so no file keeps the old case.

    With `holds` and `locks`: a file re-filed into a case under legal hold is held as the case
    is (issue 22, `holds.follow_case_hold`): its versions locked, its record marked. A hold
    only moves in: a held file re-filed out of its case stays held until its hold is released.
    """
    actor = by.strip()
    if not actor or len(actor) > MAX_ACTOR_CHARS:
        raise InvalidInput("by", "filing must say who did it")
    case = case_from(case)
    record, _ = catalog.get_message(message_id)
    if record is None:
        raise NotFound(f"no message with id {message_id!r}")
    previous = record.case
    filed = catalog.file_message(message_id, case, actor, iso_z(now or datetime.now(UTC)))
    if filed is None:  # the record vanished in between
        raise NotFound(f"no message with id {message_id!r}")
    _, files = catalog.get_message(message_id)  # listed after the filing (see above)
    updated = []
    for file in sorted(files, key=lambda f: f.file_id):
        if catalog.set_file_case(file.file_id, case):
            file.case = case
            updated.append(file)
    if holds is not None and locks is not None:
        for file in updated:
            follow_case_hold(holds, locks, file)
    return Filed(filed, updated, previous)
