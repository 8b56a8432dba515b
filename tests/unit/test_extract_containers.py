"""Issue 20 in the engine: containers opened, roles, the message's context.

Messages are built here, real-shaped (multipart/mixed with a related HTML part, Outlook's
image001.png, a zip made with zipfile, a .msg made by tests/unit/cfb.py from MS-OXMSG).
"""

from __future__ import annotations

import base64
import io
import struct
import sys
import zipfile
import zlib
from pathlib import Path

from mailroom.extract import Limits, extract
from mailroom.extract.context import excerpt, is_sharing_link
from mailroom.extract.images import image_size
from mailroom.extract.memory import MemorySink

sys.path.insert(0, str(Path(__file__).parent))
from cfb import msg_item, write_cfb

BOUNDARY = "b1_outer"


def png(width: int, height: int, filler: int = 0) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"tEXt", b"x" * filler)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


GIF_1X1 = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PDF = b"%PDF-1.4\n" + b"1 0 obj <<>> endobj\n" * 50 + b"%%EOF\n"


def jpeg(width: int, height: int) -> bytes:
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 300) + b"Exif\0\0" + b"\0" * 294
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app1 + sof + b"\xff\xda\x00\x02" + b"\x00" * 100 + b"\xff\xd9"


def part(headers: str, data: bytes) -> str:
    text = base64.encodebytes(data).decode()
    return f"--{BOUNDARY}\r\n{headers}\r\nContent-Transfer-Encoding: base64\r\n\r\n{text}\r\n"


def mail(
    *parts: str,
    html: str = "<p>Hello</p>",
    text: str | None = None,
    sender: str = "Ann <ann@client.example>",
    extra_headers: str = "",
) -> bytes:
    body = text if text is not None else "Hello,\r\nplease find the files.\r\n"
    head = (
        f"From: {sender}\r\nTo: docs@firm.example\r\nSubject: =?utf-8?q?Scans_f=C3=BCr?=\r\n"
        f" the case\r\nMessage-ID: <m1@client.example>\r\nMIME-Version: 1.0\r\n{extra_headers}"
        f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"\r\n\r\n'
        f"--{BOUNDARY}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        f"--{BOUNDARY}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    )
    return (head + "".join(parts) + f"--{BOUNDARY}--\r\n").encode()


def run(raw: bytes, limits: Limits | None = None) -> tuple[MemorySink, object]:
    sink = MemorySink()
    result = extract(io.BytesIO(raw), sink, limits or Limits())
    return sink, result


def zip_of(files: list[tuple[str, bytes]], **kwargs: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, **kwargs) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return out.getvalue()


# -- image sizes -------------------------------------------------------------------------------


def test_image_sizes_come_from_the_headers() -> None:
    assert image_size(png(120, 40)) == (120, 40)
    assert image_size(GIF_1X1) == (1, 1)
    assert image_size(jpeg(640, 480)) == (640, 480)
    assert image_size(PDF) is None
    assert image_size(b"\xff\xd8\xff\xe1\x00") is None  # cut short: unknown, never guessed


# -- roles -------------------------------------------------------------------------------------


def test_signature_logo_referenced_by_cid_is_an_inline_image() -> None:
    logo = png(180, 60, filler=2000)
    raw = mail(
        part(
            'Content-Type: image/png; name="image001.png"\r\nContent-ID: <image001.png@01DA>\r\n'
            'Content-Disposition: inline; filename="image001.png"',
            logo,
        ),
        part('Content-Type: application/pdf; name="invoice.pdf"', PDF),
        html='<p>Regards</p><img src="cid:image001.png@01DA">',
    )
    sink, result = run(raw)
    roles = {a.filename: (a.role, a.width, a.height) for a in result.attachments}
    assert roles == {
        "image001.png": ("inline-image", 180, 60),
        "invoice.pdf": ("document", None, None),
    }
    logo_att = result.attachments[0]
    assert "referenced by cid:" in logo_att.role_reason
    assert sink.named("image001.png").data == logo  # set aside, never dropped


def test_a_1x1_gif_is_a_tracker_and_a_large_pasted_photo_stays_a_document() -> None:
    raw = mail(
        part("Content-Type: image/gif\r\nContent-ID: <px>", GIF_1X1),
        part('Content-Type: image/jpeg; name="photo.jpg"\r\nContent-ID: <photo>', jpeg(3000, 2000)),
        html='<img src="cid:photo"><img src="cid:px">',
    )
    _, result = run(raw)
    assert [(a.role, a.width) for a in result.attachments] == [("tracker", 1), ("document", 3000)]
    assert "tracking pixel" in result.attachments[0].role_reason


