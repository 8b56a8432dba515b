"""The hard cases of attachment extraction, one fixture message each (tests/fixtures/mail/).

The fixtures are written by tests/fixtures/mail/generate.py; its payload constants are the
expected bytes here.
"""

from __future__ import annotations

import email
import hashlib
import importlib.util
import io
from email import policy
from pathlib import Path
from types import ModuleType

import pytest

from mailroom.extract import Extraction, Limits, extract
from mailroom.extract.memory import MemorySink

MAIL = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mail_fixtures", MAIL / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


G = _generator()


class Trickle:
    """A source handing out a few bytes per read, as a slow network stream may."""

    def __init__(self, data: bytes, step: int) -> None:
        self._io, self._step = io.BytesIO(data), step

    def read(self, n: int = -1) -> bytes:
        return self._io.read(self._step)


def run(name: str, limits: Limits | None = None) -> tuple[Extraction, MemorySink]:
    data = (MAIL / name).read_bytes()
    sink = MemorySink()
    result = extract(io.BytesIO(data), sink, limits or Limits())
    for kept in sink.opened:
        assert kept.committed is not None, kept.info
        assert kept.committed.size == len(kept.data)
        assert kept.committed.sha256 == hashlib.sha256(kept.data).hexdigest()
    assert [a.index for a in result.attachments] == [k.info.index for k in sink.opened]
    return result, sink


def names(result: Extraction) -> list[str]:
    return [a.filename for a in result.attachments]


def stdlib_files(name: str) -> dict[str, bytes]:
    msg = email.message_from_bytes((MAIL / name).read_bytes(), policy=policy.default)
    return {
        str(part.get_filename()): part.get_payload(decode=True)
        for part in msg.walk()
        if not part.is_multipart() and part.get_filename()
    }


# -- names ------------------------------------------------------------------------------------


def test_rfc2231_continuations_and_charsets() -> None:
    result, sink = run("rfc2231-continuations.eml")
    assert names(result) == ["Quärterly report – final.pdf", "Grüße.pdf"]
    assert sink.opened[0].data == G.PDF and sink.opened[1].data == G.PNG
    assert result.warnings == []


def test_rfc2047_words_in_names_and_a_mislabelled_charset() -> None:
    result, sink = run("rfc2047-names.eml")
    # The last name says UTF-8 but is Latin-1: it is read as Latin-1, not as mojibake.
    assert names(result) == ["Договор.pdf", "café menu.png", "résumé.docx"]
    assert result.subject == "RFC 2047 in names"
    assert [k.data for k in sink.opened] == [G.PDF, G.PNG, G.DOCX]


def test_name_only_in_content_type_without_disposition() -> None:
    result, sink = run("name-in-content-type.eml")
    assert names(result) == ["invoice 42.pdf"]
    assert result.attachments[0].content_type == "application/pdf"
    assert sink.opened[0].data == G.PDF


def test_unnamed_parts_get_a_name_from_their_type_and_bodies_are_skipped() -> None:
    result, sink = run("no-name-no-disposition.eml")
    assert names(result) == ["part-2.jpg", "part-3.pdf", "part-4.ics"]
    assert sink.opened[1].data == G.PDF
    assert sink.opened[2].data.startswith(b"BEGIN:VCALENDAR")


def test_8bit_utf8_headers_are_read_as_utf8() -> None:
    result, sink = run("8bit-headers-utf8.eml")
    assert (result.sender, result.sender_name) == ("joerg@example.de", "Jörg")
    assert result.subject == "Grüße aus Köln"
    assert names(result) == ["Übersicht.pdf"] and sink.opened[0].data == G.PDF


def test_8bit_latin1_header_falls_back_to_cp1252() -> None:
    result, _ = run("8bit-headers-latin1.eml")
    assert names(result) == ["café.png"]


def test_duplicate_names_get_unique_safe_names() -> None:
    result, sink = run("duplicate-names.eml")
    assert names(result) == ["scan.pdf", "scan.pdf", "SCAN.pdf"]
    assert [a.safe_name for a in result.attachments] == ["scan.pdf", "scan (2).pdf", "SCAN (3).pdf"]
    assert [k.data for k in sink.opened] == [G.PDF, G.PDF[::-1], G.PDF[:100]]


