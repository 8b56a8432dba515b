"""Deletes: a file sent by mistake leaves the listings, its bytes stay recoverable for a while.

The object's current version is deleted (on the versioned bucket it becomes noncurrent, kept
until the lifecycle rule expires it) and the record is marked `deleted` with who and when: it
stays readable by id and in `include_deleted` listings, and is never served again.

A file under legal hold (issue 22, `usecases/holds.py`) is never deleted: the record is checked
before S3 is touched, by the conditional update that marks it (a DeleteObject without a version
id would succeed under an Object Lock legal hold, adding a delete marker).
"""

from __future__ import annotations

from datetime import UTC, datetime

from mailroom.model import FileRecord
from mailroom.ports import FileHeld, FileRemover, ObjectRemover
from mailroom.usecases.errors import InvalidInput, NotFound
from mailroom.usecases.files import not_found_file
from mailroom.usecases.holds import Held
from mailroom.usecases.messages import iso_z
from mailroom.usecases.roles import Role, needs

MAX_ACTOR_CHARS = 320


@needs(Role.ADMIN)
def delete_file(
    catalog: FileRemover,
    store: ObjectRemover,
    file_id: str,
    *,
    by: str,
    now: datetime | None = None,
    incoming_prefix: str,
) -> FileRecord:
    """Delete `file_id`'s current object version and mark its record; idempotent.

    The record first, with a condition on its hold: a held file raises `Held` naming the hold
    (who, when, why) and S3 is never asked. Then the object's current version. A record
    already marked is returned as it is, with its first `deleted_by` and `deleted_at`, and S3
    is not asked again: if the DeleteObject failed after the mark, the file is still hidden
    and never served (the record is the gate), its bytes stay current instead of noncurrent.
    """
    actor = by.strip()
    if not actor or len(actor) > MAX_ACTOR_CHARS:
        raise InvalidInput("by", "a delete must say who made it")
    record = catalog.get_file(file_id)
    if record is None:
        raise not_found_file(file_id)
    if record.held:
        raise Held(record)
    if not record.file_id.startswith(incoming_prefix):
        raise NotFound(f"{file_id!r} is not a file mailroom serves")
    if record.deleted:
        return record
    try:
        marked = catalog.mark_deleted(record.file_id, actor, iso_z(now or datetime.now(UTC)))
    except FileHeld as refused:  # held between the read and the write: the hold wins
        raise Held(refused.record) from None
    if marked is None:  # the record vanished in between
        raise not_found_file(file_id)
    store.delete_current(record.file_id)
    return marked
