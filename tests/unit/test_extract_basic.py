"""The extraction engine on the everyday cases: what is an attachment, names, senders, bytes."""

from __future__ import annotations

import base64
import hashlib
import io

from mailroom.extract import DiscardSink, Extraction, Limits, extract
from mailroom.extract.memory import MemorySink

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 8


def b64(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def run(data: bytes, limits: Limits | None = None) -> tuple[Extraction, MemorySink]:
    sink = MemorySink()
    result = extract(io.BytesIO(data), sink, limits or Limits())
    for kept in sink.opened:  # the engine's accounting agrees with what the sink received
        if kept.committed is not None:
            assert kept.committed.size == len(kept.data)
            assert kept.committed.sha256 == hashlib.sha256(kept.data).hexdigest()
    return result, sink


SIMPLE = crlf(f"""\
From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <Joerg.Mueller@Example.COM>
To: submit@docs.example.org
Subject: =?utf-8?q?Vertr=C3=A4ge?= for review
Message-ID: <abc123@example.com>
Date: Sat, 21 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is a multi-part message in MIME format.
--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Please find the contract attached.
--alt
Content-Type: text/html; charset=utf-8

<p>Please find the contract attached.</p>
--alt--
--outer
Content-Type: application/pdf; name="contract.pdf"
Content-Disposition: attachment; filename="contract.pdf"
Content-Transfer-Encoding: base64

{b64(PDF)}
--outer
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <logo@example.com>
Content-Disposition: inline

{b64(PNG)}
--outer--
""")


def test_simple_message_yields_its_documents_byte_exact() -> None:
    # GIVEN a message with text and html bodies, a named PDF and an inline image
    # WHEN it is extracted
    result, sink = run(SIMPLE)
    # THEN the two files come out byte-exact, the bodies do not
    assert [a.filename for a in result.attachments] == ["contract.pdf", "part-3.png"]
    assert sink.named("contract.pdf").data == PDF
    pdf, png = result.attachments
    assert (pdf.index, pdf.part, pdf.content_type, pdf.inline) == (1, "2", "application/pdf", False)
    assert pdf.size == len(PDF) and pdf.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (png.index, png.inline, png.content_id) == (2, True, "logo@example.com")
    assert sink.opened[1].data == PNG
    assert all(k.committed for k in sink.opened)
    assert result.warnings == []


def test_outer_headers_are_decoded() -> None:
    result, _ = run(SIMPLE)
    assert result.sender == "joerg.mueller@example.com"
    assert result.sender_name == "Jörg Müller"
    assert result.subject == "Verträge for review"
    assert result.message_id == "<abc123@example.com>"
    assert result.date == "Sat, 21 Nov 2026 10:00:00 +0000"
    assert result.original_sender is None


def test_plain_text_message_has_no_attachments() -> None:
    result, sink = run(crlf("From: a@example.com\nSubject: hi\n\nJust text.\n"))
    assert result.attachments == [] and sink.opened == []
    assert result.sender == "a@example.com"


def test_single_part_message_that_is_a_file() -> None:
    data = crlf(f"""\
From: a@example.com
Content-Type: application/pdf; name=scan.pdf
Content-Transfer-Encoding: base64

{b64(PDF)}
""")
    result, sink = run(data)
    assert [(a.filename, a.part) for a in result.attachments] == [("scan.pdf", "1")]
    assert sink.opened[0].data == PDF


def test_name_only_in_content_type_and_no_disposition() -> None:
    data = crlf(f"""\
From: a@example.com
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

body
--b
Content-Type: application/vnd.ms-excel; name="figures.xls"
Content-Transfer-Encoding: base64

{b64(b"xls bytes")}
--b--
""")
    result, sink = run(data)
    assert [a.filename for a in result.attachments] == ["figures.xls"]
    assert sink.opened[0].data == b"xls bytes"


def test_text_with_attachment_disposition_is_a_document() -> None:
    data = crlf("""\
From: a@example.com
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

body
--b
Content-Type: text/csv
Content-Disposition: attachment

a,b
1,2
--b--
""")
    result, sink = run(data)
    assert len(result.attachments) == 1
    assert result.attachments[0].content_type == "text/csv"
    assert sink.opened[0].data == b"a,b\r\n1,2"


def test_forwarded_message_is_kept_and_recursed_into() -> None:
    inner = f"""\
From: "Client Person" <Client@Client.example>
Subject: Signed lease
Content-Type: multipart/mixed; boundary=inner

--inner
Content-Type: text/plain

see attached
--inner
Content-Type: application/pdf; name=lease.pdf
Content-Transfer-Encoding: base64

{b64(PDF)}
--inner--
"""
    data = crlf(f"""\
From: staff@firm.example
Subject: Fwd: Signed lease
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain

fyi
--outer
Content-Type: message/rfc822

{inner}
--outer--
""")
    result, sink = run(data)
    names = [a.filename for a in result.attachments]
    assert names == ["Signed lease.eml", "lease.pdf"]
    eml, pdf = result.attachments
    assert eml.origin == "message" and eml.original_sender is None
    assert sink.named("lease.pdf").data == PDF
    assert (pdf.original_sender, pdf.original_sender_name, pdf.original_sender_via) == (
        "client@client.example",
        "Client Person",
        "attached-message",
    )
    assert result.original_sender == "client@client.example"
    assert result.original_sender_via == "attached-message"
    assert sink.named("Signed lease.eml").data.startswith(b'From: "Client Person"')


def test_not_an_email_gives_a_result_not_an_exception() -> None:
    for data in (bytes(range(256)) * 100, b""):
        result = extract(io.BytesIO(data), DiscardSink())
        assert result.attachments == [] and result.sender is None
        assert any("does not look like an email" in w for w in result.warnings)
