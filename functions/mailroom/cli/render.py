"""How records look to a person: pure text layout, no I/O (printing is `cli.output`'s job).

One style everywhere: upper-case headers, times in UTC with a `Z` (or local with their offset
behind --local-time), sizes in kB/MB. A listing is one line per record when lines may be as
long as they need (a pipe, or --wide); on a terminal each record's fields are fitted to its
width and the id goes whole on a line of its own, so it is never cut and copies safely.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailroom.model import FileRecord, MessageRecord

# Short labels for the types people send most; anything else shows its MIME subtype.
_TYPE_LABELS = {
    "application/pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/octet-stream": "binary",
    "application/ms-tnef": "tnef",
    "message/rfc822": "eml",
    "text/plain": "text",
    "text/csv": "csv",
    "text/html": "html",
    "text/calendar": "ics",
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/gif": "gif",
    "image/tiff": "tiff",
    "image/heic": "heic",
}


def show_time(timestamp: str | None, local: bool = False, seconds: bool = False) -> str:
    """ISO 8601 UTC -> 'YYYY-MM-DD HH:MMZ', or the viewer's time with its offset (+13:00)."""
    if not timestamp:
        return ""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    if not local:
        return moment.strftime(shape) + "Z"
    moment = moment.astimezone()
    offset = moment.strftime("%z")
    return moment.strftime(shape) + f"{offset[:3]}:{offset[3:]}"


def human_size(size: int) -> str:
    """'999 B', '1.0 kB', '12.3 kB', '140 kB', '40.0 MB': SI units (1 kB = 1000 bytes), one
    decimal below 100, halves rounded up, in integers. web/js/format.js's formatSize matches."""
    if size < 1000:
        return f"{size} B"
    scale = 1
    for unit in ("kB", "MB", "GB", "TB"):
        scale *= 1000
        whole = (2 * size + scale) // (2 * scale)
        if whole < 1000 or unit == "TB":
            tenths = (20 * size + scale) // (2 * scale)
            return f"{tenths // 10}.{tenths % 10} {unit}" if tenths < 1000 else f"{whole} {unit}"
    raise AssertionError("unreachable")


def short_type(record: FileRecord) -> str:
    """What the bytes are (detected), unless the sniffer only says "some text" or "some bytes"."""
    detected = (record.detected_type or "").lower()
    declared = (record.content_type or "").lower()
    generic = {"", "text/plain", "application/octet-stream"}
    mime = declared if detected in generic and declared not in generic else detected or declared
    if not mime:
        return ""
    if mime in _TYPE_LABELS:
        return _TYPE_LABELS[mime]
    subtype = mime.partition("/")[2] or mime
    return subtype.removeprefix("vnd.").removeprefix("x-")[:12]


def sender_label(record: FileRecord | MessageRecord) -> str:
    """'client@x via staff@y' when the file came out of a forwarded message."""
    if isinstance(record, FileRecord):
        sender = record.sender
    else:
        sender = record.from_address or record.envelope_sender
    original = record.original_sender
    shown = f"{original} {CLAIMED}" if original and level_of(record) == "claimed" else original
    if original and sender and original.lower() != sender.lower():
        return f"{shown} via {sender}"
    if isinstance(record, FileRecord) and record.sender_named_by and sender:
        return f"{sender} {NAMED}"
    return shown or sender or ""


CLAIMED = "(claimed)"
NAMED = "(named)"


def level_of(record: FileRecord | MessageRecord) -> str | None:
    """The original sender's trust level; a record from before levels existed is claimed."""
    if not record.original_sender:
        return None
    return record.original_sender_level or "claimed"


UNVERIFIED = "(unverified)"


def sender_cell(record: FileRecord | MessageRecord) -> str:
    """The sender as a table shows it: flagged when SES's verdicts did not vouch for it.

    `authenticated` is None on records written before the check existed: nothing is claimed.
    """
    label = sender_label(record)
    return f"{label} {UNVERIFIED}" if label and record.authenticated is False else label


def trust(record: FileRecord | MessageRecord) -> str:
    """'yes (dmarc PASS)' / 'no (...)' for the key/value views; '' when never checked."""
    if record.authenticated is None:
        return ""
    answer = "yes" if record.authenticated else "no"
    return f"{answer} ({record.auth_reason})" if record.auth_reason else answer