def test_an_apple_mail_inline_pdf_is_a_document() -> None:
    raw = mail(
        part(
            'Content-Type: application/pdf; x-unix-mode=0644; name="scan.pdf"\r\n'
            'Content-Disposition: inline; filename="scan.pdf"\r\nContent-ID: <F00D>',
            PDF,
        ),
        html='<p>See</p><img src="cid:F00D">',
    )
    _, result = run(raw)
    assert [(a.filename, a.role, a.inline) for a in result.attachments] == [
        ("scan.pdf", "document", True)
    ]


# -- zip -----------------------------------------------------------------------------------------


def test_a_zip_of_three_pdfs_gives_three_documents_plus_the_archive() -> None:
    archive = zip_of([(f"scans/page{n}.pdf", PDF + bytes([n])) for n in (1, 2, 3)])
    raw = mail(part('Content-Type: application/zip; name="scans.zip"', archive))
    sink, result = run(raw)
    got = [
        (a.index, a.filename, a.safe_name, a.parent, a.origin, a.role) for a in result.attachments
    ]
    assert got == [
        (1, "scans.zip", "scans.zip", None, "mime", "document"),
        (2, "scans/page1.pdf", "page1.pdf", 1, "archive", "document"),
        (3, "scans/page2.pdf", "page2.pdf", 1, "archive", "document"),
        (4, "scans/page3.pdf", "page3.pdf", 1, "archive", "document"),
    ]
    assert sink.named("scans/page2.pdf").data == PDF + b"\x02"
    assert sink.named("scans.zip").data == archive
    assert result.warnings == []
    _, again = run(raw)  # the same archive always gives the same numbering and names
    assert [(a.index, a.safe_name, a.part) for a in again.attachments] == [
        (a.index, a.safe_name, a.part) for a in result.attachments
    ]


def test_a_zip_bomb_is_refused_with_a_warning_and_the_other_files_stay() -> None:
    bomb = zip_of([("zeros.bin", b"\0" * (20 * 1024 * 1024))])
    assert len(bomb) < 30 * 1024  # a few KB that claim to be 20 MB
    raw = mail(
        part('Content-Type: application/zip; name="bomb.zip"', bomb),
        part('Content-Type: application/pdf; name="letter.pdf"', PDF),
    )
    sink, result = run(raw)
    assert [a.filename for a in result.attachments] == ["bomb.zip", "letter.pdf"]
    assert any("zip bomb" in w and "bomb" in w for w in result.warnings), result.warnings
    member = [k for k in sink.opened if k.info.filename == "zeros.bin"]
    assert len(member) == 1 and member[0].aborted and member[0].committed is None
    # Refused after about the ratio floor, never decompressed whole.
    assert sum(len(c) for c in member[0].chunks) <= 2 * 1024 * 1024


def test_header_sizes_are_not_trusted_the_archive_byte_limit_counts_real_bytes() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB of incompressible-ish bytes, well under any ratio
    archive = zip_of([("a.bin", data), ("b.bin", data), ("c.bin", data)])
    raw = mail(part('Content-Type: application/zip; name="three.zip"', archive))
    _, result = run(raw, Limits(max_archive_bytes=2 * 1024 * 1024 + 10, max_archive_ratio=10_000))
    assert [a.filename for a in result.attachments] == ["three.zip", "a.bin", "b.bin"]
    assert any("bytes decompressed from the archive" in w for w in result.warnings)


def test_member_names_with_dot_dot_give_safe_keys() -> None:
    archive = zip_of(
        [("../../etc/passwd", b"root"), ("..\\..\\boot.ini", b"x"), ("/abs/x.pdf", PDF)]
    )
    _, result = run(mail(part('Content-Type: application/zip; name="evil.zip"', archive)))
    names = [a.safe_name for a in result.attachments[1:]]
    assert names == ["passwd", "boot.ini", "x.pdf"]
    assert all("/" not in n and "\\" not in n and ".." not in n for n in names)


def test_encrypted_members_and_closed_archives_are_recorded_not_opened() -> None:
    data = bytearray(zip_of([("secret.pdf", b"ciphertext"), ("open.txt", b"hello")]))
    # Mark the first member encrypted (general purpose bit 0), in its local and central headers:
    # zipfile writes no encrypted archives.
    data[6] |= 0x1
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1
    raw = mail(
        part('Content-Type: application/zip; name="mixed.zip"', bytes(data)),
        part('Content-Type: application/x-rar-compressed; name="old.rar"', b"Rar!\x1a\x07\x00"),
        part('Content-Type: application/gzip; name="logs.tar.gz"', b"\x1f\x8b\x08\x00"),
    )
    _, result = run(raw)
    assert [a.filename for a in result.attachments] == [
        "mixed.zip",
        "open.txt",
        "old.rar",
        "logs.tar.gz",
    ]
    assert any("'secret.pdf': encrypted, not opened" in w for w in result.warnings)
    by_name = {a.filename: a for a in result.attachments}
    assert by_name["old.rar"].role_reason == "archive not opened (.rar)"
    assert by_name["logs.tar.gz"].role_reason == "archive not opened (.tar.gz)"


