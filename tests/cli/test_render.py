"""Rendering: times in UTC with Z, ids never cut, the via sender kept, sender text made harmless."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mailroom.cli.render import (
    FILE_COLUMNS,
    FILE_ID,
    MESSAGE_COLUMNS,
    MESSAGE_ID,
    file_fields,
    file_row,
    human_size,
    listing,
    message_fields,
    message_row,
    sender_label,
    short_type,
    show_time,
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
        "original_sender_level": "vouched",
        "case": "case-42",
    }
    base.update(values)
    return FileRecord(**base)  # type: ignore[arg-type]


def files_screen(records: list[FileRecord], width: int | None) -> list[str]:
    rows = [file_row(r) for r in records]
    return [
        text
        for _, text in listing(FILE_COLUMNS, FILE_ID, rows, [r.file_id for r in records], width)
    ]


def column(lines: list[str], header: str, name: str) -> list[str]:
    """A left-aligned column's text line by line (cells never hold two spaces in a row)."""
    start = header.index(name)
    return [
        "" if line[start : start + 1] in ("", " ") else line[start:].split("  ")[0]
        for line in lines
    ]


@pytest.fixture(autouse=True)
def auckland(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("width", "sender"),
    [
        # the sender wraps at spaces, then an address at its "@", then after its domain's dots
        # and hyphens: never inside a name; "via" kept
        (80, ["client.name", "@client-", "example.com", "via staff", "@firm-", "example.com"]),
        (100, ["client.name", "@client-example.com", "via staff", "@firm-example.com"]),
    ],
)
def test_terminal_listing_fits_the_width_keeps_ids_whole_and_the_via_sender(
    width: int, sender: list[str]
) -> None:
    lines = files_screen([record(), record(file_id="incoming/up-1/a.pdf")], width)

    # every line fits but an id longer than the screen; each id is one whole line of its own
    assert all(len(line) <= width for line in lines if not line.startswith("  incoming/"))
    assert f"  {LONG_ID}" in lines
    assert "  incoming/up-1/a.pdf" in lines
    rows = lines[2 : lines.index(f"  {LONG_ID}")]
    assert column(rows, lines[0], "SENDER") == sender
    # the file name is whole, wrapped at its spaces
    assert " ".join(" ".join(column(rows, lines[0], "NAME")).split()) == (
        "Relevé de compte mars 2026 final.pdf"
    )
    assert "2026-11-22 04:06Z" in lines[2]


def test_a_very_narrow_terminal_keeps_ids_whole_and_breaks_addresses_between_parts() -> None:
    lines = files_screen([record()], 40)

    assert f"  {LONG_ID}" in lines
    # too narrow for the essentials: the terminal wraps, but no address breaks inside a name
    sender = column(lines[2:-1], lines[0], "SENDER")
    assert sender[:3] == ["client.name", "@client-", "example.com"]


AT_80 = dict(
    filename="Attestation de résidence – Dupont.pdf",
    sender="elodie.martin@partner-avocats.example",
    original_sender=None,
    authenticated=False,
    size=140_000,
    case="case-2026-0042",
)


def test_at_80_columns_the_file_name_is_whole_and_the_sender_gives_way() -> None:
    lines = files_screen([record(**AT_80), record(**AT_80, file_id="incoming/up-1/a.pdf")], 80)

    assert all(len(line) <= 80 for line in lines if not line.startswith("  incoming/"))
    header, rows = lines[0], lines[2:]
    names = " ".join(column(rows, header, "NAME")).split()
    assert "…" not in " ".join(rows)  # nothing cut: wrapped
    assert " ".join(names[:5]) == "Attestation de résidence – Dupont.pdf"
    senders = [c for c in column(rows, header, "SENDER") if c][:5]
    assert "".join(senders[:4]) == "elodie.martin@partner-avocats.example"
    assert senders[4] == "(unverified)"
    assert column(rows, header, "CASE")[0] == "case-2026-0042"


def test_at_80_columns_outcome_and_case_keep_their_values_whole() -> None:
    message = MessageRecord(
        message_id="o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81",
        received_at="2026-11-22T04:06:40.123Z",
        raw_key="raw/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81",
        outcome=Outcome.NO_ATTACHMENTS,
        from_address="elodie.martin@partner-avocats.example",
        subject="Attestation de résidence pour le dossier Dupont",
        reason="nothing to extract from this message body",
    )
    lines = [
        t
        for _, t in listing(
            MESSAGE_COLUMNS, MESSAGE_ID, [message_row(message)], [message.message_id], 80
        )
    ]

    assert all(len(line) <= 80 for line in lines)
    assert column(lines[2:], lines[0], "OUTCOME")[0] == "no_attachments"


def test_one_line_mode_is_one_line_per_record_with_the_full_id() -> None:
    lines = files_screen(
        [record(), record(file_id="incoming/up-1/a.pdf", original_sender=None)], None
    )

    header, first, second = lines
    assert header.split()[:3] == ["RECEIVED", "SENDER", "NAME"]
    assert header.endswith("FILE ID")
    assert first.endswith(LONG_ID)
    assert "client.name@client-example.com via staff@firm-example.com" in first
    assert second.endswith("incoming/up-1/a.pdf")