def printable(text: str) -> str:
    """Neutralise what a sender could use against a terminal: escapes, controls, bidi overrides."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else "\ufffd" for ch in text.replace("\n", " ")
    )


# -- listings --


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    cap: int | None = None  # widest it grows on a terminal (None: its content)
    wrap: bool = False  # on a narrow terminal: continue on the next line (never cut)
    right: bool = False
    cut: int | None = None  # in one-line mode, cut longer cells (free text only)
    keep: bool = False  # short fixed values (a case tag, an outcome): never narrowed to fit
    yields: bool = False  # narrowed first, before the other columns give anything up


FILE_COLUMNS = (
    Column("received", cap=22),
    Column("sender", cap=40, wrap=True, yields=True),
    Column("name", cap=40, wrap=True),
    Column("size", right=True),
    Column("type", cap=8),
    Column("case", cap=20, keep=True),
)
FILE_ID = "file id"
MESSAGE_COLUMNS = (
    Column("received", cap=22),
    Column("sender", cap=40, wrap=True, yields=True),
    Column("outcome", cap=14, keep=True),
    Column("files", right=True),
    Column("subject", cap=30, cut=64),
    Column("reason", cap=30, wrap=True),
)
MESSAGE_ID = "message id"
_MIN_WIDTH = 6
_GAP = "  "


def file_row(record: FileRecord, local: bool = False) -> list[str]:
    return _clean(
        show_time(record.received_at, local),
        sender_cell(record),
        f"{record.filename} (deleted)" if record.deleted else record.filename,
        human_size(record.size),
        short_type(record),
        record.case or "",
    )


def message_row(record: MessageRecord, local: bool = False) -> list[str]:
    return _clean(
        show_time(record.received_at, local),
        sender_cell(record),
        str(record.outcome),
        str(record.attachment_count),
        record.subject or "",
        record.reason or "",
    )


def _clean(*cells: str) -> list[str]:
    return [" ".join(printable(cell).split()) for cell in cells]


def listing(
    columns: Sequence[Column],
    id_name: str,
    rows: Sequence[Sequence[str]],
    ids: Sequence[str],
    width: int | None,
) -> list[tuple[str, str]]:
    """(kind, text) lines: kind is "header", "row" or "id" (so a terminal can style them).

    `width` None: one line per record, the id last and whole. Otherwise fitted to `width`.
    """
    ids = [printable(i) for i in ids]
    if width is None:
        header = [c.name.upper() for c in columns] + [id_name.upper()]
        cells = [
            [_cut(cell, c.cut) for cell, c in zip(row, columns, strict=True)] + [ident]
            for row, ident in zip(rows, ids, strict=True)
        ]
        return [
            ("header", h) if n == 0 else ("row", h) for n, h in enumerate(_align(header, cells))
        ]
    widths = _fit(columns, rows, width)
    lines = [("header", _line([c.name.upper() for c in columns], widths, columns))]
    lines.append(("header", f"{_GAP}{id_name.upper()}"))
    for row, ident in zip(rows, ids, strict=True):
        lines.extend(("row", text) for text in _wrapped(row, widths, columns))
        lines.append(("id", f"{_GAP}{ident}"))
    return lines


def _cut(cell: str, limit: int | None) -> str:
    return cell if limit is None or len(cell) <= limit else cell[: limit - 1] + "…"


def _align(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned plain columns; the last column (an id) is never padded or cut."""
    widths = [max([len(header[i]), *(len(r[i]) for r in rows)]) for i in range(len(header) - 1)]
    out = []
    for row in [list(header), *rows]:
        padded = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        out.append(_GAP.join([*padded, row[-1]]).rstrip())
    return out


