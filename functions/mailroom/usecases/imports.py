"""Import old mailboxes: an mbox file, a Maildir, or a folder of .eml files.

Each message goes the way mail from SES goes: the raw message is kept under `raw/<import-id>`,
the extraction use case (`intake.process_message`) writes its attachments under `incoming/` and
its message record, and each file gets its record (`recording.record_object`, in-process, so
the import is complete when it returns; the bucket notification records the same objects to the
same items). Records carry `source: import` and the mailbox path; sender and date come from the
message itself, and the date is `received_at`, so old mail sorts where it belongs.

- Streaming: messages are read line by line (lines cut at 1 MiB) into a spool that moves to
  disk past 8 MiB, so a 2 GB mbox is never in memory.
- Idempotent: the import id is derived from the Message-ID and the raw bytes' sha256. A message
  whose record is final and whose files are all recorded is skipped; anything less is done
  again, and identical objects are not rewritten. So an interrupted import resumes by running
  the same command again.
- mbox variants: a `From ` line starts a message (as Python's mailbox module reads it); lines
  quoted as `>From `, `>>From `, ... lose one `>` (mboxrd; for mboxo this undoes the quoting of
  `From `). A `Content-Length` header is honoured when the bytes it counts end exactly at the
  next `From ` line or the end of the file (mboxcl2); otherwise the `From ` lines decide.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from mailroom.dkimcheck import TxtLookup, no_lookup
from mailroom.extract.headers import unfold
from mailroom.model import FileRecord, MessageRecord
from mailroom.policy import Verdicts
from mailroom.ports import IntakeCatalog, IntakeStore, RawStore, Records
from mailroom.settings import Settings
from mailroom.usecases.intake import ReceivedMail, process_message
from mailroom.usecases.recording import ObjectCreated, record_object
from mailroom.usecases.roles import Role, needs

MAX_LINE = 1024 * 1024  # longer lines are read in pieces
SPOOL_IN_MEMORY = 8 * 1024 * 1024
HEADER_LIMIT = 256 * 1024  # a header block longer than this is cut for parsing only
MAX_RECIPIENTS = 200
FINAL_OUTCOMES = frozenset({"extracted", "no_attachments", "quarantined", "rejected", "released"})
COPY_CHUNK = 1024 * 1024

_QUOTED_FROM = re.compile(rb"^>+From ")
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d{1,12})[ \t]*\r?$", re.IGNORECASE)


class MailboxError(ValueError):
    """A path that is not an mbox, a Maildir, a folder of .eml files, or a message."""


@dataclass(slots=True)
class RawMessage:
    """One message read from a mailbox: a seekable stream at 0, its hash, where it came from."""

    stream: BinaryIO
    sha256: str
    size: int
    label: str  # "<path>#<n>" in an mbox, else the file's path
    mailbox: str  # the mailbox (file or folder) as given, made absolute
    fallback_date: datetime | None = None  # the mbox From_ line's date, or the file's mtime

    def close(self) -> None:
        """The consumer owns the stream (it may be handed to a worker thread)."""
        self.stream.close()


class _Spool:
    """A temporary file (in memory while small) that hashes what is written.

    Lines are gathered and written in blocks: one write and one hash update per line would
    cost more than the reading.
    """

    BLOCK = 256 * 1024

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self.digest = hashlib.sha256()
        self.size = 0
        self._pending: list[bytes] = []
        self._pending_size = 0

    def write(self, data: bytes) -> None:
        if data:
            self._pending.append(data)
            self._pending_size += len(data)
            if self._pending_size >= self.BLOCK:
                self.flush()

    def flush(self) -> None:
        if self._pending:
            block = b"".join(self._pending)
            self.file.write(block)
            self.digest.update(block)
            self.size += len(block)
            self._pending.clear()
            self._pending_size = 0


# -- reading mailboxes --


def mailbox_kind(path: Path) -> str:
    """'mbox', 'maildir', 'folder' or 'eml' (a single message file)."""
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return "maildir"
        return "folder"
    if not path.is_file():
        raise MailboxError(f"{path}: not a file or a folder")
    with path.open("rb") as f:
        start = f.read(5)
    if start == b"From ":
        return "mbox"
    if path.suffix.lower() in {".mbox", ".mbx"} or path.name.lower() == "mbox":
        raise MailboxError(f"{path}: not an mbox (the first line is not a 'From ' line)")
    return "eml"


def read_mailbox(path: Path) -> Iterator[RawMessage]:
    """Every message under `path`, in a stable order, one at a time."""
    kind = mailbox_kind(path)
    if kind == "mbox":
        yield from read_mbox(path)
    elif kind == "maildir":
        for sub in ("new", "cur"):
            yield from _read_files(sorted(p for p in (path / sub).glob("*") if p.is_file()), path)
    elif kind == "folder":
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".eml")
        yield from _read_files(files, path)
    else:
        yield from _read_files([path], path)


def _read_files(files: list[Path], mailbox: Path) -> Iterator[RawMessage]:
    for file in files:
        digest = hashlib.sha256()
        stream = file.open("rb")
        try:
            while chunk := stream.read(COPY_CHUNK):
                digest.update(chunk)
            size = stream.tell()
            stream.seek(0)
            mtime = datetime.fromtimestamp(file.stat().st_mtime, UTC)
        except BaseException:
            stream.close()
            raise
        yield RawMessage(stream, digest.hexdigest(), size, str(file), str(mailbox.resolve()), mtime)


def read_mbox(path: Path) -> Iterator[RawMessage]:
    """The messages of an mbox file (mboxo, mboxrd, mboxcl2), streamed."""
    mailbox = str(path.resolve())
    with path.open("rb") as f:
        line = f.readline(MAX_LINE)
        while line in (b"\n", b"\r\n"):
            line = f.readline(MAX_LINE)
        if line and not line.startswith(b"From "):
            raise MailboxError(f"{path}: not an mbox (the first line is not a 'From ' line)")
        index = 0
        while line.startswith(b"From "):
            index += 1
            from_date = _from_line_date(line)
            spool = _Spool()
            line = _read_one(f, spool)
            spool.flush()
            spool.file.seek(0)
            yield RawMessage(
                spool.file,  # type: ignore[arg-type]
                spool.digest.hexdigest(),
                spool.size,
                f"{path}#{index}",
                mailbox,
                from_date,
            )


def _read_one(f: BinaryIO, spool: _Spool) -> bytes:
    """Copy one message (after its From_ line) into `spool`; return the next From_ line or b""."""
    content_length: int | None = None
    at_start = True
    # Header block: copied as is (a quoted From cannot be a header), Content-Length noted.
    while True:
        line = f.readline(MAX_LINE)
        if not line or (at_start and line.startswith(b"From ")):
            return line
        if at_start and line in (b"\n", b"\r\n"):
            spool.write(line)
            break
        if at_start and (match := _CONTENT_LENGTH.match(line.rstrip(b"\n"))):
            content_length = int(match.group(1))
        spool.write(line)
        at_start = line.endswith(b"\n")
    if content_length is not None:
        following = _body_by_length(f, content_length)
        if following is not None:
            _copy(f, spool, content_length)
            return _skip_separator(f)
    return _body_by_from_lines(f, spool)


def _body_by_length(f: BinaryIO, length: int) -> bytes | None:
    """If `length` body bytes end at a From_ line (after at most one blank line) or at the end
    of the file, return what follows (b"" at the end); else None. The position is unchanged."""
    start = f.tell()
    try:
        f.seek(0, os.SEEK_END)
        if start + length > f.tell():
            return None
        f.seek(start + length)
        nxt = f.readline(MAX_LINE)
        if nxt in (b"\n", b"\r\n"):
            nxt = f.readline(MAX_LINE)
        return nxt if (not nxt or nxt.startswith(b"From ")) else None
    finally:
        f.seek(start)


def _copy(f: BinaryIO, spool: _Spool, length: int) -> None:
    left = length
    while left:
        chunk = f.read(min(COPY_CHUNK, left))
        if not chunk:
            break
        spool.write(chunk)
        left -= len(chunk)


def _skip_separator(f: BinaryIO) -> bytes:
    line = f.readline(MAX_LINE)
    if line in (b"\n", b"\r\n"):
        line = f.readline(MAX_LINE)
    return line


def _body_by_from_lines(f: BinaryIO, spool: _Spool) -> bytes:
    """Copy lines up to the next From_ line, unquoting `>From `; the blank line before a From_
    line is the separator, not part of the message."""
    pending = b""  # a blank line that may turn out to be the separator
    at_start = True
    readline = f.readline
    write = spool.write
    while True:
        line = readline(MAX_LINE)
        if not line:  # a blank line at the very end is the last message's terminator
            return b""
        if at_start:
            first = line[:1]
            if first == b"F" and line.startswith(b"From "):
                return line
            if pending:
                write(pending)
                pending = b""
            if line in (b"\n", b"\r\n"):
                pending = line
            elif first == b">" and _QUOTED_FROM.match(line):
                write(line[1:])
            else:
                write(line)
        else:
            write(line)
        at_start = line[-1:] == b"\n"


def _from_line_date(line: bytes) -> datetime | None:
    # "From sender@example.com Sat Nov 21 10:00:00 2026": asctime after the address.
    parts = line.decode("ascii", "replace").split()
    if len(parts) < 7:
        return None
    try:
        return datetime.strptime(" ".join(parts[-5:]), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


# -- one message --


@dataclass(frozen=True, slots=True)
class Headers:
    message_id: str | None
    from_header: str | None
    date: datetime | None
    subject: str | None
    recipients: tuple[str, ...]


def read_headers(stream: BinaryIO) -> Headers:
    """The headers an import needs, from the head of the message; the stream is rewound."""
    head = stream.read(HEADER_LIMIT)
    stream.seek(0)
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=-1)
    parsed = BytesHeaderParser(policy=compat32).parsebytes(head[:end] if end >= 0 else head)

    def text(name: str) -> str | None:
        value = parsed.get(name)
        if value is None:
            return None
        return _decoded(unfold(str(value))).strip() or None  # unfolded, as SES gives it

    date: datetime | None = None
    if raw_date := text("Date"):
        try:
            date = parsedate_to_datetime(raw_date)
        except (TypeError, ValueError, IndexError):
            date = None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)  # "-0000": UTC, origin unknown (RFC 5322 3.3)
    addresses = [str(v) for v in parsed.get_all("To", []) + parsed.get_all("Cc", [])]
    recipients = tuple(dict.fromkeys(a.lower() for _, a in getaddresses(addresses) if "@" in a))[
        :MAX_RECIPIENTS
    ]
    message_id = text("Message-ID")
    return Headers(
        message_id=message_id.strip("<> \t") if message_id else None,
        from_header=text("From"),
        date=date,
        subject=text("Subject"),
        recipients=recipients,
    )


def _decoded(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def import_id(message_id: str | None, raw_sha256: str) -> str:
    """Deterministic: the same message imported again gets the same id (and the same keys)."""
    digest = hashlib.sha256(f"{message_id or ''}\n{raw_sha256}".encode()).hexdigest()
    return f"imp-{digest[:32]}"


def iso_z(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class ImportResult:
    imported: list[dict[str, Any]] = field(default_factory=list)  # id, label, outcome, files
    skipped: list[dict[str, str]] = field(default_factory=list)  # id, label
    failed: list[dict[str, str]] = field(default_factory=list)  # label, reason
    dry_run: bool = False
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": len(self.imported),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "messages": self.imported,
            "failures": self.failed,
        }


Extract = Callable[[ReceivedMail], MessageRecord]  # one message -> its files and record
Record = Callable[[str], FileRecord | None]  # one object key under incoming/ -> its record


def intake_steps(
    settings: Settings,
    store: IntakeStore,
    catalog: IntakeCatalog,
    txt_lookup: TxtLookup = no_lookup,
) -> tuple[Extract, Record]:
    """The path mail from SES takes, in-process: `intake.process_message`, then
    `recording.record_object` for each file. `txt_lookup`: DNS for the DKIM checks of
    forwards (an import's forwards are claimed unless their own signature verifies)."""

    def extract(mail: ReceivedMail) -> MessageRecord:
        return process_message(mail, settings, store, catalog, txt_lookup=txt_lookup)

    def record(key: str) -> FileRecord | None:
        return record_object(
            ObjectCreated(key),
            settings.incoming_prefix,
            store,
            catalog,
            sightings=catalog,
            signature_repeats=settings.limits.signature_repeats,
            filings=catalog,
        )

    return extract, record


@dataclass(frozen=True, slots=True)
class Importer:
    settings: Settings
    raw: RawStore
    records: Records
    extract: Extract
    record: Record
    case: str | None = None
    dry_run: bool = False

    def already_done(self, message_id: str) -> bool:
        """A final record and every file it lists under incoming/ recorded."""
        item = self.records.message_items([message_id]).get(message_id)
        if item is None or item.get("outcome") not in FINAL_OUTCOMES:
            return False
        files = [
            f for f in item.get("file_ids") or [] if f.startswith(self.settings.incoming_prefix)
        ]
        return len(self.records.file_items(files)) == len(set(files))

    def one(self, message: RawMessage, result: ImportResult) -> None:
        headers = read_headers(message.stream)
        self.process(message, import_id(headers.message_id, message.sha256), headers, result)

    def process(
        self, message: RawMessage, mid: str, headers: Headers, result: ImportResult
    ) -> None:
        if self.already_done(mid):
            result.skipped.append({"id": mid, "label": message.label})
            return
        received = headers.date or message.fallback_date or datetime.now(UTC)
        if self.dry_run:
            result.imported.append(
                {"id": mid, "label": message.label, "received_at": iso_z(received)}
            )
            return
        raw_key = self.settings.raw_prefix + mid
        if not self.raw.has_identical(raw_key, message.sha256):
            self.raw.upload(
                raw_key,
                message.stream,
                "message/rfc822",
                {"sha256": message.sha256, "source": "import"},
            )
        sender = parseaddr(headers.from_header or "")[1] or None
        mail = ReceivedMail(
            message_id=mid,
            timestamp=iso_z(received),
            source=sender,
            recipients=headers.recipients,
            verdicts=Verdicts(),  # not scanned by SES: every verdict GRAY
            from_header=(headers.from_header,) if headers.from_header else (),
            subject=headers.subject,
            rfc_message_id=f"<{headers.message_id}>" if headers.message_id else None,
            origin="import",
            mailbox=message.mailbox,
            case=self.case,
        )
        record = self.extract(mail)
        recorded = 0
        for key in record.file_ids:
            if key.startswith(self.settings.incoming_prefix):
                recorded += self.record(key) is not None
        result.imported.append(
            {
                "id": mid,
                "label": message.label,
                "outcome": str(record.outcome),
                "files": recorded,
                "received_at": record.received_at,
            }
        )


@needs(Role.ADMIN)
def import_paths(
    paths: list[Path],
    importer: Importer,
    progress: Callable[[RawMessage], None] | None = None,
    *,
    jobs: int = 1,
) -> ImportResult:
    """Import every message under `paths`; one bad message is reported and the rest go on.

    Mailboxes are read in order in this thread; with `jobs` > 1 messages are imported by that
    many threads (at most 2 x `jobs` spooled at once), which is what makes an import against
    AWS fast (each message is a dozen requests). The same message twice in one run is done
    once. Ctrl-C lets the messages in progress finish and drops the rest; the result says so,
    and running the same import again resumes (what is done is skipped).
    """
    result = ImportResult(dry_run=importer.dry_run)
    seen: set[str] = set()

    def finish(message: RawMessage) -> None:
        message.close()
        if progress is not None:
            progress(message)

    def work(message: RawMessage, mid: str, headers: Headers) -> None:
        try:
            importer.process(message, mid, headers, result)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:300]
            result.failed.append({"label": message.label, "reason": reason})
        finally:
            finish(message)

    inflight: dict[Future[None], RawMessage] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="import") as pool:
        try:
            for path in paths:
                try:
                    for message in read_mailbox(path):
                        try:
                            headers = read_headers(message.stream)
                        except Exception as exc:
                            result.failed.append({"label": message.label, "reason": str(exc)})
                            finish(message)
                            continue
                        mid = import_id(headers.message_id, message.sha256)
                        if mid in seen:
                            result.skipped.append({"id": mid, "label": message.label})
                            finish(message)
                            continue
                        seen.add(mid)
                        if jobs <= 1:
                            work(message, mid, headers)
                            continue
                        inflight[pool.submit(work, message, mid, headers)] = message
                        if len(inflight) >= 2 * jobs:
                            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                            for future in done:
                                del inflight[future]
                except (MailboxError, OSError) as exc:
                    result.failed.append({"label": str(path), "reason": str(exc)[:300]})
        except KeyboardInterrupt:
            result.interrupted = True
            for future, message in inflight.items():
                if future.cancel():
                    message.close()
    return result
