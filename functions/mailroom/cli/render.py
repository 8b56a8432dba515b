"""How records look to a person: a rich table on a terminal, aligned plain text in a pipe.

`mailroom list` and `mailroom demo` share `files_table` / `render_files`. rich is imported only
when a table is actually built, so scripts that ask for --json never pay for it.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mailroom.model import FileRecord, MessageRecord

if TYPE_CHECKING:
    from rich.table import Table

FILE_COLUMNS = ("received", "sender", "filename", "size", "type", "case", "file id")
MESSAGE_COLUMNS = ("received", "sender", "outcome", "files", "subject", "reason", "message id")

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
_MAX_PLAIN = 64  # plain-text cells longer than this are cut (the id never is)


def local_time(timestamp: str | None) -> str:
    """ISO 8601 UTC -> 'YYYY-MM-DD HH:MM' in the viewer's time zone."""
    if not timestamp:
        return ""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp[:16]
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def human_size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 999.95 or unit == "TB":
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
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
    if original and sender and original.lower() != sender.lower():
        return f"{original} via {sender}"
    return original or sender or ""


def printable(text: str) -> str:
    """Neutralise what a sender could use against a terminal: escapes, controls, bidi overrides."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else "\ufffd" for ch in text.replace("\n", " ")
    )


def file_row(record: FileRecord) -> tuple[str, ...]:
    return _clean(
        local_time(record.received_at),
        sender_label(record),
        record.filename,
        human_size(record.size),
        short_type(record),
        record.case or "",
        record.file_id,
    )


def _clean(*cells: str) -> tuple[str, ...]:
    return tuple(printable(cell) for cell in cells)


def message_row(record: MessageRecord) -> tuple[str, ...]:
    return _clean(
        local_time(record.received_at),
        sender_label(record),
        str(record.outcome),
        str(record.attachment_count),
        record.subject or "",
        record.reason or "",
        record.message_id,
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    columns: tuple[str, ...]  # the last one (an id) gets a line of its own
    caps: tuple[int | None, ...]  # widest each other column may grow (None: its content)
    right: frozenset[int]  # right-aligned columns
    flex: tuple[int, ...]  # free-text columns that give way first on a narrow terminal


_FILES = _Layout(FILE_COLUMNS, (16, 34, 34, None, 8, 14), frozenset({3}), (1, 2, 5))
_MESSAGES = _Layout(MESSAGE_COLUMNS, (16, 30, 14, None, 30, 24), frozenset({3}), (1, 4, 5))
_MIN_FLEX = 8


def files_table(
    records: Sequence[FileRecord], title: str | None = None, width: int | None = None
) -> Table:
    """Files for a terminal: one line of fields per file, its id whole on the line below.

    An object key is ~70 characters, too long to share a 100-column line with the rest, and
    it must stay whole so it can be copied into `mailroom get`.
    """
    return _two_line_table(_FILES, [file_row(r) for r in records], title, width)


def messages_table(
    records: Sequence[MessageRecord], title: str | None = None, width: int | None = None
) -> Table:
    return _two_line_table(_MESSAGES, [message_row(r) for r in records], title, width)


def _two_line_table(
    layout: _Layout, rows: Sequence[Sequence[str]], title: str | None, width: int | None
) -> Table:
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text  # cells as Text: a filename like "[red]x" is not markup

    header, caps, flex = layout.columns, layout.caps, layout.flex
    # Every line is a grid with the same fixed widths, so columns align across records.
    widths = [
        min(max([len(header[i]), *(len(row[i]) for row in rows)]), cap or 10_000)
        for i, cap in enumerate(caps)
    ]
    # Fit the terminal by narrowing the free-text columns, widest first; dates, sizes and
    # types keep their width (rich alone would shave every column alike).
    available = width or shutil.get_terminal_size((100, 24)).columns
    while sum(widths) + 2 * (len(widths) - 1) > available:
        widest = max(flex, key=lambda i: widths[i])
        if widths[widest] <= _MIN_FLEX:
            break
        widths[widest] -= 1

    def line(cells: Sequence[str]) -> Table:
        grid = Table.grid(padding=(0, 2))
        for i, column_width in enumerate(widths):
            grid.add_column(
                width=column_width,
                no_wrap=True,
                overflow="ellipsis",
                justify="right" if i in layout.right else "left",
            )
        grid.add_row(*(Text(cell) for cell in cells))
        return grid

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title)
    table.add_column(Group(line(header[:-1]), Text(f"  {header[-1]}")), overflow="fold")
    for row in rows:
        table.add_row(Group(line(row[:-1]), Text(f"  {row[-1]}", style="dim", overflow="fold")))
    return table


def render_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned plain columns for pipes and logs; the last column (an id) is never cut."""
    cells = [
        [_cut(cell) if i < len(header) - 1 else cell for i, cell in enumerate(row)] for row in rows
    ]
    widths = [
        max([len(header[i]), *(len(row[i]) for row in cells)]) for i in range(len(header) - 1)
    ]
    lines = []
    for row in [list(header), *cells]:
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def render_files(records: Sequence[FileRecord]) -> str:
    """The files as plain text, one line each (no colour, no box characters)."""
    return render_rows([c.upper() for c in FILE_COLUMNS], [file_row(r) for r in records])