def test_hostile_names_are_made_safe() -> None:
    result, _ = run("hostile-names.eml")
    safe = [a.safe_name for a in result.attachments]
    assert safe[:4] == ["passwd", "evil.dll", "invoicegnp.exe", "_CON.txt"]
    assert safe[4].endswith(".pdf") and len(safe[4].encode()) <= 255
    assert safe[5:] == ["tabandcontrol.txt", "attachment", "part-9.bin"]
    # The original names are kept as they were, for the record.
    assert result.attachments[0].filename == "../../../etc/passwd"
    assert result.attachments[2].filename == "invoice\u202egnp.exe"
    for name in safe:
        assert "/" not in name and "\\" not in name and ".." not in name
        assert not any(ord(c) < 32 or c == "\u202e" for c in name)


# -- structure ---------------------------------------------------------------------------------


def test_inline_parts_with_content_id_are_kept_and_flagged() -> None:
    result, sink = run("inline-content-id.eml")
    cid, sig = result.attachments
    assert (cid.inline, cid.content_id, cid.filename) == (
        True,
        "logo.123@example.org",
        "part-2.png",
    )
    assert (sig.inline, sig.filename) == (True, "sig.png")
    assert sink.opened[0].data == G.PNG and sink.opened[1].data == G.PNG[::-1]


@pytest.mark.parametrize("name", ["forward-attached.eml", "forward-attached-base64.eml"])
def test_forwarded_message_is_stored_and_searched(name: str) -> None:
    # GIVEN staff forwarding a client's mail as an attachment (plain, or base64-encoded)
    result, sink = run(name)
    # THEN the .eml is kept, numbered first, and the client's files come out of it
    assert names(result) == ["Signed lease.eml", "lease.pdf", "inventory.docx"]
    eml, pdf, docx = result.attachments
    assert eml.origin == "message" and eml.content_type == "message/rfc822"
    assert eml.original_sender is None  # the .eml itself was sent by staff
    assert sink.opened[0].data.startswith(b'From: "Client, Carla" <Carla.Client@Client.example>')
    assert sink.opened[1].data == G.PDF and sink.opened[2].data == G.DOCX
    for file in (pdf, docx):
        assert file.original_sender == "carla.client@client.example"
        assert file.original_sender_name == "Client, Carla"
        assert file.original_sender_via == "attached-message"
    assert (result.sender, result.original_sender) == ("staff@firm.example", pdf.original_sender)
    assert result.original_sender_via == "attached-message"


def test_forward_of_a_forward_credits_each_file_to_its_own_message() -> None:
    result, sink = run("forward-nested.eml")
    assert names(result) == ["Fwd: Original.eml", "Original.eml", "deep.pdf"]
    outer_eml, inner_eml, pdf = result.attachments
    assert outer_eml.original_sender is None
    assert inner_eml.original_sender == "middle@second.example"
    assert pdf.original_sender == "origin@first.example" and pdf.part == "2.2.2"
    assert result.original_sender == "middle@second.example"  # the first one found
    assert sink.opened[2].data == G.PDF


@pytest.mark.parametrize(
    ("name", "address", "display"),
    [
        ("inline-forward-gmail.eml", "grace@navy.example", "Grace Hopper"),
        ("inline-forward-outlook.eml", "linus@kernel.example", "Linus Example"),
        ("inline-forward-apple.eml", "ada@engine.example", "Ada Lovelace"),
    ],
)
def test_inline_forward_markers_give_an_unauthenticated_original_sender(
    name: str, address: str, display: str
) -> None:
    result, _ = run(name)
    assert (result.original_sender, result.original_sender_name) == (address, display)
    assert result.original_sender_via == "inline-forward"
    assert result.sender == "staff@firm.example"


def test_plain_mail_has_no_original_sender() -> None:
    result, _ = run("name-in-content-type.eml")
    assert result.original_sender is None and result.original_sender_via is None


def test_winmail_dat_is_kept_and_unpacked_with_long_names() -> None:
    result, sink = run("tnef-winmail.eml")
    assert names(result) == ["winmail.dat", G.LONG_TNEF_NAME, "memo.txt"]
    dat, long_named, memo = result.attachments
    assert dat.origin == "mime" and dat.content_type == "application/ms-tnef"
    assert (long_named.origin, memo.origin) == ("tnef", "tnef")
    assert sink.opened[0].data == G.tnef(G.TNEF_FILES)
    assert sink.opened[1].data == G.TNEF_FILES[G.LONG_TNEF_NAME]
    assert sink.opened[2].data == G.TNEF_FILES["memo.txt"]


def test_damaged_winmail_dat_is_kept_whole_with_a_warning() -> None:
    result, _ = run("tnef-damaged.eml")
    assert names(result) == ["winmail.dat"]
    assert any("winmail.dat" in w for w in result.warnings)


