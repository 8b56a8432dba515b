"""Uploads: local files into `incoming/<upload-id>/`, where record_metadata records them.

The use case builds everything an upload carries (the id, keys, names made safe and unique,
provenance with sender, case and time), so no entry point builds keys or timestamps itself.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parseaddr
from pathlib import Path

from mailroom.naming import safe_name
from mailroom.policy import case_tag
from mailroom.ports import ObjectStore, UploadLedger, UploadSigner
from mailroom.provenance import Provenance
from mailroom.usecases.errors import InvalidInput, TooLarge, UnsupportedType
from mailroom.usecases.messages import iso_z
from mailroom.usecases.params import json_object, known, strings
from mailroom.usecases.roles import Role, needs


@dataclass(frozen=True, slots=True)
class UploadedFile:
    file_id: str
    filename: str
    size: int
    sha256: str
    content_type: str
    upload_id: str
    bucket: str


def checked_sender(value: str | None) -> str:
    """The address files are recorded under; an upload must say who the files came from."""
    address = parseaddr((value or "").strip())[1].strip().lower()
    if not address or "@" not in address or address.startswith("@") or address.endswith("@"):
        raise InvalidInput("sender", f"{value or ''!r} is not an email address")
    return address


def checked_case(value: str | None) -> str | None:
    if value is None:
        return None
    # The same rule as a plus-addressed recipient's tag, so uploads and mail share case names.
    tag = case_tag([f"upload+{value.strip()}@localhost"])
    if tag is None:
        raise InvalidInput("case", "a case tag is letters, digits, '.', '_' or '-' (up to 64)")
    return tag


def new_upload_id(today: date | None = None) -> str:
    """`up-<yyyymmdd>-<random>`: sorts by day, never collides with an SES message id."""
    return f"up-{(today or datetime.now(UTC).date()):%Y%m%d}-{secrets.token_hex(5)}"


def unique_names(paths: Sequence[Path]) -> Iterator[tuple[Path, str]]:
    """Each path with a safe object name, unique (case-insensitively) within the upload."""
    taken: set[str] = set()
    for path in paths:
        name = safe_name(path.name, fallback="upload")
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"
        taken.add(candidate.lower())
        yield path, candidate


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@needs(Role.UPLOADER)
def upload_files(
    store: ObjectStore,
    paths: Sequence[Path],
    *,
    sender: str | None,
    case: str | None = None,
    now: datetime | None = None,
    incoming_prefix: str,
) -> list[UploadedFile]:
    """Put `paths` under one new upload id; validated before the first byte is sent."""
    address = checked_sender(sender)
    tag = checked_case(case)
    moment = now or datetime.now(UTC)
    upload_id = new_upload_id(moment.date())
    received_at = iso_z(moment)
    done: list[UploadedFile] = []
    for path, name in unique_names(paths):
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        sha256 = sha256_file(path)
        provenance = Provenance(
            source="upload",
            message_id=upload_id,
            received_at=received_at,
            filename=path.name,
            sha256=sha256,
            content_type=content_type,
            sender=address,
            case=tag,
        )
        key = f"{incoming_prefix}{upload_id}/{name}"
        with path.open("rb") as body:
            # Never over an existing key (the bucket policy requires If-None-Match there).
            store.upload_new(key, body, path.stat().st_size, content_type, provenance.to_metadata())
        done.append(
            UploadedFile(
                key, path.name, path.stat().st_size, sha256, content_type, upload_id, store.bucket
            )
        )
    return done


MAX_FILENAME_CHARS = 1024
MAX_UPLOADER_CHARS = 256  # the provenance budget of `sender`


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """What a browser declares before it sends the bytes (POST /uploads)."""

    filename: str
    size: int
    content_type: str | None = None  # None or "": guessed from the name
    case: str | None = None

    @classmethod
    def from_body(cls, text: str | None) -> UploadRequest:
        """POST /uploads {"filename", "size", "content_type"?, "case"?}; `presign_upload`
        checks the values themselves."""
        values = json_object(text)
        known(values, ("filename", "size", "content_type", "case"), "field")
        strings(values, ("filename", "content_type", "case"))
        return cls(
            filename=values.get("filename") or "",
            size=values.get("size"),  # type: ignore[arg-type]  # checked by presign_upload
            content_type=values.get("content_type"),
            case=values.get("case"),
        )


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    url: str
    fields: dict[str, str]
    file_id: str
    expires_in: int


def checked_content_type(declared: str | None, filename: str, allowed: Collection[str]) -> str:
    """The media type without parameters, lower case; from the name when none is declared."""
    text = (declared or "").split(";", 1)[0].strip().lower()
    if not text:
        text = (mimetypes.guess_type(filename)[0] or "application/octet-stream").lower()
    if text not in allowed:
        raise UnsupportedType("content_type", f"{text!r} is not a type mailroom accepts")
    return text


@needs(Role.UPLOADER)
def presign_upload(
    signer: UploadSigner,
    request: UploadRequest,
    *,
    uploader: str,
    max_bytes: int,
    allowed_types: Collection[str],
    expires_in: int,
    now: datetime | None = None,
    incoming_prefix: str,
    ledger: UploadLedger | None = None,
) -> PresignedUpload:
    """A presigned POST for one file under a new upload id in `incoming/`, all checked first.

    The form fixes the key, the type, the exact size and the provenance (the uploader as the
    sender, the case), so what lands is recorded by record_metadata like any other object, with
    the upload's time (the object's) and a sha256 it computes from the bytes.
    """
    name = request.filename.strip() if isinstance(request.filename, str) else ""
    if not name or len(name) > MAX_FILENAME_CHARS:
        raise InvalidInput("filename", f"a file name is 1 to {MAX_FILENAME_CHARS} characters")
    size = request.size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidInput("size", "size is the file's length in bytes, at least 1")
    if size > max_bytes:
        raise TooLarge("size", f"{size} bytes is over the upload limit of {max_bytes} bytes")
    content_type = checked_content_type(request.content_type, name, allowed_types)
    who = uploader.strip().lower()
    if not who or len(who) > MAX_UPLOADER_CHARS:
        raise InvalidInput("uploader", "an upload must say who made it")
    tag = checked_case(request.case) if request.case else None
    moment = now or datetime.now(UTC)
    upload_id = new_upload_id(moment.date())
    key = f"{incoming_prefix}{upload_id}/{safe_name(name, fallback='upload')}"
    if ledger is not None:
        # Before the form exists: record_metadata reads who signed it from here, since S3 sees
        # only the api's role as the requester and the form's own fields are the browser's.
        ledger.put_upload(key, who, iso_z(moment))
    provenance = Provenance(
        source="upload",
        message_id=upload_id,
        received_at="",  # record_metadata takes the object's own time: when the bytes arrived
        filename=name,
        content_type=content_type,
        sender=who,
        case=tag,
    )
    fields = {"Content-Type": content_type}
    fields.update({f"x-amz-meta-{k}": v for k, v in provenance.to_metadata().items()})
    post = signer.presigned_post(key, fields, size, expires_in)
    return PresignedUpload(post["url"], dict(post["fields"]), key, expires_in)
