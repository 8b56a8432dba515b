"""Case export: a case's documents in one zip, with a manifest and signed checksums.

The documents are found through the case listing (`list_files`: the by_case index, documents
only, deleted files left out), page by page, so the cost follows the files exported. Each
document's bytes stream from one S3 GET into its zip entry 1 MB at a time (never a whole file
in memory) and are checked against the recorded sha256 as they pass
(`downloads.copy_verified`); a mismatch
raises IntegrityError naming the file, and the caller throws the partial zip away.

The layout and the offline check are `mailroom.exports`'.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any

from mailroom import exports
from mailroom.model import FileRecord, MessageRecord
from mailroom.naming import safe_name
from mailroom.ports import ExportSigner, FileCatalog, ObjectReader
from mailroom.usecases import downloads
from mailroom.usecases.errors import InvalidInput, NotFound
from mailroom.usecases.files import MAX_LIMIT, FileQuery, check_range, list_files
from mailroom.usecases.roles import Role, needs

CsvRenderer = Callable[[Sequence[dict[str, Any]], Sequence[str]], str]


@dataclass(frozen=True, slots=True)
class ExportPlan:
    case: str
    since: date | None
    until: date | None
    records: list[FileRecord]
    names: list[str]  # each record's path in the zip, same order

    @property
    def total_bytes(self) -> int:
        return sum(r.size for r in self.records)


@dataclass(frozen=True, slots=True)
class ExportSummary:
    case: str
    since: str | None
    until: str | None
    documents: int
    bytes: int
    raw_messages: int  # raw .eml files included (--with-raw), else 0
    files: int  # every file in the zip, SHA256SUMS and its signature included
    sha256sums_sha256: str
    key_id: str
    key_fingerprint: str
    created_at: str


@needs(Role.READER)
def plan_export(
    catalog: FileCatalog, case: str, since: date | None = None, until: date | None = None
) -> ExportPlan:
    """The case's documents (newest message first, parts in order) and their names in the zip."""
    tag = case.strip().lower()
    if not tag:
        raise InvalidInput("case", "name the case to export")
    check_range(since, until)
    records: list[FileRecord] = []
    cursor: str | None = None
    while True:
        page = list_files(
            catalog, FileQuery(case=tag, since=since, until=until, limit=MAX_LIMIT, cursor=cursor)
        )
        records += [m.record for m in page.files]
        if page.next is None:
            break
        cursor = page.next
    return ExportPlan(tag, since, until, records, exports.unique_names(records))


def _messages(catalog: FileCatalog, message_ids: set[str]) -> dict[str, MessageRecord | None]:
    # One read per message of the case (its record and its files): in proportion to the export.
    found: dict[str, MessageRecord | None] = {}
    for message_id in sorted(message_ids):
        message, _ = catalog.get_message(message_id)
        found[message_id] = message
    return found


def raw_names(message_ids: Sequence[str]) -> list[str]:
    """`raw/<safe message id>.eml` per message, unique case-insensitively, in the given order."""
    taken: set[str] = set()
    names: list[str] = []
    for message_id in message_ids:
        stem = safe_name(message_id, fallback="message")[:200]
        candidate, n = f"{stem}.eml", 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem} ({n}).eml"
        taken.add(candidate.lower())
        names.append(exports.RAW + candidate)
    return names


