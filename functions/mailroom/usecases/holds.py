"""Legal hold (issue 22): a case's documents kept untouched while a matter is in dispute.

`hold_case` puts an S3 Object Lock legal hold on every version of every object of the case
(its files under `incoming/`, found through the `by_case` index, and the raw messages they
came from under `raw/`), marks each file record (`held`, `held_by`, `held_at`,
`hold_reason`), and records the hold on the case itself, so a file recorded later in the case
is held too (`follow_case_hold`, called by recording and re-filing). `release=True` undoes it.

Two layers, because neither is enough alone:
- the record is the gate: a delete checks it with a conditional update before touching S3
  (`Catalog.mark_deleted`), and refuses naming the hold. A DeleteObject without a version id
  still succeeds under a legal hold (S3 adds a delete marker), so only the record stops
  `mailroom delete` from hiding a held file;
- the lock protects the versions: no one (a lifecycle rule, a person with
  s3:DeleteObjectVersion, `force_destroy`) can delete a held version until the hold is off.

Order: the case item first (so a file recorded meanwhile follows the hold), then per file the
object's versions, then its record; a release clears the case item and the records first and
the locks last. Every step is idempotent: a failed run is finished by running it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mailroom.audit import Action, Reporter, Target
from mailroom.model import CaseHold, FileRecord
from mailroom.ports import AuditLog, CaseHolds, HoldCatalog, LegalHolds
from mailroom.routing import CASE_RE
from mailroom.usecases.audit import record_action
from mailroom.usecases.errors import InvalidInput, UseCaseError
from mailroom.usecases.messages import iso_z
from mailroom.usecases.roles import Role, needs

MAX_ACTOR_CHARS = 320
MAX_REASON_CHARS = 500

Progress = Callable[[int, int], None]  # (objects done, objects in all)


class Held(UseCaseError):
    """A delete refused: the file is under legal hold (the message names the hold)."""

    def __init__(self, record: FileRecord) -> None:
        reason = f": {record.hold_reason}" if record.hold_reason else ""
        super().__init__(
            f"{record.file_id} is under legal hold (case {record.case or '-'}, placed by "
            f"{record.held_by or 'unknown'} at {record.held_at or 'unknown'}{reason}); "
            "release the case's hold first (`mailroom hold --case CASE --release`)"
        )
        self.record = record


class NoObjectLock(UseCaseError):
    """The bucket cannot hold versions: Object Lock is off (the `object_lock` variable)."""


@dataclass(slots=True)
class HoldResult:
    case: str
    released: bool
    by: str
    at: str
    reason: str | None
    files: list[str] = field(default_factory=list)  # file ids whose records were (un)marked
    raw_objects: list[str] = field(default_factory=list)  # raw/ keys whose versions were
    versions: int = 0  # object versions whose legal hold was put (or removed)


def case_of(value: object) -> str:
    """A case id as staff type it (`Case-42` -> `case-42`), or InvalidInput (as filing's)."""
    case = str(value or "").strip().lower()
    if not CASE_RE.match(case):
        raise InvalidInput(
            "case", f"{value!r} is not a case id (a-z, 0-9, '.', '_', '-'; at most 64)"
        )
    return case


def reason_from(value: str | None) -> str | None:
    """A hold's reason as staff type it: one line, bounded; empty means none."""
    text = " ".join((value or "").split())
    if len(text) > MAX_REASON_CHARS:
        raise InvalidInput("reason", f"a hold's reason is at most {MAX_REASON_CHARS} characters")
    return text or None


@needs(Role.ADMIN)  # custodial: it binds every staff member's deletes
def hold_case(
    catalog: HoldCatalog,
    store: LegalHolds,
    case: str,
    *,
    by: str,
    reason: str | None = None,
    release: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    audit: AuditLog | None = None,
    origin: str = "api",
    reported_by: Reporter = Reporter.SERVER,
) -> HoldResult:
    """Hold (or with `release`, release) every version of every object of `case`.

    With `audit`, one `hold` (or `unhold`) entry names the case, who, why and the counts,
    once the work is done (`origin` and `reported_by` say where from: the CLI reports its own
    direct work as the client; the api function writes the server's)."""
    actor = by.strip()
    if not actor or len(actor) > MAX_ACTOR_CHARS:
        raise InvalidInput("by", "a hold must say who placed it")
    case = case_of(case)
    reason = reason_from(reason)
    at = iso_z(now or datetime.now(UTC))
    if not store.lock_enabled():
        raise NoObjectLock(
            "the document bucket has no S3 Object Lock: set the `object_lock` variable to true "
            "and apply (docs/DEPLOY.md, Legal hold); nothing was changed"
        )
    if release:
        catalog.release_case_hold(case)
    else:
        hold = catalog.put_case_hold(CaseHold(case, actor, at, reason))
        actor, at, reason = hold.by, hold.at, hold.reason  # a case already held keeps its hold
    # Every file of the case, documents and set-aside ones, deleted ones too (their versions
    # are what a dispute may need): one Query per partition, paged.
    records = list(catalog.files_of_case(case, include_all=True))
    raw_keys: list[tuple[str, str]] = []  # (message id, raw key)
    seen: set[str] = set()
    for record in records:
        if record.source == "upload" or record.message_id in seen:
            continue  # an upload has no raw message
        seen.add(record.message_id)
        raw = catalog.message_raw_key(record.message_id)
        if raw:
            raw_keys.append((record.message_id, raw))
    result = HoldResult(case, release, actor, at, reason)
    total, done = len(records) + len(raw_keys), 0
    for record in sorted(records, key=lambda r: r.file_id):
        if release:
            catalog.unmark_held(record.file_id)
            result.versions += _lock(store, record.file_id, on=False)
        else:
            result.versions += _lock(store, record.file_id, on=True)
            catalog.mark_held(record.file_id, actor, at, reason)
        result.files.append(record.file_id)
        done += 1
        if progress:
            progress(done, total)
    for message_id, raw in raw_keys:
        if release and _still_held(catalog, message_id):
            continue  # another file of the message is held by another case: so is its raw
        result.versions += _lock(store, raw, on=not release)
        result.raw_objects.append(raw)
        done += 1
        if progress:
            progress(done, total)
    record_action(
        audit,
        actor=by.strip(),
        action=Action.UNHOLD if release else Action.HOLD,
        target=Target.case(case),
        origin=origin,
        reported_by=reported_by,
        details={
            "reason": reason or "",
            "files": len(result.files),
            "raw_objects": len(result.raw_objects),
            "versions": result.versions,
        },
        now=now,
    )
    return result


def follow_case_hold(holds: CaseHolds, store: LegalHolds, record: FileRecord) -> FileRecord | None:
    """A file recorded (or re-filed) into a held case is held as its case is: the object's
    versions and its message's raw object locked, the record marked. None when the file has
    no case or its case is not held. Run by the pipeline's own role (record_metadata)."""
    if not record.case:
        return None
    hold = holds.case_hold(record.case)
    if hold is None:
        return None
    _lock(store, record.file_id, on=True)
    if record.source != "upload":
        raw = holds.message_raw_key(record.message_id)
        if raw:
            _lock(store, raw, on=True)
    marked = holds.mark_held(record.file_id, hold.by, hold.at, hold.reason)
    if marked is not None:
        record.held, record.held_by = marked.held, marked.held_by
        record.held_at, record.hold_reason = marked.held_at, marked.hold_reason
    return marked


def _still_held(catalog: HoldCatalog, message_id: str) -> bool:
    """Whether a file of the message is still marked held (this case's marks are cleared by
    then): a message whose files were re-filed into two held cases keeps its raw locked."""
    _, files = catalog.get_message(message_id)
    return any(f.held for f in files)


def _lock(store: LegalHolds, key: str, *, on: bool) -> int:
    versions = store.versions_of(key)
    for version_id in versions:
        store.set_legal_hold(key, version_id, on)
    return len(versions)
