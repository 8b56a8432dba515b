"""The audit trail (issue 22): who did what to which record, when, and from where. Pure.

An entry is appended once and never changed: no code path updates or deletes one, and the
IAM policies grant no UpdateItem or DeleteItem on its keys (infra/iam_api.tf, infra/staff.tf).
DynamoDB's TTL removes it `audit_retention_days` after it was written.

    item      pk                           sk = sort_key          index keys
    server    AUDIT#<kind>#<target-id>     <stamp>#<entry-id>     time_key AUDIT#<YYYY-MM>
    client    CLIENTAUDIT#<kind>#<id>      <stamp>#<entry-id>     actor_key <actor>

- by target (a file's history): the base table, one Query per partition (server and client
  entries of the file, and of its message for re-filing and release), merged newest first;
- by time: `by_time`, whose `time_key` holds one partition per calendar month for audit
  entries (`AUDIT#2026-12`; files' `FILES#n` keys never start so): a range costs one Query
  per month it spans, and the retention bounds that;
- by person: the sparse `by_actor` index (`actor_key`, only audit entries carry it).

`reported_by` says who wrote the entry: "server" (the api function, or a function carrying
out an action: proof, since the caller cannot skip it) or "client" (the CLI, reporting its own
direct reads and writes: a claim). The key prefix says it too, so IAM can let staff write the
client partitions only (dynamodb:LeadingKeys).

Listings and shows are deduplicated: their entry id is a hash of person, action, target,
filters and minute, and the sort key carries the minute, so a page that refreshes every few
seconds writes one entry a minute (the conditional put of the repeat is refused). Every other
action gets a random entry id: each download is one entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from mailroom.model import SORT_KEY, TTL_ATTRIBUTE


class Action(StrEnum):
    LIST = "list"
    SHOW = "show"
    DOWNLOAD = "download"
    URL = "url"
    UPLOAD = "upload"
    DELETE = "delete"
    REFILE = "refile"
    RELEASE = "release"
    EXPORT = "export"
    HOLD = "hold"
    UNHOLD = "unhold"


# One entry per person, action, target (with filters) and minute.
DEDUPED = frozenset({Action.LIST, Action.SHOW})


class Reporter(StrEnum):
    SERVER = "server"  # written by the product (the api function, a function): proof
    CLIENT = "client"  # written by the CLI about its own direct access: reported


class Kind(StrEnum):
    """What an entry is about."""

    FILE = "file"  # a file record, by its id (the object key)
    MESSAGE = "message"  # a message (or upload) by its id: re-filing, release
    CASE = "case"  # export, hold
    LISTING = "listing"  # a list: the id names which (files, messages, filing)


# Where the action came from: the api function, `mailroom local`'s api, the CLI, a function.
ORIGINS = frozenset({"api", "local", "cli", "function"})

SERVER_PREFIX = "AUDIT#"
CLIENT_PREFIX = "CLIENTAUDIT#"  # IAM: staff may PutItem on these leading keys only
TIME_PREFIX = "AUDIT#"  # time_key of an entry: AUDIT#<YYYY-MM>
ITEM_TYPE = "audit"
ACTOR_KEY = "actor_key"
ACTOR_INDEX = "by_actor"

MAX_ACTOR_CHARS = 320
MAX_ID_CHARS = 1100  # an S3 key is at most 1024 bytes; room for the prefix
MAX_DETAIL_KEYS = 16
MAX_DETAIL_CHARS = 500
MAX_DETAIL_ITEMS = 20


class InvalidEntry(ValueError):
    """An entry that cannot be written as it is (an empty actor, an unknown action)."""


@dataclass(frozen=True, slots=True)
class Target:
    kind: Kind
    id: str

    @classmethod
    def file(cls, file_id: str) -> Target:
        return cls(Kind.FILE, file_id)

    @classmethod
    def message(cls, message_id: str) -> Target:
        return cls(Kind.MESSAGE, message_id)

    @classmethod
    def case(cls, case: str) -> Target:
        return cls(Kind.CASE, case)

    @classmethod
    def listing(cls, what: str) -> Target:
        return cls(Kind.LISTING, what)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str  # the JWT's verified address, the caller's principal ARN, local staff
    at: str  # ISO 8601 UTC with milliseconds and Z (the shape of received_at)
    action: Action
    target: Target
    origin: str  # api, local, cli or function
    reported_by: Reporter = Reporter.SERVER
    details: dict[str, Any] = field(default_factory=dict)  # filters, reason, counts (bounded)
    entry_id: str = ""

    @property
    def stamp(self) -> str:
        """The time in the sort key: the minute's start for a deduplicated action."""
        if self.action in DEDUPED:
            return self.at[:16] + ":00.000Z"
        return self.at

    @property
    def sort_key(self) -> str:
        return f"{self.stamp}#{self.entry_id}"

    def to_dict(self) -> dict[str, Any]:
        """The shape the API, `mailroom audit --json` and the dashboard show."""
        return {
            "at": self.at,
            "actor": self.actor,
            "action": str(self.action),
            "target": {"kind": str(self.target.kind), "id": self.target.id},
            "origin": self.origin,
            "reported_by": str(self.reported_by),
            "details": self.details,
            "entry_id": self.entry_id,
        }