def _fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    widths = [
        min(max([len(c.name), *(len(r[i]) for r in rows)]), c.cap or 10_000)
        for i, c in enumerate(columns)
    ]
    # The narrowest each free-text column may get: a wrapping one keeps its longest piece (see
    # `_pieces`), a cut one keeps a few characters. Times, sizes, types and `keep` columns stay.
    free = [
        i
        for i, c in enumerate(columns)
        if c.cap and not c.keep and c.name not in {"received", "type"}
    ]

    def floor(i: int, fine: bool) -> int:
        if not columns[i].wrap:
            return min(widths[i], max(_MIN_WIDTH, len(columns[i].name)))
        longest = max([_MIN_WIDTH, *(len(p) for r in rows for p in _pieces(r[i], fine))])
        return min(widths[i], longest)

    # Who gives way, in turn: the sender (yields) to its addresses' halves; the others to a
    # readable width; the sender to its addresses' parts; the others to their longest word.
    steps = [
        {i: floor(i, fine=False) for i in free if columns[i].yields},
        {
            i: max(floor(i, fine=True), min(widths[i], _READABLE))
            for i in free
            if not columns[i].yields
        },
        {i: floor(i, fine=True) for i in free if columns[i].yields},
        {i: floor(i, fine=True) for i in free if not columns[i].yields},
    ]
    for floors in steps:
        while sum(widths) + len(_GAP) * (len(widths) - 1) > width:
            shrinkable = [i for i, least in floors.items() if widths[i] > least]
            if not shrinkable:
                break  # narrower than this step allows: the next one, else the terminal wraps
            widest = max(shrinkable, key=lambda i: widths[i] - floors[i])
            widths[widest] -= 1
    return widths


_READABLE = 24  # a file name, subject or reason keeps this much before a sender's domain breaks
_WORD_FLOOR = 16  # a word longer than this in a wrapping column may be broken to fit
_DOMAIN_PARTS = re.compile(r"[^.\-]*[.\-]+|[^.\-]+$")


def _address_parts(word: str) -> list[str] | None:
    """'elodie.martin@partner-avocats.example' -> local part, '@partner-', 'avocats.', 'example'.

    Where an address too long for its column may continue on the next line: before its "@",
    after a dot or hyphen of its domain; never inside a name. None: not an address.
    """
    local, at, domain = word.partition("@")
    if not (at and local and domain):
        return None
    return [local, *_DOMAIN_PARTS.findall(at + domain)]


def _pieces(cell: str, fine: bool = True) -> list[str]:
    """The narrowest parts wrapping keeps whole: words (long ones broken at _WORD_FLOOR), and
    addresses in halves at their "@" or, `fine`, in all their `_address_parts`."""
    pieces: list[str] = []
    for word in cell.split():
        parts = _address_parts(word)
        if parts is not None:
            pieces.extend(parts if fine else [parts[0], "".join(parts[1:])])
        else:
            pieces.extend(word[n : n + _WORD_FLOOR] for n in range(0, len(word), _WORD_FLOOR))
    return pieces


def _address_chunks(word: str, width: int) -> list[str]:
    """An address in halves at its "@" when both fit, else in all its parts; other words whole."""
    parts = _address_parts(word)
    if parts is None:
        return [word]
    halves = [parts[0], "".join(parts[1:])]
    return halves if all(len(h) <= width for h in halves) else parts


def _wrap(cell: str, width: int) -> list[str]:
    """Lines of at most `width`: whole words where they fit; a longer address continues at one
    of its `_address_parts`, any other long word is broken at the width."""
    lines: list[str] = []
    current = ""
    for word in cell.split():
        chunks = _address_chunks(word, width) if len(word) > width else [word]
        for n, chunk in enumerate(chunks):
            glue = "" if n else " "
            if current and len(current) + len(glue) + len(chunk) <= width:
                current += glue + chunk
                continue
            if current:
                lines.append(current)
            rest = chunk
            while len(rest) > width:
                lines.append(rest[:width])
                rest = rest[width:]
            current = rest
    if current:
        lines.append(current)
    return lines or [""]


def _line(cells: Sequence[str], widths: Sequence[int], columns: Sequence[Column]) -> str:
    padded = [
        cell.rjust(w) if c.right else cell.ljust(w)
        for cell, w, c in zip(cells, widths, columns, strict=True)
    ]
    return _GAP.join(padded).rstrip()


def _wrapped(row: Sequence[str], widths: Sequence[int], columns: Sequence[Column]) -> list[str]:
    """One record's fields: wrapping columns continue below, the others end in '…'."""
    parts: list[list[str]] = []
    for cell, w, c in zip(row, widths, columns, strict=True):
        if len(cell) <= w:
            parts.append([cell])
        elif c.wrap:
            parts.append(_wrap(cell, w))
        else:
            parts.append([cell[: w - 1] + "…"])
    height = max(len(p) for p in parts)
    return [
        _line([p[n] if n < len(p) else "" for p in parts], widths, columns) for n in range(height)
    ]


