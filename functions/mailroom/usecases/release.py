"""Quarantine review and release (issue 22).

`quarantine` lists the messages the spam/virus policy held back (the `by_outcome` index,
partition `quarantined`: a Query, paid per row returned). `release_message` hands the extract
function an asynchronous event for one of them, rebuilt from its record as `reprocess` does,
carrying a release decision (`mailroom.release`). The function runs the message again from
`raw/` with that decision overriding the policy's quarantine, writes its files under
`incoming/` with its own role, and records the message `released`: nothing is written with the
caller's credentials, and staff never read `quarantine/` or `raw/`.

A virus FAIL is refused here without `allow_virus` and again by the function, because the
event is the boundary (anyone allowed to invoke the function could send one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from mailroom.model import Bounds, MessageRecord, message_sort_key
from mailroom.policy import Outcome
from mailroom.ports import FileCatalog, Invoker
from mailroom.release import EVENT_KEY, Release, ReleaseRefused, check_virus
from mailroom.usecases.errors import InvalidInput, NotFound
from mailroom.usecases.files import check_limit
from mailroom.usecases.params import day, json_object, known, page_size
from mailroom.usecases.reprocess import event_from_record
from mailroom.usecases.roles import Role, needs


@dataclass(frozen=True, slots=True)
class QuarantinePage:
    messages: list[MessageRecord]
    next: str | None  # a cursor for the following page, None at the end


@needs(Role.ADMIN)
def quarantine(
    catalog: FileCatalog,
    *,
    since: date | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> QuarantinePage:
    """Held messages, newest first, with the reason and the verdicts on their records."""
    check_limit(limit)
    if cursor is not None and "#" not in cursor:
        raise InvalidInput("cursor", "the cursor is not one this listing returned")
    bounds = Bounds.of(since, None, cursor)
    records = catalog.messages_with(str(Outcome.QUARANTINED), bounds, page_size=limit)
    taken = list(islice(records, limit + 1))
    shown = taken[:limit]
    more = len(taken) > limit and shown
    return QuarantinePage(shown, message_sort_key(shown[-1]) if more else None)


def quarantine_params(params: Mapping[str, str]) -> dict[str, Any]:
    """GET /quarantine?since=&limit=&cursor="""
    known(params, ("since", "limit", "cursor"))
    return {
        "since": day("since", params.get("since")),
        "limit": page_size(params.get("limit")),
        "cursor": params.get("cursor") or None,
    }


def release_from_body(text: str | None) -> tuple[str, bool]:
    """POST /messages/{id}/release {"reason": "...", "allow_virus": false}"""
    values = json_object(text)
    known(values, ("reason", "allow_virus"), "field")
    reason = values.get("reason")
    if not isinstance(reason, str):
        raise InvalidInput("reason", "reason is a string: say why the message is released")
    allow_virus = values.get("allow_virus", False)
    if not isinstance(allow_virus, bool):
        raise InvalidInput("allow_virus", "allow_virus is true or false")
    return reason, allow_virus


@dataclass(frozen=True, slots=True)
class ReleaseQueued:
    message_id: str
    function_name: str
    release: Release
    verdicts: dict[str, str]
    reason: str | None  # why it was held

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "function_name": self.function_name,
            "released_by": self.release.by,
            "released_at": self.release.at,
            "release_reason": self.release.reason,
            "allow_virus": self.release.allow_virus,
            "verdicts": self.verdicts,
            "held_for": self.reason,
        }


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def release_event(record: MessageRecord, release: Release) -> dict[str, Any]:
    """The SES event that runs the message again (reprocess.event_from_record), plus the
    release decision."""
    event = event_from_record(record.to_item())
    event["Records"][0]["ses"]["mail"][EVENT_KEY] = release.to_event()
    return event


@needs(Role.ADMIN)
def release_message(
    catalog: FileCatalog,
    invoker: Invoker,
    function_name: str,
    message_id: str,
    *,
    by: str,
    reason: str,
    allow_virus: bool = False,
    now: datetime | None = None,
) -> ReleaseQueued:
    """Queue the release of one quarantined message; raise, saying why, if it is not one."""
    try:
        release = Release.of(by, _iso(now or datetime.now(UTC)), reason, allow_virus=allow_virus)
    except ReleaseRefused as exc:
        raise InvalidInput("by" if "release by" in str(exc) else "reason", str(exc)) from None
    message_id = message_id.strip()
    if not message_id or "/" in message_id:
        raise InvalidInput("message", f"{message_id!r} is not a message id")
    record, _files = catalog.get_message(message_id)
    if record is None:
        raise NotFound(f"no message with id {message_id!r}")
    outcome = str(record.outcome)
    if outcome == Outcome.RELEASED:
        raise InvalidInput(
            "message",
            f"{message_id} was already released by {record.released_by} at {record.released_at}",
        )
    if outcome != Outcome.QUARANTINED:
        raise InvalidInput("message", f"{message_id} is {outcome}, not quarantined")
    try:
        check_virus(record.verdicts, allow_virus)
    except ReleaseRefused as exc:
        raise InvalidInput("allow_virus", f"{message_id}: {exc}") from None
    invoker.invoke_async(function_name, release_event(record, release))
    return ReleaseQueued(message_id, function_name, release, dict(record.verdicts), record.reason)
