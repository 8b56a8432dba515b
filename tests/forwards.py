"""Forwarded mail for the trust tests: an original DKIM-signed with the test key, forwarded
as an attachment or inline. TEST ONLY key: tests/fixtures/dkim/test-signer.pem."""

from __future__ import annotations

import json
import re
from email.message import EmailMessage
from pathlib import Path

import dkim

DKIM_DIR = Path(__file__).resolve().parent / "fixtures" / "dkim"
TEST_KEY = (DKIM_DIR / "test-signer.pem").read_bytes()
TXT_RECORDS_FILE = DKIM_DIR / "txt-records.json"
TXT_RECORDS: dict[str, str] = json.loads(TXT_RECORDS_FILE.read_text())
PDF = b"%PDF-1.4\n% contract signed\n%%EOF\n"


def original(
    sender: str = "ceo@client.example",
    *,
    filename: str = "contract-signed.pdf",
    sign_domain: str | None = "client.example",
) -> bytes:
    """The client's own message with a PDF, DKIM-signed by `sign_domain` (None: unsigned)."""
    msg = EmailMessage()
    msg["From"] = f"CEO <{sender}>"
    msg["To"] = "anna@firm.example"
    msg["Subject"] = "Signed contract"
    msg["Message-ID"] = "<orig-1@client.example>"
    msg.set_content("Here is the signed contract.\n")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename=filename)
    raw = msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if sign_domain is None:
        return raw
    headers = [b"from", b"to", b"subject", b"message-id"]
    signature: bytes = dkim.sign(
        raw, b"sel1", sign_domain.encode(), TEST_KEY, include_headers=headers
    )
    return signature + raw


def forward_attached(outer_from: str, inner: bytes, to: str) -> bytes:
    """`outer_from` forwards `inner` as a message/rfc822 attachment."""
    msg = EmailMessage()
    msg["From"] = outer_from
    msg["To"] = to
    msg["Subject"] = "Fwd: Signed contract"
    msg.set_content("Forwarding the client's message.\n")
    # The original's bytes as they are (a re-serialised message would break its signature).
    msg.add_attachment(inner, maintype="message", subtype="rfc822", filename="original.eml")
    # CRLF throughout, as SMTP carries it (the inner message is base64: its bytes are kept).
    return re.sub(rb"(?<!\r)\n", b"\r\n", msg.as_bytes())


def forward_inline(outer_from: str, original_sender: str, to: str) -> bytes:
    """`outer_from` forwards inline (Gmail's marker) with the PDF attached after the body."""
    msg = EmailMessage()
    msg["From"] = outer_from
    msg["To"] = to
    msg["Subject"] = "Fwd: Signed contract"
    msg.set_content(
        "FYI\n\n---------- Forwarded message ---------\n"
        f"From: CEO <{original_sender}>\nDate: Mon, 1 Dec 2026 at 10:00\n"
        "Subject: Signed contract\nTo: <anna@firm.example>\n\nHere is the signed contract.\n"
    )
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="inline-fwd.pdf")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
