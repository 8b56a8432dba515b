"""Deletes: a file sent by mistake leaves the listings, its bytes stay recoverable for a while.

The object's current version is deleted (on the versioned bucket it becomes noncurrent, kept
until the lifecycle rule expires it) and the record is marked `deleted` with who and when: it
stays readable by id and in `include_deleted` listings, and is never served again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mailroom.model import FileRecord
from mailroom.ports import FileRemover, ObjectRemover
from mailroom.usecases.errors import InvalidInput, NotFound
from mailroom.usecases.files import not_found_file
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

    The object goes first: if marking the record then fails, a retry finds the record unmarked
    and finishes (a second DeleteObject only adds a delete marker, nothing is lost). A record
    already marked is returned as it is, with its first `deleted_by` and `deleted_at`.
    """
    actor = by.strip()
    if not actor or len(actor) > MAX_ACTOR_CHARS:
        raise InvalidInput("by", "a delete must say who made it")
    record = catalog.get_file(file_id)
    if record is None:
        raise not_found_file(file_id)
    if record.deleted:
        return record
    if not record.file_id.startswith(incoming_prefix):
        raise NotFound(f"{file_id!r} is not a file mailroom serves")
    store.delete_current(record.file_id)
    marked = catalog.mark_deleted(record.file_id, actor, iso_z(now or datetime.now(UTC)))
    if marked is None:  # the record vanished in between
        raise not_found_file(file_id)
    return marked