def test_nesting_depth_members_per_archive_and_the_switch() -> None:
    inner = zip_of([("deep.pdf", PDF)])
    middle = zip_of([("inner.zip", inner), ("mid.pdf", PDF)])
    outer = zip_of([("middle.zip", middle)])
    raw = mail(part('Content-Type: application/zip; name="outer.zip"', outer))
    _, result = run(raw)  # max_archive_depth 2: outer and middle opened, inner kept closed
    assert [a.filename for a in result.attachments] == [
        "outer.zip",
        "middle.zip",
        "inner.zip",
        "mid.pdf",
    ]
    assert [a.parent for a in result.attachments] == [None, 1, 2, 2]
    assert any("'inner.zip': nested deeper than 2" in w for w in result.warnings)

    many = zip_of([(f"f{n}.txt", b"x") for n in range(5)])
    _, capped = run(
        mail(part('Content-Type: application/zip; name="many.zip"', many)),
        Limits(max_archive_members=3),
    )
    assert len(capped.attachments) == 4 and any("more than 3 files" in w for w in capped.warnings)

    _, off = run(raw, Limits(expand_archives=False))
    assert [(a.filename, a.role_reason) for a in off.attachments] == [
        ("outer.zip", "archive, not opened (expand_archives is off)")
    ]


def test_a_directory_of_too_many_entries_is_refused_before_it_is_read() -> None:
    many = zip_of([(f"d{n}/", b"") for n in range(200)])
    _, result = run(
        mail(part('Content-Type: application/zip; name="dirs.zip"', many)),
        Limits(max_archive_members=10),
    )
    assert [a.filename for a in result.attachments] == ["dirs.zip"]
    assert any("zip directory" in w and "refused" in w for w in result.warnings)


def test_office_documents_are_not_opened_as_archives() -> None:
    docx = zip_of([("word/document.xml", b"<w/>")])
    raw = mail(
        part(
            "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;"
            ' name="brief.docx"',
            docx,
        )
    )
    _, result = run(raw)
    assert [a.filename for a in result.attachments] == ["brief.docx"]


# -- Outlook .msg --------------------------------------------------------------------------------


def test_a_msg_with_two_attachments_gives_both_with_its_sender_as_original_sender() -> None:
    big = PDF * 200  # over the mini-stream cutoff: stored in regular sectors
    item = write_cfb(
        msg_item(
            "Contract",
            "bob@other.example",
            "Bob Other",
            [("contract.pdf", "application/pdf", big), ("notes.txt", "text/plain", b"notes")],
        )
    )
    raw = mail(part('Content-Type: application/vnd.ms-outlook; name="Contract.msg"', item))
    sink, result = run(raw)
    got = [
        (a.filename, a.content_type, a.origin, a.parent, a.original_sender, a.original_sender_via)
        for a in result.attachments
    ]
    assert got == [
        ("Contract.msg", "application/vnd.ms-outlook", "mime", None, None, None),
        ("contract.pdf", "application/pdf", "outlook", 1, "bob@other.example", "attached-message"),
        ("notes.txt", "text/plain", "outlook", 1, "bob@other.example", "attached-message"),
    ]
    assert sink.named("contract.pdf").data == big
    assert sink.named("Contract.msg").data == item
    assert result.original_sender == "bob@other.example"


def test_a_msg_nested_in_a_msg_and_a_msg_in_a_zip_are_opened() -> None:
    inner = msg_item(
        "Inner", "cy@deep.example", "Cy", [("deep.pdf", "application/pdf", PDF)], embedded=True
    )
    item = write_cfb(
        msg_item("Outer", "bob@other.example", "Bob", [inner, ("a.pdf", "application/pdf", PDF)])
    )
    archive = zip_of([("mail.msg", item)])
    _, result = run(mail(part('Content-Type: application/zip; name="mails.zip"', archive)))
    got = [(a.filename, a.parent, a.original_sender) for a in result.attachments]
    assert got == [
        ("mails.zip", None, None),
        ("mail.msg", 1, None),
        ("deep.pdf", 2, "cy@deep.example"),
        ("a.pdf", 2, "bob@other.example"),
    ]


def test_a_damaged_msg_is_kept_with_a_warning() -> None:
    raw = mail(
        part(
            'Content-Type: application/octet-stream; name="broken.msg"',
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"junk" * 200,
        )
    )
    _, result = run(raw)
    assert [a.filename for a in result.attachments] == ["broken.msg"]
    assert any("Outlook item could not be read" in w for w in result.warnings)