# -- key/value views (show, message, inspect) --


def file_fields(record: FileRecord, local: bool = False) -> list[tuple[str, str]]:
    sender = record.sender or ""
    if record.sender_name:
        sender = f"{record.sender_name} <{sender}>"
    pairs = [
        ("file id", record.file_id),
        ("filename", record.filename),
        ("deleted", _deleted(record, local)),
        ("released", _released(record.released_by, record.released_at, record.release_reason)),
        ("size", f"{human_size(record.size)} ({record.size} bytes)"),
        ("type", _both(record.content_type, record.detected_type)),
        ("role", role_text(record)),
        ("image", f"{record.width}x{record.height}" if record.width and record.height else ""),
        ("sha256", record.sha256),
        ("received", show_time(record.received_at, local, seconds=True)),
        ("sender", _named(sender, record.sender_named_by)),
        ("uploaded by", record.uploaded_by or ""),
        ("authenticated", trust(record)),
        ("original sender", _via(record.original_sender, record.original_sender_via)),
        ("sender trust", _level(record)),
        ("case", record.case or ""),
        ("spam", "suspected (spam verdict FAIL)" if record.suspected_spam else ""),
        ("source", record.source),
        ("message id", record.message_id),
        ("part", f"{record.part or ''}{' (inline)' if record.inline else ''}"),
        ("stored as", f"s3://{record.bucket}/{record.file_id}" if record.bucket else ""),
        ("version", record.version_id or ""),
    ]
    return [(k, printable(v)) for k, v in pairs if v]


def _deleted(record: FileRecord, local: bool) -> str:
    """'yes, 2026-12-05 11:50:07Z by staff@x': hidden from listings, never served again."""
    if not record.deleted:
        return ""
    when = show_time(record.deleted_at, local, seconds=True)
    return " ".join(["yes,", *([when] if when else []), f"by {record.deleted_by or 'unknown'}"])


def _released(by: str | None, at: str | None, reason: str | None) -> str:
    """Issue 22: 'by admin at 2026-12-05T18:00:00.000Z: checked by phone'."""
    return f"by {by} at {at}: {reason or ''}" if by else ""


def message_fields(record: MessageRecord, local: bool = False) -> list[tuple[str, str]]:
    sender = record.from_address or ""
    if record.from_name:
        sender = f"{record.from_name} <{sender}>"
    verdicts = " ".join(f"{k}={v}" for k, v in record.verdicts.items())
    recipients = ", ".join(record.recipients)
    if record.recipients_truncated:
        recipients += ", …"
    pairs = [
        ("message id", record.message_id),
        ("received", show_time(record.received_at, local, seconds=True)),
        ("outcome", str(record.outcome)),
        ("reason", record.reason or ""),
        ("from", sender),
        ("authenticated", trust(record)),
        ("envelope sender", record.envelope_sender or ""),
        ("original sender", _via(record.original_sender, record.original_sender_via)),
        ("sender trust", _level(record)),
        ("recipients", recipients),
        ("case", record.case or ("NEEDS FILING (mailroom file)" if record.needs_filing else "")),
        ("labels", ", ".join(record.labels)),  # issue 21: filing and receipts
        ("filed", f"by {record.filed_by} at {record.filed_at}" if record.filed_by else ""),
        ("filing", record.filing_reason or ""),
        ("released", _released(record.released_by, record.released_at, record.release_reason)),
        ("automatic mail", record.automatic or ""),
        ("receipt", record.receipt or ""),
        ("subject", record.subject or ""),
        ("excerpt", record.excerpt or ""),
        ("links", " ".join(record.links)),
        ("verdicts", verdicts),
        ("spam", "suspected (spam verdict FAIL)" if record.suspected_spam else ""),
        ("attachments", str(record.attachment_count)),
        ("raw message", record.raw_key),
        ("warnings", "; ".join(record.warnings)),
    ]
    return [(k, printable(v)) for k, v in pairs if v]


