"""The audit trail (issue 22): record every staff action, and read the trail back.

`record_action` is what every use case or entry point calls once an action was served:

    record_action(log, actor=person, action=Action.DOWNLOAD, target=Target.file(file_id),
                  origin="api")

It never makes the action fail: an entry that cannot be written is logged ("audit entry not
written", with the entry's fields) and counted (`on_failure`, which the api handler turns into
the `AuditWriteFailures` metric), like `OutcomePublisher` does for events. Listings and shows
are deduplicated per person, filter and minute (`mailroom.audit.DEDUPED`): the repeat's
conditional put is refused and nothing else happens.

Reading the trail (`mailroom audit`, GET /audit, the dashboard's History) is for admins: who
read what is itself sensitive (it shows what colleagues worked on).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

from mailroom.audit import (
    Action,
    AuditEntry,
    Reporter,
    Target,
    month_keys,
    new_entry,
)
from mailroom.model import Bounds, group_of
from mailroom.ports import AuditLog
from mailroom.usecases.errors import InvalidInput
from mailroom.usecases.roles import Role, needs

logger = logging.getLogger(__name__)

FailureHook = Callable[[Exception], None]
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
DEFAULT_RETENTION_DAYS = 365


def record_action(
    log: AuditLog | None,
    *,
    actor: str,
    action: Action | str,
    target: Target,
    origin: str,
    reported_by: Reporter | str = Reporter.SERVER,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    on_failure: FailureHook | None = None,
    entry_id: str | None = None,
) -> None:
    """Append one entry for an action that was served; never raises.

    `entry_id` (with `now`) makes the entry's key deterministic, for an action carried out by
    an event that may arrive twice (a release): the repeat's conditional put is refused.

    `log` None (an entry point without a trail configured) records nothing. Any failure
    (an invalid entry, DynamoDB refusing or unreachable) is logged and passed to `on_failure`.
    """
    if log is None:
        return
    try:
        entry = new_entry(
            actor=actor,
            action=action,
            target=target,
            origin=origin,
            at=now or datetime.now(UTC),
            reported_by=reported_by,
            details=details,
            nonce=entry_id or uuid.uuid4().hex,
        )
        if not log.append(entry):
            logger.debug("audit entry deduplicated", extra={"entry_id": entry.entry_id})
    except Exception as exc:
        logger.exception(
            "audit entry not written",
            extra={
                "audit_action": str(action),
                "audit_actor": str(actor)[:320],
                "audit_target": str(getattr(target, "id", ""))[:300],
                "error": str(exc)[:300],
            },
        )
        if on_failure is not None:
            try:
                on_failure(exc)
            except Exception:
                logger.exception("audit failure hook failed")


# -- reading the trail ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditQuery:
    who: str | None = None
    file: str | None = None
    since: date | None = None
    until: date | None = None
    action: Action | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_params(cls, params: Mapping[str, str | None]) -> AuditQuery:
        """From query-string or option values (strings); InvalidInput names the bad one."""

        def day(name: str) -> date | None:
            text = (params.get(name) or "").strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise InvalidInput(name, f"{name} must be a date (YYYY-MM-DD)") from None

        action: Action | None = None
        if params.get("action"):
            try:
                action = Action(str(params["action"]).strip().lower())
            except ValueError:
                names = ", ".join(a.value for a in Action)
                raise InvalidInput("action", f"action must be one of: {names}") from None
        limit = DEFAULT_LIMIT
        if params.get("limit"):
            try:
                limit = int(str(params["limit"]))
            except ValueError:
                raise InvalidInput("limit", "limit must be a number") from None
            if not 1 <= limit <= MAX_LIMIT:
                raise InvalidInput("limit", f"limit must be 1..{MAX_LIMIT}")
        query = cls(
            who=(params.get("who") or "").strip() or None,
            file=(params.get("file") or "").strip() or None,
            since=day("since"),
            until=day("until"),
            action=action,
            limit=limit,
        )
        if query.since and query.until and query.since > query.until:
            raise InvalidInput("since", "since is after until")
        return query


def targets_of_file(file_id: str) -> list[Target]:
    """A file's history: its own entries, and its message's (re-filing, release)."""
    return [Target.file(file_id), Target.message(group_of(file_id))]


@needs(Role.ADMIN)
def audit_trail(
    log: AuditLog,
    query: AuditQuery,
    *,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    now: datetime | None = None,
) -> list[AuditEntry]:
    """Entries newest first, at most `query.limit`, by Query only.

    The partition follows the most selective filter: a file's (two or four partitions), else a
    person's (`by_actor`), else the months of the range (by default the retention period: no
    entry is older). The other filters are applied to what those Queries return.
    """
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    bounds = Bounds.of(query.since, query.until)
    entries: Iterator[AuditEntry]
    if query.file:
        entries = log.entries_of(targets_of_file(query.file), bounds)
    elif query.who:
        entries = log.entries_by(query.who, bounds)
    else:
        oldest = today - timedelta(days=retention_days + 1)
        since = max(query.since or oldest, oldest)
        until = min(query.until or today, today)
        entries = log.entries_in(month_keys(since, until) if since <= until else [], bounds)
    chosen = (e for e in entries if _matches(e, query))
    return list(islice(chosen, query.limit))


def _matches(entry: AuditEntry, query: AuditQuery) -> bool:
    if query.who and entry.actor != query.who:
        return False
    if query.file and not (
        entry.target.id == query.file or entry.target == Target.message(group_of(query.file))
    ):
        return False
    return query.action is None or entry.action == query.action


@needs(Role.ADMIN)
def file_history(log: AuditLog, file_id: str, *, limit: int = DEFAULT_LIMIT) -> list[AuditEntry]:
    """The dashboard's History section: one file's entries (and its message's), newest first."""
    if not file_id.strip():
        raise InvalidInput("file", "name a file")
    return list(islice(log.entries_of(targets_of_file(file_id)), limit))