def iso_z(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_entry(
    *,
    actor: str,
    action: Action | str,
    target: Target,
    origin: str,
    at: datetime,
    reported_by: Reporter | str = Reporter.SERVER,
    details: Mapping[str, Any] | None = None,
    nonce: str,
) -> AuditEntry:
    """A validated, bounded entry. `nonce` (random) is the id of an entry that is not
    deduplicated; a deduplicated one's id is derived from what makes it the same."""
    who = " ".join(actor.split())
    if not who or len(who) > MAX_ACTOR_CHARS:
        raise InvalidEntry("an audit entry must name who acted (at most 320 characters)")
    try:
        act, reporter, kind = Action(action), Reporter(reported_by), Kind(target.kind)
    except ValueError as exc:
        raise InvalidEntry(str(exc)) from exc
    if origin not in ORIGINS:
        raise InvalidEntry(f"unknown origin {origin!r}")
    if not target.id or len(target.id) > MAX_ID_CHARS:
        raise InvalidEntry("an audit entry must name its target")
    entry = AuditEntry(
        actor=who,
        at=iso_z(at),
        action=act,
        target=Target(kind, target.id),
        origin=origin,
        reported_by=reporter,
        details=bounded_details(details or {}),
    )
    return _with_id(entry, dedupe_id(entry) if act in DEDUPED else nonce)


def _with_id(entry: AuditEntry, entry_id: str) -> AuditEntry:
    return AuditEntry(
        entry.actor,
        entry.at,
        entry.action,
        entry.target,
        entry.origin,
        entry.reported_by,
        entry.details,
        entry_id,
    )


def dedupe_id(entry: AuditEntry) -> str:
    """The same for one person's same listing (or show) within one minute, whatever else."""
    basis = [
        entry.actor,
        str(entry.action),
        str(entry.target.kind),
        entry.target.id,
        str(entry.reported_by),
        entry.at[:16],
        sorted((str(k), str(v)) for k, v in (entry.details.get("filters") or {}).items()),
    ]
    return hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:32]


def _value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return {
            _cut(str(k), 64): _scalar(v)
            for k, v in list(value.items())[:MAX_DETAIL_ITEMS]
            if v is not None and v != ""
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scalar(v) for v in list(value)[:MAX_DETAIL_ITEMS]]
    return _cut(str(value), MAX_DETAIL_CHARS)


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int):
        return value
    return _cut(str(value), MAX_DETAIL_CHARS)


def bounded_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """At most 16 keys; strings cut, lists and maps at most 20 items of strings or numbers."""
    out: dict[str, Any] = {}
    for key, value in list(details.items())[:MAX_DETAIL_KEYS]:
        if value is None or value in ("", {}, []):
            continue
        out[_cut(str(key), 64)] = _value(value)
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- keys -----------------------------------------------------------------------------------


def partition_of(target: Target, reported_by: Reporter | str = Reporter.SERVER) -> str:
    prefix = CLIENT_PREFIX if Reporter(reported_by) is Reporter.CLIENT else SERVER_PREFIX
    return f"{prefix}{target.kind}#{target.id}"


def partitions_of(target: Target) -> list[str]:
    """Both partitions of a target: what the product recorded, and what clients reported."""
    return [partition_of(target, r) for r in Reporter]


def month_key(moment: str | date) -> str:
    text = moment.isoformat() if isinstance(moment, date) else moment
    return f"{TIME_PREFIX}{text[:7]}"


def month_keys(since: date, until: date) -> list[str]:
    """The `by_time` partitions of `since`..`until` (inclusive), newest month first."""
    keys: list[str] = []
    year, month = until.year, until.month
    while (year, month) >= (since.year, since.month):
        keys.append(f"{TIME_PREFIX}{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys


def expires_at(entry: AuditEntry, retention_days: int) -> int:
    """Epoch seconds at which DynamoDB's TTL may delete the entry."""
    moment = datetime.fromisoformat(entry.at.replace("Z", "+00:00"))
    return int((moment + timedelta(days=retention_days)).timestamp())


def to_item(entry: AuditEntry, retention_days: int) -> dict[str, Any]:
    """The item for `entry` (plain values; the adapter serialises them)."""
    if not entry.entry_id:
        raise InvalidEntry("an audit entry needs its id (new_entry gives it one)")
    item: dict[str, Any] = {
        "pk": partition_of(entry.target, entry.reported_by),
        "sk": entry.sort_key,
        "type": ITEM_TYPE,
        "actor": entry.actor,
        "at": entry.at,
        "action": str(entry.action),
        "target_kind": str(entry.target.kind),
        "target_id": entry.target.id,
        "origin": entry.origin,
        "reported_by": str(entry.reported_by),
        "entry_id": entry.entry_id,
        SORT_KEY: entry.sort_key,
        "time_key": month_key(entry.at),
        ACTOR_KEY: entry.actor,
        TTL_ATTRIBUTE: expires_at(entry, retention_days),
    }
    if entry.details:
        item["details"] = entry.details
    return item


def from_item(item: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        actor=str(item["actor"]),
        at=str(item["at"]),
        action=Action(item["action"]),
        target=Target(Kind(item["target_kind"]), str(item["target_id"])),
        origin=str(item.get("origin") or ""),
        reported_by=Reporter(item.get("reported_by") or Reporter.SERVER),
        details=_plain(dict(item.get("details") or {})),
        entry_id=str(item.get("entry_id") or ""),
    )


def _plain(value: Any) -> Any:
    """DynamoDB's numbers (Decimal) back to int, at any depth."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value
