"""Recording an upload (a key under `incoming/up-`): provenance from what the uploader cannot
write, never from the object's metadata (issue 16).

Anyone with the uploader policy can put an object there with any user metadata, so of the
metadata only the uploader's own choices are kept (the file's name and a well-formed case tag);
everything that would be a claim is taken elsewhere or dropped:

- source is `upload`, the message id the upload's folder;
- the uploader: for a dashboard upload, the upload item the api wrote when it signed the form
  for this key (with the signed-in identity; S3 sees only the api's role as the requester);
  for any other (the CLI), the requester principal of the S3 event (`userIdentity.principalId`);
- the sender: the dashboard's signed-in person, or, for the CLI, the address the uploader
  named (`mailroom upload --sender`), recorded as named by the uploader, never authenticated;
- no authentication, original sender, spam flag or mailbox, whatever the metadata says;
- the time is S3's (the event's, else the object's Last-Modified), never the metadata's;
- the sha256 is computed here from the bytes (S3 and the emulator may not have checked any
  checksum the uploader sent, and a record must not depend on one).

A second version of an upload key is never recorded: the record is written on condition that
none exists for another version. An event for a version that is no longer current is skipped
(the current version's own event records it, with its own requester).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mailroom.model import FileRecord, group_of
from mailroom.provenance import Provenance

logger = logging.getLogger(__name__)

UPLOAD_ID_PREFIX = "up-"
UNKNOWN_UPLOADER = "unknown"
MAX_UPLOADER_CHARS = 256
_CASE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def is_upload_key(key: str, incoming_prefix: str) -> bool:
    return key.startswith(incoming_prefix + UPLOAD_ID_PREFIX)


class UploadCatalog(Protocol):
    def get_upload(self, file_id: str) -> str | None: ...

    def put_file_once(self, record: FileRecord) -> bool: ...


@dataclass(frozen=True, slots=True)
class UploadedObject:
    """What the caller read of the object (one ranged GET) and the event."""

    key: str
    size: int
    etag: str | None
    version_id: str | None
    content_type: str | None
    metadata: dict[str, str]
    last_modified: str  # ISO 8601
    detected_type: str | None
    bucket: str
    event_time: str | None  # the S3 event's eventTime
    event_version_id: str | None  # the S3 event's object.versionId
    requester: str | None  # the S3 event's userIdentity.principalId


def uploader_from_principal(principal: str | None) -> str:
    """`AWS:AIDA...` (a user), `AWS:AROA...:session` (a role session): kept as S3 gives it."""
    text = (principal or "").strip()
    return text[:MAX_UPLOADER_CHARS] if text else UNKNOWN_UPLOADER


def record_upload(
    obj: UploadedObject,
    incoming_prefix: str,
    catalog: UploadCatalog,
    *,
    sha256_of: Callable[[], str],
    current_version: Callable[[], str | None],
    iso_z: Callable[[str], str],
) -> FileRecord | None:
    """The upload's file record, written once; None when skipped (see the module's notes)."""
    if obj.event_version_id and obj.version_id and obj.event_version_id != obj.version_id:
        logger.warning(
            "upload event for a version no longer current skipped",
            extra={"key": obj.key, "event_version": obj.event_version_id},
        )
        return None
    claimed = Provenance.from_metadata(obj.metadata)
    name = obj.key.rsplit("/", 1)[-1]
    signer = catalog.get_upload(obj.key)
    if signer is not None:
        uploaded_by, sender, named_by = signer, signer, None
    else:
        uploaded_by = uploader_from_principal(obj.requester)
        sender = (claimed.sender or "").strip().lower() if claimed else ""
        named_by = uploaded_by if sender else None
    case = (claimed.case or "").strip().lower() if claimed else ""
    sha256 = sha256_of()
    if obj.version_id and current_version() != obj.version_id:
        logger.warning("upload replaced while it was hashed; skipped", extra={"key": obj.key})
        return None
    record = FileRecord(
        file_id=obj.key,
        filename=(claimed.filename if claimed and claimed.filename else name),
        safe_name=name,
        size=obj.size,
        sha256=sha256,
        received_at=iso_z(obj.event_time or obj.last_modified),
        source="upload",
        message_id=group_of(obj.key, incoming_prefix),
        content_type=obj.content_type,
        detected_type=obj.detected_type,
        sender=sender or None,
        case=case if _CASE.match(case) else None,
        etag=obj.etag,
        version_id=obj.version_id,
        bucket=obj.bucket,
        uploaded_by=uploaded_by,
        sender_named_by=named_by,
    )
    if not catalog.put_file_once(record):
        logger.warning(
            "a second version of an upload key is not recorded",
            extra={"key": obj.key, "version": obj.version_id},
        )
        return None
    return record