def test_uuencoded_blocks_in_a_text_body() -> None:
    result, sink = run("uuencode-body.eml")
    assert names(result) == ["scan.pdf", "data.bin"]
    assert {a.origin for a in result.attachments} == {"uuencode"}
    assert sink.opened[0].data == G.PDF and sink.opened[1].data == G.BINARY


def test_x_uuencode_transfer_encoding() -> None:
    result, sink = run("uuencode-cte.eml")
    assert names(result) == ["old.pdf"] and sink.opened[0].data == G.PDF


def test_damaged_base64_is_decoded_leniently_with_warnings() -> None:
    result, sink = run("base64-damaged.eml")
    data = {k.info.filename: k.data for k in sink.opened}
    # Runs padded separately: all of it, where the stdlib stops at the first padding.
    assert data["midpad.pdf"] == G.PDF
    assert stdlib_files("base64-damaged.eml")["midpad.pdf"] == G.PDF[:1001]
    assert data["nopad.docx"] == G.DOCX  # missing final padding
    assert data["uneven.png"] == G.PNG  # lines of uneven length
    assert data["footer.pdf"] == G.PDF  # a list footer after the data is not part of the file
    warnings = " | ".join(result.warnings)
    assert "part 2: base64: padding in mid-stream" in warnings
    assert "part 3: base64: missing final padding" in warnings
    assert "part 5: base64: text after the final padding was ignored" in warnings


def test_quoted_printable_binary_is_byte_exact() -> None:
    result, sink = run("quoted-printable-binary.eml")
    assert names(result) == ["blob.bin"] and sink.opened[0].data == G.BINARY


def test_missing_close_boundary_still_yields_the_last_file() -> None:
    result, sink = run("missing-close-boundary.eml")
    assert names(result) == ["last.pdf"]
    # The part runs to the end of the message: its final line break is data, as in the stdlib.
    assert sink.opened[0].data == G.PDF
    assert any("missing close boundary" in w for w in result.warnings)


def test_multipart_signed_is_searched_and_the_signature_kept_flagged() -> None:
    result, sink = run("multipart-signed.eml")
    assert names(result) == ["signed.pdf", "smime.p7s"]
    pdf, p7s = result.attachments
    assert (pdf.signature, p7s.signature) == (False, True)
    assert pdf.part == "1.2" and sink.opened[0].data == G.PDF


def test_appledouble_keeps_the_data_fork_under_its_name() -> None:
    result, sink = run("appledouble.eml")
    assert [(a.filename, a.content_type) for a in result.attachments] == [
        ("Plans.pdf", "application/applefile"),
        ("Plans.pdf", "application/pdf"),
    ]
    assert result.attachments[1].safe_name == "Plans (2).pdf"
    assert sink.opened[1].data == G.PDF


def test_zero_byte_parts_are_files_of_size_zero() -> None:
    result, _ = run("zero-byte.eml")
    assert [(a.filename, a.size) for a in result.attachments] == [
        ("empty.bin", 0),
        ("empty.txt", 0),
    ]
    assert result.attachments[0].sha256 == hashlib.sha256(b"").hexdigest()


def test_bare_lf_line_endings() -> None:
    result, sink = run("bare-lf.eml")
    assert names(result) == ["lf.pdf"] and sink.opened[0].data == G.PDF


# -- copied real-world samples (credited in tests/fixtures/mail/CREDITS.md) ---------------------


def test_real_signed_message_keeps_its_smime_signature() -> None:
    result, _ = run("corpus/flanker-signed.eml")
    assert [(a.filename, a.signature) for a in result.attachments][-1] == ("smime.p7s", True)


def test_real_uuencoded_message() -> None:
    result, sink = run("corpus/mime4j-uu-zeegee.msg")
    assert names(result) == ["up.gif", "zeegee.gif"]
    assert all(k.data.startswith(b"GIF87a") for k in sink.opened)


def test_close_delimiter_followed_by_junk_still_closes() -> None:
    # "--boundary-->" then text: the text is epilogue, not part of the attachment.
    result, sink = run("corpus/enmime-epilogue-sample.raw")
    assert names(result) == ["test.html"] and sink.opened[0].data == b"<html>\n"


def test_real_non_ascii_filename() -> None:
    result, sink = run("corpus/mikel-attachment-nonascii-filename.eml")
    assert names(result) == ["ciële.txt"] and sink.opened[0].data == b"Hi there.\r\n"