def test_headers_have_one_style_in_both_layouts() -> None:
    terminal = files_screen([record()], 100)
    pipe = files_screen([record()], None)

    assert terminal[0].split() == pipe[0].split()[:-2]
    assert terminal[0] == terminal[0].upper()
    assert pipe[0] == pipe[0].upper()


def test_names_are_text_not_escapes() -> None:
    hostile = record(filename="[bold red]invoice\x1b[2J\u202efdp.exe", file_id="incoming/x/01-a")

    text = "\n".join(files_screen([hostile], 100) + files_screen([hostile], None))

    assert "[bold red]invoice" in text
    assert "\x1b" not in text
    assert "\u202e" not in text


def test_messages_listing_wraps_the_reason_instead_of_cutting_it() -> None:
    message = MessageRecord(
        message_id="o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81",
        received_at="2026-11-22T04:06:40.123Z",
        raw_key="raw/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81",
        outcome=Outcome.QUARANTINED,
        from_address="bad@example.net",
        subject="Invoice overdue " * 10,
        reason="virus verdict FAIL from the receipt scan, files held in quarantine",
    )

    lines = [
        t
        for _, t in listing(
            MESSAGE_COLUMNS, MESSAGE_ID, [message_row(message)], [message.message_id], 80
        )
    ]

    assert all(len(line) <= 80 for line in lines)
    words = " ".join(lines).split()
    assert all(w in words for w in message.reason.split())  # type: ignore[union-attr]
    assert "  o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81" in lines


def test_times_are_utc_with_z_unless_local_is_asked_for() -> None:
    assert show_time("2026-11-29T17:43:00.000Z") == "2026-11-29 17:43Z"
    assert show_time("2026-11-29T17:43:00.000Z", local=True) == "2026-11-30 06:43+13:00"
    assert show_time("2026-11-29T17:43:05.000Z", seconds=True) == "2026-11-29 17:43:05Z"
    assert show_time(None) == ""


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (1250, "1.3 kB"),  # halves round up (the dashboard's formatSize does the same)
        (99_949, "99.9 kB"),
        (99_950, "100 kB"),
        (123_456, "123 kB"),
        (140_000, "140 kB"),
        (999_499, "999 kB"),
        (999_500, "1.0 MB"),  # not "1000 kB"
        (40_000_000, "40.0 MB"),
        (5 * 10**15, "5000 TB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_sender_label() -> None:
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
    assert short_type(record(detected_type="application/x-7z-compressed")) == "7z-compresse"


def test_tables_flag_a_sender_that_ses_did_not_vouch_for() -> None:
    forged = record(original_sender=None, authenticated=False, auth_reason="dmarc FAIL")
    vouched = record(original_sender=None, authenticated=True, auth_reason="dmarc PASS")
    legacy = record(original_sender=None)  # written before the check existed: no claim either way

    assert file_row(forged)[1] == "staff@firm-example.com (unverified)"
    assert file_row(vouched)[1] == "staff@firm-example.com"
    assert file_row(legacy)[1] == "staff@firm-example.com"


def test_detail_views_say_whether_the_sender_is_authenticated_and_why() -> None:
    fields = dict(file_fields(record(authenticated=False, auth_reason="dmarc FAIL")))
    assert fields["authenticated"] == "no (dmarc FAIL)"
    assert "authenticated" not in dict(file_fields(record()))

    message = MessageRecord(
        message_id="m1",
        received_at="2026-11-22T04:06:40.123Z",
        raw_key="raw/m1",
        outcome=Outcome.EXTRACTED,
        from_address="carol@client-example.com",
        authenticated=True,
        auth_reason="dmarc PASS",
        suspected_spam=True,
    )
    shown = dict(message_fields(message))
    assert shown["authenticated"] == "yes (dmarc PASS)"
    assert shown["spam"].startswith("suspected")
    assert message_row(message)[1] == "carol@client-example.com"


def test_a_claimed_original_sender_is_marked_in_tables_and_show() -> None:
    claimed = record(original_sender_level="claimed")
    legacy = record(original_sender_level=None)  # recorded before levels: claimed too
    assert (
        sender_label(claimed)
        == "client.name@client-example.com (claimed) via staff@firm-example.com"
    )
    assert sender_label(legacy) == sender_label(claimed)
    fields = dict(file_fields(claimed))
    assert fields["sender trust"].startswith("claimed (")
    assert dict(file_fields(record(original_sender_level="verified")))["sender trust"].startswith(
        "verified ("
    )


def test_a_named_upload_sender_says_who_named_it() -> None:
    upload = record(
        source="upload",
        original_sender=None,
        original_sender_level=None,
        sender="ceo@client.example",
        sender_named_by="AWS:AIDAEXAMPLE",
        uploaded_by="AWS:AIDAEXAMPLE",
    )
    assert sender_label(upload) == "ceo@client.example (named)"
    fields = dict(file_fields(upload))
    assert fields["sender"] == "ceo@client.example (named by AWS:AIDAEXAMPLE, not authenticated)"
    assert fields["uploaded by"] == "AWS:AIDAEXAMPLE"