def role_text(record: FileRecord) -> str:
    """Issue 20: what the file is and why; a document says nothing unless it has a reason."""
    if record.role == "document" and not record.role_reason:
        return ""
    return f"{record.role} ({record.role_reason})" if record.role_reason else record.role


def context_fields(
    message: MessageRecord | None, parent: FileRecord | None = None
) -> list[tuple[str, str]]:
    """What `show` adds for a file: its container, and its message's subject, excerpt, links
    (links are shown, never fetched)."""
    pairs = [("in container", f"{parent.filename} ({parent.file_id})" if parent else "")]
    if message is not None:
        pairs += [
            ("subject", message.subject or ""),
            ("excerpt", message.excerpt or ""),
            ("links", " ".join(message.links)),
        ]
    return [(k, printable(v)) for k, v in pairs if v]


def upload_fields(
    upload_id: str, files: Sequence[FileRecord], local: bool = False
) -> list[tuple[str, str]]:
    """An upload's id as `message` shows it: who uploaded what, when (there is no email)."""
    senders = dict.fromkeys(f.sender for f in files if f.sender)
    cases = dict.fromkeys(f.case for f in files if f.case)
    first = min((f.received_at for f in files), default="")
    pairs = [
        ("upload id", upload_id),
        ("uploaded", show_time(first, local, seconds=True)),
        ("uploaded by", ", ".join(senders)),
        ("case", ", ".join(cases)),
        ("files", f"{len(files)} (an upload: no email message)"),
    ]
    return [(k, printable(v)) for k, v in pairs if v]


def _both(declared: str | None, detected: str | None) -> str:
    if declared and detected and declared != detected:
        return f"{declared} (declared), {detected} (detected)"
    return declared or detected or ""


_VIA = {"attached-message": "a forwarded attachment", "inline-forward": "an inline forward"}


_LEVELS = {
    "verified": "verified (the forwarded message's own DKIM signature holds)",
    "vouched": "vouched (forwarded by an authenticated trusted forwarder)",
    "claimed": "claimed (not verified; found by --sender only with --include-claimed)",
}


def _level(record: FileRecord | MessageRecord) -> str:
    level = level_of(record)
    if level is None:
        return ""
    text = _LEVELS.get(level, level)
    check = getattr(record, "original_sender_check", None)
    return f"{text}; dkim: {check}" if check else text


def _named(sender: str, named_by: str | None) -> str:
    if not sender or not named_by:
        return sender
    return f"{sender} (named by {named_by}, not authenticated)"


def _via(original: str | None, via: str | None) -> str:
    """Only the outer sender is authenticated by SES; say so of a recovered one."""
    if not original:
        return ""
    if not via:
        return original
    return f"{original} (from {_VIA.get(via, via)}: not authenticated)"


def render_fields(pairs: Sequence[tuple[str, str]]) -> str:
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def render_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A small aligned table (upper-case header like every other), the last column whole."""
    cells = [[printable(c) for c in row] for row in rows]
    return "\n".join(_align([h.upper() for h in header], cells))


INSPECT_COLUMNS = ("part", "filename", "size", "type", "inline", "sha256")


def render_inspection(report: dict[str, Any]) -> str:
    """One message as `mailroom inspect --format table` shows it: headers, attachments."""
    sender = report.get("sender") or ""
    if report.get("sender_name"):
        sender = f"{report['sender_name']} <{sender}>"
    pairs = [
        ("path", str(report.get("path") or "")),
        ("from", sender),
        ("original sender", report.get("original_sender") or ""),
        ("subject", report.get("subject") or ""),
        ("message id", report.get("message_id") or ""),
    ]
    rows = [
        _clean(
            str(a.get("part") or ""),
            str(a.get("filename") or ""),
            human_size(int(a.get("size") or 0)),
            str(a.get("content_type") or ""),
            "yes" if a.get("inline") else "",
            str(a.get("sha256") or ""),
        )
        for a in report.get("attachments") or []
    ]
    blocks = [render_fields([(k, printable(v)) for k, v in pairs if v])]
    blocks.append(render_rows(INSPECT_COLUMNS, rows) if rows else "no attachments")
    warnings = [printable(str(w)) for w in report.get("warnings") or []]
    if warnings:
        blocks.append("\n".join(f"warning: {w}" for w in warnings))
    return "\n".join(blocks) + "\n"
