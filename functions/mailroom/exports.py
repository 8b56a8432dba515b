"""Case exports: names inside the zip, the manifest, SHA256SUMS, and checking an export offline.

An export is a zip of a case's documents under `documents/`, with `manifest.json` and
`manifest.csv` (one row per document), `signing-key.pem` (the stack's public signing key),
`SHA256SUMS` (sha256sum's format, over every other file of the zip) and `SHA256SUMS.sig` (a KMS
ECDSA_SHA_256 signature, DER, of the 32-byte SHA-256 of SHA256SUMS, signed as a RAW message: KMS
takes at most 4096 bytes, and moto 5.2 ignores MessageType DIGEST, so the digest is the message).

Checksums alone prove nothing (anyone can recompute them); the signature ties them to a key
only the stack's staff can use, and a recipient who pinned the public key (`terraform output
export_public_key`, `mailroom config`) can check it with no AWS.

Pure: no AWS here. `cryptography` is imported only where a signature is checked (the CLI has
it; the Lambda layer does not need it).
"""

# cryptography is imported where a signature is checked: the Lambda layer has no need of it.
# ruff: noqa: PLC0415

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final

from mailroom.model import FileRecord
from mailroom.naming import safe_name

FORMAT = "mailroom-export/1"
DOCUMENTS = "documents/"
RAW = "raw/"  # --with-raw (admins): each message's raw .eml, listed under the manifest's "raw"
MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
PUBLIC_KEY = "signing-key.pem"
# The key spec exports sign with, and its algorithm (RSA PSS is left out: moto 5.2's salt length
# differs from AWS's, so the emulator could not prove it).
KEY_SPEC = "ECC_NIST_P256"
SIGNING_ALGORITHM: Final = "ECDSA_SHA_256"
CHUNK = 1024 * 1024

MANIFEST_FIELDS: tuple[str, ...] = (
    "file_id",
    "name",
    "filename",
    "size",
    "sha256",
    "sender",
    "original_sender",
    "original_sender_level",
    "received_at",
    "message_id",
    "case",
    "source",
    "authenticated",
    "suspected_spam",
    "verdicts",
)


class ExportInvalid(Exception):
    """The export does not verify; the message names the file(s)."""


def unique_names(records: Sequence[FileRecord]) -> list[str]:
    """`documents/<safe name>` per record, unique even on a case-insensitive file system.

    A repeated name becomes `name (2).pdf`, `name (3).pdf`, ... in listing order, so the same
    case exported twice gives the same names.
    """
    taken: set[str] = set()
    names: list[str] = []
    for record in records:
        base = safe_name(record.filename or record.safe_name, fallback="document")
        stem, dot, ext = base.rpartition(".")
        if not dot or not stem:
            stem, ext = base, ""
        suffix = f".{ext}" if ext else ""
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            # Stay within a file system's 255 bytes once the counter is added.
            candidate = safe_name(f"{stem} ({n}){suffix}", fallback="document")
        taken.add(candidate.lower())
        names.append(DOCUMENTS + candidate)
    return names


def manifest_row(
    record: FileRecord, name: str, verdicts: Mapping[str, str] | None
) -> dict[str, Any]:
    level = record.original_sender_level
    if record.original_sender and not level:
        level = "claimed"  # recorded before levels existed
    return {
        "file_id": record.file_id,
        "name": name,
        "filename": record.filename,
        "size": record.size,
        "sha256": record.sha256,
        "sender": record.sender,
        "original_sender": record.original_sender,
        "original_sender_level": level,
        "received_at": record.received_at,
        "message_id": record.message_id,
        "case": record.case,
        "source": record.source,
        "authenticated": record.authenticated,
        "suspected_spam": record.suspected_spam,
        "verdicts": dict(verdicts or {}),
    }


# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (or start one after
# a tab or CR it strips): https://owasp.org/www-community/attacks/CSV_Injection. The one
# formula-safe CSV of the project: the CLI's --format csv and the export function's
# manifest.csv both write through csv_cell/csv_text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One cell, safe to open in a spreadsheet; numbers and booleans stay as they are."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        value = json.dumps(value)
    if not isinstance(value, str):
        return value
    cleaned = value
    if not value.isprintable():
        cleaned = "".join(
            ch if ch.isprintable() or ch == " " else "\ufffd" for ch in value.replace("\n", " ")
        )
    if value.startswith(_FORMULA_STARTS) or cleaned.lstrip().startswith(_FORMULA_STARTS):
        return "'" + cleaned
    return cleaned