# -- .eml recognised by content ------------------------------------------------------------------

INNER = (
    b"From: Dee <dee@inner.example>\r\nSubject: Original\r\n"
    b"Date: Mon, 1 Dec 2026 10:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n"
    b"Content-Type: text/plain\r\n\r\nhi\r\n--in\r\nContent-Type: application/pdf; name=x.pdf\r\n"
    b"\r\n%PDF-inner\r\n--in--\r\n"
)


def test_an_eml_sent_as_octet_stream_or_unnamed_is_opened_like_a_forward() -> None:
    raw = mail(
        part("Content-Type: application/octet-stream", INNER),
        part('Content-Type: application/octet-stream; name="fw.eml"', INNER),
        part("Content-Type: application/octet-stream", b"\x00\x01binary"),
    )
    sink, result = run(raw)
    got = [(a.filename, a.origin, a.original_sender) for a in result.attachments]
    assert got == [
        ("Original.eml", "message", None),
        ("x.pdf", "mime", "dee@inner.example"),
        ("fw.eml", "message", None),
        ("x.pdf", "mime", "dee@inner.example"),
        ("part-5.bin", "mime", None),
    ]
    assert sink.named("fw.eml").data == INNER


# -- the message's context -----------------------------------------------------------------------


def test_subject_excerpt_links_and_remote_attachment_url() -> None:
    text = (
        "Hi team,\r\n\r\nthe signed lease is on https://1drv.ms/b/s!AbCdEf and the photos at\r\n"
        "https://www.dropbox.com/s/abc/photos.zip?dl=0.\r\nUnrelated: https://example.com/x\r\n"
        "--\r\nAnn Client\r\n\r\nOn Mon, 1 Dec 2026 Bob wrote:\r\n> old text\r\n"
    )
    raw = mail(
        text=text,
        html='<a href="https://drive.google.com/file/d/1x/view?usp=sharing&amp;a=b">file</a>',
        extra_headers="Remote-Attachment-Url: https://wetransfer.com/downloads/abc\r\n",
    )
    _, result = run(raw)
    assert result.subject == "Scans für the case"
    assert result.excerpt == (
        "Hi team, the signed lease is on https://1drv.ms/b/s!AbCdEf and the photos at "
        "https://www.dropbox.com/s/abc/photos.zip?dl=0. Unrelated: https://example.com/x"
    )
    assert result.links == [
        "https://wetransfer.com/downloads/abc",
        "https://1drv.ms/b/s!AbCdEf",
        "https://www.dropbox.com/s/abc/photos.zip?dl=0",
        "https://drive.google.com/file/d/1x/view?usp=sharing&a=b",
    ]


def test_excerpt_skips_quotes_stops_at_replies_and_is_about_500_characters() -> None:
    assert excerpt("> quoted\n\nTop line\nOn Tue, Bob <b@x> wrote:\nolder") == "Top line"
    assert excerpt("Body\n-----Original Message-----\nFrom: x") == "Body"
    long = excerpt("word " * 400)
    assert long is not None and 450 <= len(long) <= 501 and long.endswith("\u2026")
    assert excerpt("\n\n> only quoted\n") is None
    assert is_sharing_link("https://contoso.sharepoint.com/:b:/g/x")
    assert not is_sharing_link("https://sharepoint.com.evil.example/x")
    assert not is_sharing_link("https://notbox.com/x")


def test_keep_body_stores_the_text_body_as_a_body_file_without_shifting_keys() -> None:
    raw = mail(part('Content-Type: application/pdf; name="a.pdf"', PDF))
    _, plain = run(raw)
    sink, kept = run(raw, Limits(keep_body=True))
    assert [(a.index, a.filename, a.role) for a in kept.attachments] == [
        (0, "body.txt", "body"),
        (1, "a.pdf", "document"),
    ]
    assert sink.named("body.txt").data.startswith(b"Hello,\r\nplease find the files.")
    assert [(a.index, a.safe_name) for a in plain.attachments] == [(1, "a.pdf")]


def test_a_msg_file_attached_to_a_msg_is_opened_too() -> None:
    inner = write_cfb(
        msg_item("Inner", "cy@deep.example", "Cy", [("deep.pdf", "application/pdf", PDF)])
    )
    outer = write_cfb(
        msg_item(
            "Outer",
            "bob@other.example",
            "Bob",
            [("inner.msg", "application/vnd.ms-outlook", inner)],
        )
    )
    _, result = run(mail(part('Content-Type: application/vnd.ms-outlook; name="outer.msg"', outer)))
    got = [(a.filename, a.parent, a.original_sender) for a in result.attachments]
    assert got == [
        ("outer.msg", None, None),
        ("inner.msg", 1, "bob@other.example"),
        ("deep.pdf", 2, "cy@deep.example"),
    ]