def _write_raw(
    archive: zipfile.ZipFile,
    messages: dict[str, MessageRecord | None],
    raw_reader: ObjectReader,
    when: datetime,
    *,
    progress: Callable[[int], None] | None,
    on_file: Callable[[str], None] | None,
) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Each message's raw .eml (issue 22, --with-raw), hashed as it streams into the zip.

    There is no recorded digest of a raw message to check against: its sha256 is the one
    read, and SHA256SUMS (signed) fixes it from here on. A message without a record (an
    upload) has no raw message; one whose raw object is gone is a NotFound naming it.
    """
    present = [(mid, m) for mid, m in messages.items() if m is not None and m.raw_key]
    sums: list[tuple[str, str]] = []
    rows: list[dict[str, Any]] = []
    for (message_id, message), name in zip(
        present, raw_names([mid for mid, _ in present]), strict=True
    ):
        assert message is not None
        digest, size = hashlib.sha256(), 0
        with archive.open(_info(name, when, zipfile.ZIP_DEFLATED), "w", force_zip64=True) as out:
            try:
                for chunk in raw_reader.iter_object(message.raw_key):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
            except LookupError:
                raise NotFound(f"the raw message {message.raw_key!r} is gone") from None
        sums.append((name, digest.hexdigest()))
        rows.append(
            {
                "name": name,
                "message_id": message_id,
                "raw_key": message.raw_key,
                "size": size,
                "sha256": digest.hexdigest(),
            }
        )
        if on_file is not None:
            on_file(name)
    return sums, rows


def _info(name: str, when: datetime, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


@needs(Role.READER)
def write_export(
    plan: ExportPlan,
    catalog: FileCatalog,
    store_for: Callable[[str | None], ObjectReader],
    signer: ExportSigner,
    target: IO[bytes],
    *,
    incoming_prefix: str,
    render_csv: CsvRenderer,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
    raw_reader: ObjectReader | None = None,
    on_file: Callable[[str], None] | None = None,
) -> ExportSummary:
    """Write the zip into `target`; IntegrityError names a file whose bytes differ.

    `target` may be a stream that cannot seek (an S3 multipart upload): zipfile then writes
    each entry's sizes and CRC after its data. With `raw_reader` (admins: `--with-raw`), each
    message's raw .eml is added under `raw/` and listed in the manifest with its sha256.
    `on_file` is told each entry's name once it is written (a job's progress).
    """
    created = (now or datetime.now(UTC)).astimezone(UTC)
    created_at = created.isoformat(timespec="seconds").replace("+00:00", "Z")
    messages = _messages(catalog, {r.message_id for r in plan.records})
    verdicts = {mid: dict(m.verdicts) if m is not None else {} for mid, m in messages.items()}
    public_key = signer.public_key_pem()
    sums: list[tuple[str, str]] = []
    rows: list[dict[str, Any]] = []
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for record, name in zip(plan.records, plan.names, strict=True):
            try:
                when = datetime.fromisoformat(record.received_at.replace("Z", "+00:00"))
            except ValueError:
                when = created
            if when.year < 1980:
                when = created
            # Stored, not deflated: documents are mostly compressed already, and a 1 GB case
            # should cost the network's time, not the CPU's.
            info = _info(name, when, zipfile.ZIP_STORED)
            with archive.open(info, "w", force_zip64=True) as entry:
                downloads.copy_verified(
                    store_for(record.bucket),
                    record,
                    entry,
                    progress=progress,
                    incoming_prefix=incoming_prefix,
                    bucket=record.bucket or "",
                )
            sums.append((name, record.sha256))
            rows.append(exports.manifest_row(record, name, verdicts.get(record.message_id)))
            if on_file is not None:
                on_file(name)
        raw_rows: list[dict[str, Any]] = []
        if raw_reader is not None:
            raw_sums, raw_rows = _write_raw(
                archive, messages, raw_reader, created, progress=progress, on_file=on_file
            )
            sums += raw_sums
        since = plan.since.isoformat() if plan.since else None
        until = plan.until.isoformat() if plan.until else None
        header: dict[str, Any] = {
            "case": plan.case,
            "since": since,
            "until": until,
            "created_at": created_at,
            "bytes": plan.total_bytes,
            "signing_key_id": signer.key_id,
            "signing_key_fingerprint": exports.fingerprint(public_key),
        }
        if raw_reader is not None:
            header["raw"] = raw_rows
        csv_rows = [{**row, "verdicts": row["verdicts"] or None} for row in rows]
        extras = [
            (exports.MANIFEST_JSON, exports.manifest_json(header, rows)),
            (
                exports.MANIFEST_CSV,
                render_csv(csv_rows, exports.MANIFEST_FIELDS).encode("utf-8"),
            ),
            (exports.PUBLIC_KEY, public_key),
        ]
        for name, data in extras:
            archive.writestr(_info(name, created, zipfile.ZIP_DEFLATED), data)
            sums.append((name, hashlib.sha256(data).hexdigest()))
        sums_bytes = exports.sums_text(sums)
        digest = exports.signed_message(sums_bytes)
        archive.writestr(_info(exports.SUMS, created, zipfile.ZIP_DEFLATED), sums_bytes)
        archive.writestr(_info(exports.SIGNATURE, created, zipfile.ZIP_STORED), signer.sign(digest))
    return ExportSummary(
        case=plan.case,
        since=since,
        until=until,
        documents=len(plan.records),
        bytes=plan.total_bytes,
        raw_messages=len(raw_rows),
        files=len(sums) + 2,
        sha256sums_sha256=digest.hex(),
        key_id=signer.key_id,
        key_fingerprint=exports.fingerprint(public_key),
        created_at=created_at,
    )