def csv_text(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> str:
    """Rows as CSV, every cell through `csv_cell` (controls and bidi overrides replaced, formulas
    neutralised with a leading quote, tested on the raw and on the trimmed text)."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return out.getvalue()


def manifest_json(header: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> bytes:
    body = {"format": FORMAT, **header, "count": len(rows), "files": list(rows)}
    return (json.dumps(body, indent=2, ensure_ascii=True, default=str) + "\n").encode()


def sums_text(entries: Iterable[tuple[str, str]]) -> bytes:
    """sha256sum's output (`<hex>  <name>`), which `sha256sum -c SHA256SUMS` checks too."""
    lines = []
    for name, digest in entries:
        if "\n" in name or "\\" in name:
            raise ValueError(f"not a name sha256sum can list: {name!r}")
        lines.append(f"{digest}  {name}\n")
    return "".join(lines).encode("utf-8")


def parse_sums(text: bytes) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate(text.decode("utf-8").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep:
            digest, sep, name = line.partition(" *")  # binary-mode marker
        if not sep or len(digest) != 64 or name in entries:
            raise ExportInvalid(f"{SUMS} line {number} is not `<sha256>  <name>` (or repeats)")
        entries[name] = digest.lower()
    return entries


def fingerprint(public_key_pem: bytes) -> str:
    """SHA-256 of the key's DER (SubjectPublicKeyInfo), as `sha256:<hex>`: short to compare."""
    text = public_key_pem.decode("ascii", errors="replace")
    body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    try:
        der = base64.b64decode(body, validate=True)
    except ValueError:
        raise ExportInvalid("the public key is not a PEM key") from None
    return "sha256:" + hashlib.sha256(der).hexdigest()


def der_to_pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"
    ).encode()


def signed_message(sums: bytes) -> bytes:
    """What is signed: the SHA-256 of SHA256SUMS (32 bytes, hashed again by ECDSA_SHA_256)."""
    return hashlib.sha256(sums).digest()


def verify_signature(public_key_pem: bytes, signature: bytes, sums: bytes) -> None:
    """Raise ExportInvalid unless `signature` is the key's signature of SHA256SUMS `sums`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(public_key_pem)
    except ValueError:
        raise ExportInvalid(f"{PUBLIC_KEY} is not a PEM public key") from None
    try:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ExportInvalid(f"{PUBLIC_KEY} is not an EC (P-256) key")
        key.verify(signature, signed_message(sums), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ExportInvalid(
            f"{SIGNATURE} is not a signature of {SUMS} by this key: the export was altered "
            "or signed by another key"
        ) from None


def _hash_member(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with archive.open(name) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Verified:
    files: int = 0
    documents: int = 0
    bytes: int = 0
    raw: int = 0  # raw .eml files (an export made --with-raw)
    signed_by: str | None = None  # the key's fingerprint
    pinned: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _safe_member(name: str) -> bool:
    parts = name.split("/")
    return not name.startswith("/") and ".." not in parts and "\\" not in name and "" not in parts


def verify_export(source: str | IO[bytes], pinned_key_pem: bytes | None = None) -> Verified:
    """Check every file against SHA256SUMS and the manifest, and SHA256SUMS's signature.

    Every problem found is listed (each naming its file); `ok` only when there are none.
    """
    result = Verified()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        result.problems.append(f"not a readable zip: {exc}")
        return result
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir()]
        names = [i.filename for i in members]
        dupes = sorted(n for n, seen in Counter(names).items() if seen > 1)
        result.problems += [f"{n}: appears more than once in the zip" for n in dupes]
        result.problems += [f"{n}: not a safe path" for n in names if not _safe_member(n)]
        for needed in (SUMS, SIGNATURE, MANIFEST_JSON, PUBLIC_KEY):
            if needed not in names:
                result.problems.append(f"{needed}: missing from the export")
        if result.problems:
            return result
        sums_bytes = archive.read(SUMS)
        try:
            sums = parse_sums(sums_bytes)
        except (ExportInvalid, UnicodeDecodeError) as exc:
            result.problems.append(str(exc))
            return result
        _check_signature(archive, sums_bytes, pinned_key_pem, result)
        actual: dict[str, str] = {}
        for info in members:
            if info.filename in (SUMS, SIGNATURE):
                continue
            if info.filename not in sums:
                result.problems.append(f"{info.filename}: in the zip but not in {SUMS}")
            try:
                actual[info.filename] = _hash_member(archive, info.filename)
            except (zipfile.BadZipFile, OSError) as exc:  # a CRC mismatch: bytes changed
                result.problems.append(f"{info.filename}: cannot be read back ({exc})")
                continue
            if info.filename in sums and actual[info.filename] != sums[info.filename]:
                result.problems.append(f"{info.filename}: sha256 does not match {SUMS}")
            result.files += 1
            if info.filename.startswith(DOCUMENTS):
                result.documents += 1
                result.bytes += info.file_size
            elif info.filename.startswith(RAW):
                result.raw += 1
        result.problems += [
            f"{n}: listed in {SUMS} but not in the zip" for n in sums if n not in actual
        ]
        _check_manifest(archive, actual, result)
    return result


def _check_signature(
    archive: zipfile.ZipFile, sums_bytes: bytes, pinned: bytes | None, result: Verified
) -> None:
    embedded = archive.read(PUBLIC_KEY)
    key = embedded
    try:
        if pinned is not None:
            result.pinned = True
            if fingerprint(pinned) != fingerprint(embedded):
                result.problems.append(
                    f"{PUBLIC_KEY}: not the pinned key ({fingerprint(embedded)} is not "
                    f"{fingerprint(pinned)})"
                )
            key = pinned
        result.signed_by = fingerprint(key)
        verify_signature(key, archive.read(SIGNATURE), sums_bytes)
    except ExportInvalid as exc:
        result.problems.append(str(exc))


def _check_manifest(archive: zipfile.ZipFile, actual: Mapping[str, str], result: Verified) -> None:
    try:
        manifest = json.loads(archive.read(MANIFEST_JSON))
        rows = manifest["files"] + manifest.get("raw", [])
        listed = {row["name"]: row["sha256"] for row in rows}
    except (ValueError, KeyError, TypeError, AttributeError):
        result.problems.append(f"{MANIFEST_JSON}: not a mailroom export manifest")
        return
    for name, digest in listed.items():
        if name not in actual:
            result.problems.append(f"{name}: in {MANIFEST_JSON} but not in the zip")
        elif actual[name] != digest:
            result.problems.append(f"{name}: sha256 does not match {MANIFEST_JSON}")
    for name in actual:
        if name.startswith((DOCUMENTS, RAW)) and name not in listed:
            result.problems.append(f"{name}: in the zip but not in {MANIFEST_JSON}")