# -- streaming ---------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [1, 3, 7, 64, 1000])
def test_result_does_not_depend_on_how_the_source_is_chunked(step: int) -> None:
    for path in sorted(MAIL.glob("*.eml")):
        data = path.read_bytes()
        whole = extract(io.BytesIO(data), MemorySink())
        sink = MemorySink()
        trickled = extract(Trickle(data, step), sink)  # type: ignore[arg-type]
        assert trickled.attachments == whole.attachments, path.name
        assert trickled.warnings == whole.warnings, path.name
        assert trickled.original_sender == whole.original_sender, path.name


@pytest.mark.parametrize(
    ("body", "is_html", "expected"),
    [
        (
            "Hallo\n\n---------- Weitergeleitete Nachricht ---------\n"
            "Von: Max Muster <max@muster.example>\nDate: Fr., 20. Nov. 2026\n",
            False,
            ("max@muster.example", "Max Muster"),
        ),
        (
            "Voilà\n\nDe : Jean Dupont <jean@dupont.example>\nEnvoyé : lundi 23 novembre\n",
            False,
            ("jean@dupont.example", "Jean Dupont"),
        ),
        (
            "> Begin forwarded message:\n>\n> From: Ada <ada@engine.example>\n",
            False,
            ("ada@engine.example", "Ada"),
        ),
        (
            '<div>---------- Forwarded message ---------<br>From: <strong class="gmail_sendername"'
            ' dir="auto">Jane Roe</strong> <span dir="auto">&lt;<a href="mailto:jane@roe.example">'
            "jane@roe.example</a>&gt;</span><br>Date: x</div>",
            True,
            ("jane@roe.example", "Jane Roe"),
        ),
        ("Regards\n------------------------\nFrom the desk of me\n", False, None),
        ("From: nobody\nno marker, no Sent line\n", False, None),
    ],
)
def test_inline_forward_detection(
    body: str, is_html: bool, expected: tuple[str, str] | None
) -> None:
    from mailroom.extract.bodies import find_inline_forward  # noqa: PLC0415

    found = find_inline_forward(body, is_html)
    assert (found.address, found.name) == expected if found else expected is None
    if found:
        assert found.via == "inline-forward"


def test_raw_utf8_name_cut_inside_a_character_stays_utf8() -> None:
    name = "Картинка с длинным именем".encode()[:-1]  # cut inside the last character
    data = (
        b'From: a@example.org\r\nContent-Type: image/png; name="' + name + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
    )
    result = extract(io.BytesIO(data), MemorySink())
    assert result.attachments[0].filename.startswith("Картинка с длинным имене")


@pytest.mark.parametrize("layout", ["one long line", "LF lines", "CRLF lines"])
def test_large_base64_in_any_line_layout_is_byte_exact(layout: str) -> None:
    import base64  # noqa: PLC0415

    payload = bytes(range(256)) * 12_000 + b"tail"  # about 3 MB: spans several read chunks
    body = {
        "one long line": base64.b64encode(payload),
        "LF lines": base64.encodebytes(payload),
        "CRLF lines": base64.encodebytes(payload).replace(b"\n", b"\r\n"),
    }[layout]
    data = (
        b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
        b"Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + body
        + b"\r\n--zz--\r\n"
    )
    sink = MemorySink()
    result = extract(io.BytesIO(data), sink)
    assert sink.opened[0].data == payload and result.warnings == []


@pytest.mark.parametrize("step", [1, 2, 4096])
def test_byte_order_mark_and_obsolete_header_syntax(step: int) -> None:
    data = (
        b"\xef\xbb\xbfFrom : Old Timer <old@example.org>\r\nSubject  : relic\r\n"
        b"Content-Type: application/pdf; name=old.pdf\r\n\r\n%PDF"
    )
    sink = MemorySink()
    result = extract(Trickle(data, step), sink)  # type: ignore[arg-type]
    assert (result.sender, result.subject) == ("old@example.org", "relic")
    assert [k.data for k in sink.opened] == [b"%PDF"] and result.warnings == []


@pytest.mark.parametrize("step", [7777, 1 << 20])
def test_quoted_printable_without_line_breaks_stays_bounded_and_exact(step: int) -> None:
    import binascii  # noqa: PLC0415

    payload = bytes(range(256)) * 2000
    qp = binascii.b2a_qp(payload, quotetabs=True, istext=False)
    qp = qp.replace(b"=\r\n", b"").replace(b"=\n", b"")  # one 1.4 MB line, no soft breaks
    data = (
        b"From: a@example.org\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp
    )
    sink = MemorySink()
    extract(Trickle(data, step), sink)  # type: ignore[arg-type]
    assert sink.opened[0].data == payload
    assert max(len(c) for c in sink.opened[0].chunks) < 1 << 20  # decoded as it streamed
