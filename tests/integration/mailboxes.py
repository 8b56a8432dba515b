"""Generated mailboxes for the import tests: mbox (mboxrd quoting), Maildir, .eml folders."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path


@dataclass(frozen=True)
class Made:
    messages: list[bytes]  # the messages as they must come out (unquoted)
    attachments: int  # how many attachments they hold in all


def message(n: int, *, attachments: int = 1, message_id: bool = True) -> bytes:
    """A small message, its date spread over three years, its attachments unique to it."""
    date = datetime(2021, 1, 1, 9, 0, tzinfo=UTC) + timedelta(hours=53 * n)
    boundary = f"b-{n:05d}"
    head = [
        f"From: Client {n} <client{n % 7}@old-clients.example>",
        "To: Office <office@firm.example>",
        f"Subject: Documents {n}",
        f"Date: {format_datetime(date)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
    ]
    if message_id:
        head.insert(0, f"Message-ID: <msg-{n}@old-clients.example>")
    body = [
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Hello,",
        "From the archive, as promised.",  # must be quoted in an mbox, and come back
        ">From a quoted line already",  # mboxrd: quoted once more, and come back
        "",
    ]
    for a in range(attachments):
        data = f"%PDF-1.4 document {n}.{a}\n".encode() * 3
        body += [
            f"--{boundary}",
            f'Content-Type: application/pdf; name="doc-{n}-{a}.pdf"',
            f'Content-Disposition: attachment; filename="doc-{n}-{a}.pdf"',
            "Content-Transfer-Encoding: base64",
            "",
            base64.b64encode(data).decode(),
        ]
    body.append(f"--{boundary}--")
    return ("\n".join(head) + "\n\n" + "\n".join(body) + "\n").encode()


def mboxrd_quote(data: bytes) -> bytes:
    lines = data.split(b"\n")
    quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines]
    return b"\n".join(quoted)


def write_mbox(path: Path, count: int, *, every_nth_without_id: int = 0) -> Made:
    messages = []
    total = 0
    with path.open("wb") as out:
        for n in range(count):
            attachments = 1 + n % 2
            total += attachments
            data = message(
                n,
                attachments=attachments,
                message_id=not (every_nth_without_id and n % every_nth_without_id == 0),
            )
            messages.append(data)
            out.write(b"From client@old-clients.example Sat Nov 21 10:00:00 2026\n")
            out.write(mboxrd_quote(data))
            out.write(b"\n")
    return Made(messages, total)
