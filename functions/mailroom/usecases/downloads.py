"""Downloads: a file's bytes, checked against its recorded sha256, or a presigned link.

Only recorded files under `incoming/` are served; a quarantined object has no file record and
is never handed out. Where the bytes land (a path, stdout, a device) is the caller's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import IO, cast

from mailroom.model import FileRecord
from mailroom.ports import ObjectReader, ObjectStore
from mailroom.usecases.errors import IntegrityError, NotFound
from mailroom.usecases.roles import Role, needs

MAX_LINK_SECONDS = 7 * 86400  # SigV4's limit for a presigned URL


class HashingWriter:
    """A non-seekable sink (so the transfer writes in order) that hashes what passes through."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self._target.write(data)

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self._target.flush()


def _servable(record: FileRecord, incoming_prefix: str) -> None:
    if not record.file_id.startswith(incoming_prefix):
        raise NotFound(f"{record.file_id!r} is not a file mailroom serves")
    if record.deleted:
        # Its recorded version still exists (noncurrent): a link to it would undo the delete.
        raise NotFound(
            f"{record.file_id!r} was deleted by {record.deleted_by} at {record.deleted_at}"
        )


@needs(Role.READER)
def download(
    store: ObjectStore,
    record: FileRecord,
    target: IO[bytes],
    *,
    progress: Callable[[int], None] | None = None,
    incoming_prefix: str,
) -> None:
    """Write the recorded version's bytes to `target`; IntegrityError if they do not match.

    The caller decides what to do with what was written on a mismatch (a temporary file is
    thrown away; a stream already went out).
    """
    _servable(record, incoming_prefix)
    writer = HashingWriter(target)
    try:
        store.download(record.file_id, cast(IO[bytes], writer), record.version_id, progress)
    except LookupError:  # the store's ObjectNotFound: the object or its version is gone
        raise NotFound(
            f"the object of {record.file_id!r} is gone from s3://{store.bucket} (deleted?)"
        ) from None
    writer.flush()
    if writer.digest.hexdigest() != record.sha256:
        raise IntegrityError(
            f"the bytes downloaded do not match the recorded sha256 of {record.file_id!r}"
        )


@needs(Role.READER)
def copy_verified(
    reader: ObjectReader,
    record: FileRecord,
    target: IO[bytes],
    *,
    progress: Callable[[int], None] | None = None,
    incoming_prefix: str,
    bucket: str = "",
) -> None:
    """As `download`, from one GET read in chunks: memory stays at one chunk whatever the size
    (a case export writes many large files one after another into one zip)."""
    _servable(record, incoming_prefix)
    digest = hashlib.sha256()
    try:
        for chunk in reader.iter_object(record.file_id, record.version_id):
            digest.update(chunk)
            target.write(chunk)
            if progress is not None:
                progress(len(chunk))
    except LookupError:
        raise NotFound(
            f"the object of {record.file_id!r} is gone from s3://{bucket} (deleted?)"
        ) from None
    if digest.hexdigest() != record.sha256:
        raise IntegrityError(
            f"the bytes downloaded do not match the recorded sha256 of {record.file_id!r}"
        )


@needs(Role.READER)
def download_link(
    store: ObjectStore,
    record: FileRecord,
    expires_in: int,
    *,
    incoming_prefix: str,
) -> str:
    """A presigned GET of the recorded version, saved under the original filename."""
    _servable(record, incoming_prefix)
    if not 1 <= expires_in <= MAX_LINK_SECONDS:
        raise ValueError(f"expires_in must be between 1 and {MAX_LINK_SECONDS} seconds")
    return store.presigned_get(
        record.file_id, expires_in, record.version_id, record.filename or record.safe_name
    )
