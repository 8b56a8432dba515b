"""Rendering: fits 100 columns, ids never cut, sender-written text never reaches a terminal raw."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from rich.console import Console

from mailroom.cli.render import (
    files_table,
    human_size,
    local_time,
    messages_table,
    render_files,
    sender_label,
    short_type,
)
from mailroom.model import FileRecord, MessageRecord
from mailroom.policy import Outcome

LONG_ID = (
    "incoming/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81/01-Relevé de compte mars 2026 final.pdf"
)


def record(**values: object) -> FileRecord:
    base: dict[str, object] = {
        "file_id": LONG_ID,
        "filename": "Relevé de compte mars 2026 final.pdf",
        "safe_name": "01-Relevé de compte mars 2026 final.pdf",
        "size": 123_456,
        "sha256": "ab" * 32,
        "received_at": "2026-11-22T04:06:40.123Z",
        "source": "email",
        "message_id": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81",
        "content_type": "application/pdf",
        "detected_type": "application/pdf",
        "sender": "staff@firm-example.com",
        "original_sender": "client.name@client-example.com",
        "case": "case-42",
    }
    base.update(values)
    return FileRecord(**base)  # type: ignore[arg-type]


def screen(renderable: object, width: int = 100) -> list[str]:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text().splitlines()


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_files_table_fits_100_columns_and_keeps_the_id_whole() -> None:
    lines = screen(files_table([record(), record(file_id="incoming/up-1/a.pdf")], width=100))

    assert all(len(line) <= 100 for line in lines)
    text = "\n".join(lines)
    assert "2026-11-22 04:06" in text
    assert "123 kB" in text
    assert "pdf" in text
    assert "case-42" in text
    # the id is on its own line(s), never cut: joined back it is whole
    assert "".join(LONG_ID.split()) in "".join(text.split())
    assert "incoming/up-1/a.pdf" in text


def test_files_table_treats_names_as_text_not_markup_or_escapes() -> None:
    hostile = record(filename="[bold red]invoice\x1b[2J\u202efdp.exe", file_id="incoming/x/01-a")

    text = "\n".join(screen(files_table([hostile], width=100)))

    assert "[bold red]invoice" in text
    assert "\x1b" not in text
    assert "\u202e" not in text


def test_render_files_plain_one_line_per_file_with_the_full_id() -> None:
    out = render_files([record(), record(file_id="incoming/up-1/a.pdf", original_sender=None)])

    header, first, second = out.splitlines()
    assert header.startswith("RECEIVED")
    assert first.endswith(LONG_ID)
    assert "client.name@client-example.com via staff@firm-example.com" in first
    assert second.endswith("incoming/up-1/a.pdf")
    assert "staff@firm-example.com" in second
    assert "\x1b" not in out


def test_messages_table_fits() -> None:
    message = MessageRecord(
        message_id="o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81",
        received_at="2026-11-22T04:06:40.123Z",
        raw_key="raw/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81",
        outcome=Outcome.QUARANTINED,
        from_address="bad@example.net",
        subject="Invoice overdue " * 10,
        reason="virus verdict FAIL",
    )

    lines = screen(messages_table([message], width=100))

    assert all(len(line) <= 100 for line in lines)
    assert "quarantined" in "\n".join(lines)
    assert "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81" in "\n".join(lines)


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (123_456, "123 kB"), (40_000_000, "40.0 MB")],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_local_time_and_sender_label() -> None:
    assert local_time("2026-11-22T04:06:40.123Z") == "2026-11-22 04:06"
    assert local_time(None) == ""
    assert sender_label(record()) == "client.name@client-example.com via staff@firm-example.com"
    assert sender_label(record(original_sender=None)) == "staff@firm-example.com"
    assert (
        sender_label(record(original_sender="STAFF@firm-example.com")) == "STAFF@firm-example.com"
    )


def test_short_type_prefers_detected_unless_it_is_generic() -> None:
    assert short_type(record()) == "pdf"
    assert short_type(record(content_type="message/rfc822", detected_type="text/plain")) == "eml"
    assert short_type(record(content_type="application/pdf", detected_type="image/png")) == "png"
    assert short_type(record(content_type=None, detected_type=None)) == ""
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert short_type(record(detected_type=docx)) == "docx"
    assert (
        short_type(record(detected_type="application/x-7z-compressed")) == "7z-compresse"
    )  # bounded to 12
