"""Reading mailboxes (no AWS): every message of an mbox, its variants, Maildir, .eml folders."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailroom.local.frontdoor import ses_event
from mailroom.policy import Verdicts
from mailroom.usecases.imports import (
    MailboxError,
    import_id,
    mailbox_kind,
    read_headers,
    read_mailbox,
)
from mailroom.usecases.intake import ReceivedMail
from tests.integration.mailboxes import message, write_mbox


def contents(path: Path) -> list[bytes]:
    found = []
    for raw in read_mailbox(path):
        found.append(raw.stream.read())
        raw.close()
    return found


def test_mboxrd_every_message_unquoted(tmp_path: Path) -> None:
    made = write_mbox(tmp_path / "box.mbox", 25)

    found = contents(tmp_path / "box.mbox")

    assert found == made.messages
    assert b"\nFrom the archive, as promised.\n" in found[0]
    assert b"\n>From a quoted line already\n" in found[0]


def test_mboxo_and_crlf(tmp_path: Path) -> None:
    one = b"Subject: one\r\n\r\nbody\r\n>From here\r\n"
    two = b"Subject: two\r\n\r\nsecond\r\n"
    path = tmp_path / "o.mbox"
    path.write_bytes(
        b"From a@b Sat Nov 21 10:00:00 2026\r\n" + one + b"\r\n" + b"From a@b\r\n" + two
    )

    found = contents(path)

    assert found == [b"Subject: one\r\n\r\nbody\r\nFrom here\r\n", two]


def test_content_length_is_honoured_when_it_ends_at_a_from_line(tmp_path: Path) -> None:
    # mboxcl2: a body line starting with "From " is not quoted; Content-Length says where it ends.
    body = b"first line\nFrom inside the body, unquoted\nlast\n"
    first = b"Subject: cl\nContent-Length: %d\n\n" % len(body) + body
    second = b"Subject: next\n\nx\n"
    path = tmp_path / "cl.mbox"
    path.write_bytes(b"From a@b\n" + first + b"\nFrom a@b\n" + second)

    assert contents(path) == [first, second]


def test_a_wrong_content_length_falls_back_to_from_lines(tmp_path: Path) -> None:
    first = b"Subject: liar\nContent-Length: 3\n\nlonger body than that\n"
    second = b"Subject: next\n\nx\n"
    path = tmp_path / "bad.mbox"
    path.write_bytes(b"From a@b\n" + first + b"\nFrom a@b\n" + second)

    assert contents(path) == [first, second]


def test_long_lines_stream_in_pieces(tmp_path: Path) -> None:
    long_line = b"A" * (3 * 1024 * 1024) + b"From not a separator\n"
    data = b"Subject: long\n\n" + long_line
    path = tmp_path / "long.mbox"
    path.write_bytes(b"From a@b\n" + data)

    assert contents(path) == [data]


def test_maildir_and_eml_folder_and_single_file(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "cur" / "1:2,S").write_bytes(message(1))
    (maildir / "new" / "2").write_bytes(message(2))
    (maildir / "tmp" / "3").write_bytes(message(3))  # being delivered: not a message yet
    folder = tmp_path / "exported"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.eml").write_bytes(message(4))
    (folder / "sub" / "b.EML").write_bytes(message(5))
    (folder / "notes.txt").write_bytes(b"not mail")

    assert mailbox_kind(maildir) == "maildir"
    assert contents(maildir) == [message(2), message(1)]
    assert mailbox_kind(folder) == "folder"
    assert contents(folder) == [message(4), message(5)]
    assert mailbox_kind(folder / "a.eml") == "eml"
    assert contents(folder / "a.eml") == [message(4)]


def test_not_an_mbox(tmp_path: Path) -> None:
    path = tmp_path / "x.mbox"
    path.write_bytes(b"\nnot a From line\n")
    with pytest.raises(MailboxError, match="not an mbox"):
        list(read_mailbox(path))


def test_headers_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(message(7))
    messages = read_mailbox(path)
    raw = next(messages)  # its stream is open while the generator is

    headers = read_headers(raw.stream)

    assert headers.message_id == "msg-7@old-clients.example"
    assert headers.from_header == "Client 7 <client0@old-clients.example>"
    assert headers.date is not None and headers.date.year == 2021
    assert headers.recipients == ("office@firm.example",)
    assert raw.stream.read() == message(7)  # rewound
    # A fixed value: an id built from anything that changes between runs (Python's salted
    # hash(), a clock, a random) would import the same message twice.
    assert import_id("a", "f" * 64) == "imp-62a7688b68eadc2066450c8c0da87bdb"
    assert import_id("a", "f" * 64) != import_id("b", "f" * 64)
    assert import_id(None, "f" * 64) != import_id(None, "e" * 64)


FOLDED = [
    (b"bug demonstration\n\t1234 and more", "bug demonstration 1234 and more"),
    (b"a long subject\r\n  continued\r\n\tthrice", "a long subject continued thrice"),
    (b"=?utf-8?q?caf=C3=A9?=\n =?utf-8?q?_cr=C3=A8me?=", "caf\u00e9 cr\u00e8me"),
]


@pytest.mark.parametrize(("folded", "subject"), FOLDED)
def test_a_folded_subject_is_unfolded_as_the_smtp_door_unfolds_it(
    folded: bytes, subject: str
) -> None:
    """`import` and the SMTP door (SES's event, read by intake) give the same one-line subject."""
    raw = b"From: a@client.example\nSubject: " + folded + b"\nTo: b@firm.example\n\nbody\n"

    imported = read_headers(io.BytesIO(raw)).subject
    event = ses_event(
        stored=raw,
        message_id="m1",
        envelope_from="a@client.example",
        recipients=["b@firm.example"],
        verdicts=Verdicts(),
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:x",
        invocation_type="Event",
        received=datetime(2026, 12, 5, tzinfo=UTC),
        processing_ms=1,
    )
    record = event["Records"][0]["ses"]
    emailed = ReceivedMail.from_ses(record["mail"], record["receipt"]).subject

    assert imported == emailed == subject
