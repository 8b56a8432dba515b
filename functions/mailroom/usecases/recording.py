"""The record_metadata use case: an object under `incoming/` in, its file record out.

Whatever put the object there (the extractor, `mailroom upload`, a presigned upload) it gets a
record the same way; provenance in the object's metadata says where it came from. The record
always describes the object's current version, so duplicate or out-of-order events converge.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import filetype

from mailroom.extract.images import image_size
from mailroom.extract.roles import DOCUMENT, INLINE_IMAGE, is_image, signature_role
from mailroom.model import FileRecord, Filing, file_sort_key, group_of
from mailroom.ports import (
    CaseHolds,
    FileWriter,
    IntakeObjects,
    LegalHolds,
    MessageFilings,
    ObjectNotFound,
    SignatureSightings,
)
from mailroom.probes import ROLE as PROBE_ROLE
from mailroom.provenance import Provenance
from mailroom.usecases.holds import follow_case_hold
from mailroom.usecases.upload_recording import UploadedObject, is_upload_key, record_upload

logger = logging.getLogger(__name__)

SNIFF_BYTES = 8192  # enough for filetype to tell a .docx from a plain zip


@dataclass(frozen=True, slots=True)
class ObjectCreated:
    key: str  # already URL-decoded
    event_time: str | None = None
    version_id: str | None = None  # the event's s3.object.versionId
    requester: str | None = None  # the event's userIdentity.principalId


def detect_type(head: bytes) -> str | None:
    """The type the bytes say, whatever the sender declared."""
    if not head:
        return None
    kind = filetype.guess_mime(head)
    if kind:
        return str(kind)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the sniff boundary is still text.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    return "text/plain"


def record_object(
    event: ObjectCreated,
    incoming_prefix: str,
    store: IntakeObjects,
    catalog: FileWriter,
    *,
    sightings: SignatureSightings | None = None,
    signature_repeats: int = 1,
    filings: MessageFilings | None = None,
    holds: CaseHolds | None = None,
    locks: LegalHolds | None = None,
) -> FileRecord | None:
    """Write the file record of one object; None if it is gone or outside `incoming/`.

    With `sightings` (the catalogue), an inline image whose bytes already came
    `signature_repeats` times from the sender's domain is recorded as a `signature`.
    With `filings` (the catalogue), a file of a message staff re-filed gets their case, not the
    one in the object's metadata (`_follow_filing`).
    With `holds` and `locks` (the catalogue and the bucket), a file whose case is under legal
    hold is held too (issue 22, `holds.follow_case_hold`), after its case is final.
    """
    if not event.key.startswith(incoming_prefix) or event.key.endswith("/"):
        logger.warning("object outside the intake prefix skipped", extra={"key": event.key})
        return None
    try:
        head, sniff = store.peek(event.key, SNIFF_BYTES)
    except ObjectNotFound as exc:
        # Deleted (or overwritten and deleted) since the event: nothing to record.
        logger.warning("object no longer exists", extra={"key": event.key, "error": str(exc)})
        return None

    if is_upload_key(event.key, incoming_prefix):
        # Provenance from what the uploader cannot write (usecases/upload_recording.py).
        uploaded = record_upload(
            UploadedObject(
                key=event.key,
                size=head.size,
                etag=head.etag,
                version_id=head.version_id,
                content_type=head.content_type,
                metadata=head.metadata,
                last_modified=head.last_modified,
                detected_type=detect_type(sniff),
                bucket=store.bucket,
                event_time=event.event_time,
                event_version_id=event.version_id,
                requester=event.requester,
            ),
            incoming_prefix,
            catalog,
            sha256_of=lambda: _sha256_of(store, event.key),
            current_version=lambda: store.head(event.key).version_id,
            iso_z=_iso_z,
        )
        if uploaded is not None and holds is not None and locks is not None:
            follow_case_hold(holds, locks, uploaded)
        return uploaded
    provenance = Provenance.from_metadata(head.metadata)
    name = event.key.rsplit("/", 1)[-1]
    if provenance is None:
        # An upload by other means: no provenance, so hash it ourselves and name it by its key.
        sha256 = _sha256_of(store, event.key)
        provenance = Provenance(
            source="upload",
            message_id=group_of(event.key, incoming_prefix),
            received_at=_iso_z(event.event_time or head.last_modified),
            filename=name,
            sha256=sha256,
            content_type=head.content_type or "",
        )
    record = FileRecord(
        file_id=event.key,
        filename=provenance.filename or name,
        safe_name=name,
        size=head.size,
        sha256=provenance.sha256 or _sha256_of(store, event.key),
        received_at=_iso_z(provenance.received_at or head.last_modified),
        source=provenance.source,
        message_id=provenance.message_id,
        content_type=provenance.content_type or head.content_type,
        detected_type=detect_type(sniff),
        sender=provenance.sender,
        sender_name=provenance.sender_name,
        original_sender=provenance.original_sender,
        original_sender_via=provenance.original_sender_via,
        original_sender_level=provenance.original_sender_level,
        case=provenance.case,
        inline=provenance.inline,
        part=provenance.part,
        etag=head.etag,
        version_id=head.version_id,
        bucket=store.bucket,
        authenticated=provenance.authenticated,
        auth_reason=provenance.auth_reason,
        suspected_spam=provenance.suspected_spam,
        mailbox=provenance.mailbox,
        role=provenance.role or DOCUMENT,
        role_reason=provenance.role_reason,
        parent_index=provenance.parent,
        probe=provenance.probe,
        expires_at=provenance.expires_at,
        released_by=provenance.released_by,
        released_at=provenance.released_at,
        release_reason=provenance.release_reason,
    )
    if record.probe is not None:
        # Issue 18: the stack's own smoke or canary mail, set aside from every default listing
        # whatever the engine made of the part (mailroom.probes decided it in the extractor).
        record.role, record.role_reason = PROBE_ROLE, f"{record.probe} probe"
    if is_image(record.content_type or "", record.filename):
        dimensions = image_size(sniff)
        if dimensions is not None:
            record.width, record.height = dimensions
    if sightings is not None and record.role == INLINE_IMAGE:
        _signature(record, sightings, signature_repeats)
    filed = _filing(filings, record)
    if filed is not None:
        record.case = filed.case
    # An update of the pipeline's fields: a re-recording never wipes what staff set
    # (model.STAFF_FIELDS; Catalog.put_file writes with UpdateItem).
    catalog.put_file(record)
    _follow_filing(filings, record, filed)
    if holds is not None and locks is not None:
        follow_case_hold(holds, locks, record)
    return record


def _filing(filings: MessageFilings | None, record: FileRecord) -> Filing | None:
    if filings is None or record.source == "upload":  # an upload belongs to no message
        return None
    return filings.message_filing(record.message_id)


def _follow_filing(
    filings: MessageFilings | None, record: FileRecord, before: Filing | None
) -> None:
    """A message staff filed keeps their case in every file record, also one recorded late (a
    duplicate event, `doctor --fix`, reprocess) after the filing: the case is read before the
    write, and again after it, because a filing that ran in between may have listed the
    message's files before this one landed (filing updates the message, then its files)."""
    if filings is None:
        return
    after = _filing(filings, record)
    if after is not None and after != before and filings.set_file_case(record.file_id, after.case):
        record.case = after.case


def _signature(record: FileRecord, sightings: SignatureSightings, repeats: int) -> None:
    """The signature rule (issue 20): the count lives in the catalogue, so it is decided here."""
    domain = (record.sender or "").rpartition("@")[2]
    if not domain:
        return
    seen = sightings.signature_sightings(domain, record.sha256, file_sort_key(record), repeats)
    changed = signature_role(record.role, seen, repeats)
    if changed is not None:
        record.role, record.role_reason = changed


def _sha256_of(store: IntakeObjects, key: str) -> str:
    digest = hashlib.sha256()
    with store.open_stream(key) as body:
        while chunk := body.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _iso_z(value: str) -> str:
    """ISO 8601 UTC with milliseconds and Z, the shape SES uses, so sort keys compare."""
    text = value.replace("Z", "+00:00")
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