def render_messages(records: Sequence[MessageRecord]) -> str:
    return render_rows([c.upper() for c in MESSAGE_COLUMNS], [message_row(r) for r in records])


def _cut(cell: str) -> str:
    cell = " ".join(cell.split())  # a newline in a subject must not break the row
    return cell if len(cell) <= _MAX_PLAIN else cell[: _MAX_PLAIN - 1] + "…"


# -- key/value views (show, message, inspect) --


def file_fields(record: FileRecord) -> list[tuple[str, str]]:
    sender = record.sender or ""
    if record.sender_name:
        sender = f"{record.sender_name} <{sender}>"
    pairs = [
        ("file id", record.file_id),
        ("filename", record.filename),
        ("size", f"{human_size(record.size)} ({record.size} bytes)"),
        ("type", _both(record.content_type, record.detected_type)),
        ("sha256", record.sha256),
        ("received", f"{local_time(record.received_at)} ({record.received_at})"),
        ("sender", sender),
        ("original sender", _via(record.original_sender, record.original_sender_via)),
        ("case", record.case or ""),
        ("source", record.source),
        ("message id", record.message_id),
        ("part", f"{record.part or ''}{' (inline)' if record.inline else ''}"),
        ("stored as", f"s3://{record.bucket}/{record.file_id}" if record.bucket else ""),
        ("version", record.version_id or ""),
    ]
    return [(k, printable(v)) for k, v in pairs if v]


def message_fields(record: MessageRecord) -> list[tuple[str, str]]:
    sender = record.from_address or ""
    if record.from_name:
        sender = f"{record.from_name} <{sender}>"
    verdicts = " ".join(f"{k}={v}" for k, v in record.verdicts.items())
    recipients = ", ".join(record.recipients)
    if record.recipients_truncated:
        recipients += ", …"
    pairs = [
        ("message id", record.message_id),
        ("received", f"{local_time(record.received_at)} ({record.received_at})"),
        ("outcome", str(record.outcome)),
        ("reason", record.reason or ""),
        ("from", sender),
        ("envelope sender", record.envelope_sender or ""),
        ("original sender", _via(record.original_sender, record.original_sender_via)),
        ("recipients", recipients),
        ("case", record.case or ""),
        ("subject", record.subject or ""),
        ("verdicts", verdicts),
        ("attachments", str(record.attachment_count)),
        ("raw message", record.raw_key),
        ("warnings", "; ".join(record.warnings)),
    ]
    return [(k, printable(v)) for k, v in pairs if v]


def _both(declared: str | None, detected: str | None) -> str:
    if declared and detected and declared != detected:
        return f"{declared} (declared), {detected} (detected)"
    return declared or detected or ""


_VIA = {"attached-message": "a forwarded attachment", "inline-forward": "an inline forward"}


def _via(original: str | None, via: str | None) -> str:
    """Only the outer sender is authenticated by SES; say so of a recovered one."""
    if not original:
        return ""
    if not via:
        return original
    return f"{original} (from {_VIA.get(via, via)}: not authenticated)"


def fields_table(pairs: Sequence[tuple[str, str]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(Text(key), Text(value))
    return table


def render_fields(pairs: Sequence[tuple[str, str]]) -> str:
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def rows_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in header:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(Text(printable(cell)) for cell in row))
    return table


def _inspection_parts(
    report: dict[str, Any],
) -> tuple[list[tuple[str, str]], list[tuple[str, ...]], list[str]]:
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
            str(a.get("sha256") or "")[:12],
        )
        for a in report.get("attachments") or []
    ]
    warnings = [printable(str(w)) for w in report.get("warnings") or []]
    return [(k, printable(v)) for k, v in pairs if v], rows, warnings


INSPECT_COLUMNS = ("part", "filename", "size", "type", "inline", "sha256")


def inspection_table(report: dict[str, Any]) -> Table:
    """One message as `mailroom inspect` shows it on a terminal: headers, attachments, warnings."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    pairs, rows, warnings = _inspection_parts(report)
    path = printable(str(report.get("path") or ""))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column(Text(f"{path}: {len(rows)} attachment(s)"))
    inner = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in INSPECT_COLUMNS:
        inner.add_column(name, overflow="fold", no_wrap=name in {"size", "sha256"})
    for row in rows:
        inner.add_row(*(Text(cell) for cell in row))
    parts: list[Any] = [fields_table([(k, v) for k, v in pairs if k != "path"])]
    if rows:
        parts.append(inner)
    parts.extend(Text(f"warning: {w}", style="yellow") for w in warnings)
    table.add_row(Group(*parts))
    return table


def render_inspection(report: dict[str, Any]) -> str:
    pairs, rows, warnings = _inspection_parts(report)
    blocks = [render_fields(pairs)]
    if rows:
        blocks.append(render_rows([c.upper() for c in INSPECT_COLUMNS], rows))
    else:
        blocks.append("no attachments")
    if warnings:
        blocks.append("\n".join(f"warning: {w}" for w in warnings))
    return "\n".join(blocks) + "\n"
