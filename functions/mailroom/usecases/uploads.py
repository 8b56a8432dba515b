"""Uploads: local files into `incoming/<upload-id>/`, where record_metadata records them.

The use case builds everything an upload carries (the id, keys, names made safe and unique,
provenance with sender, case and time), so no entry point builds keys or timestamps itself.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parseaddr
from pathlib import Path

from mailroom.naming import safe_name
from mailroom.policy import case_tag
from mailroom.ports import ObjectStore
from mailroom.provenance import Provenance
from mailroom.usecases.errors import InvalidInput
from mailroom.usecases.messages import iso_z

INCOMING_PREFIX = "incoming/"


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


def upload_files(
    store: ObjectStore,
    paths: Sequence[Path],
    *,
    sender: str | None,
    case: str | None = None,
    now: datetime | None = None,
    incoming_prefix: str = INCOMING_PREFIX,
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
            store.upload(key, body, content_type, provenance.to_metadata())
        done.append(
            UploadedFile(
                key, path.name, path.stat().st_size, sha256, content_type, upload_id, store.bucket
            )
        )
    return done
