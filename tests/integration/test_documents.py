"""Issue 20, end to end on moto: real-shaped mail through process_message (the extractor) and
record_object (record_metadata), then the listings staff use.

GIVEN a message in raw/, WHEN it is extracted and each object is recorded, THEN the records
have roles, containers and context, and the default listing shows documents only.
"""

from __future__ import annotations

import base64
import io
import sys
import zipfile
from pathlib import Path

from mailroom.limits import Limits
from mailroom.policy import Verdicts
from mailroom.settings import Settings
from mailroom.usecases import files as file_queries
from mailroom.usecases.intake import ReceivedMail, process_message
from mailroom.usecases.recording import ObjectCreated, record_object
from tests.integration.conftest import BUCKET, TABLE, Stack

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from cfb import msg_item, write_cfb  # the test-only compound-file writer

PASS = Verdicts(spam="PASS", virus="PASS", spf="PASS", dkim="PASS", dmarc="PASS")
PDF = b"%PDF-1.4\n" + b"1 0 obj <<>> endobj\n" * 40 + b"%%EOF\n"
GIF_1X1 = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def png(width: int, height: int) -> bytes:
    import struct  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


LOGO = png(160, 48)


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode()


def outlook_mail(n: int, *attachments: tuple[str, str, bytes], html: str = "") -> bytes:
    """Outlook's shape: multipart/mixed > multipart/related > (alternative, image001.png)."""
    parts = "".join(
        f'--mixed\r\nContent-Type: {ctype}; name="{name}"\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{b64(data)}\r\n"
        for name, ctype, data in attachments
    )
    return (
        f"From: Ann Client <ann@client.example>\r\nTo: docs@firm.example\r\n"
        f"Subject: =?utf-8?Q?Unterlagen_f=C3=BCr_Fall_{n}?=\r\n"
        f"Message-ID: <m{n}@client.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mixed\r\n\r\n"
        "--mixed\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n"
        "--rel\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Dear firm,\r\nhere are the papers. The rest is on https://1drv.ms/f/s!Ab12\r\n"
        "--\r\nAnn Client\r\n\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f'<p>Dear firm,</p><p>here are the papers.</p>{html}<img src="cid:image001.png@01DC">'
        '\r\n--alt--\r\n--rel\r\nContent-Type: image/png; name="image001.png"\r\n'
        "Content-Transfer-Encoding: base64\r\nContent-ID: <image001.png@01DC>\r\n\r\n"
        f"{b64(LOGO)}\r\n--rel--\r\n{parts}--mixed--\r\n"
    ).encode()


def deliver(stack: Stack, message_id: str, raw: bytes, limits: Limits | None = None) -> object:
    settings = Settings(bucket=BUCKET, table=TABLE, limits=limits or Limits())
    stack.s3.put_object(Bucket=BUCKET, Key=f"raw/{message_id}", Body=raw)
    mail = ReceivedMail(
        message_id=message_id,
        timestamp=f"2026-12-0{int(message_id[-1]) % 9 + 1}T10:00:00.000Z",
        source="ann@client.example",
        recipients=("docs@firm.example",),
        verdicts=PASS,
        from_header=("Ann Client <ann@client.example>",),
    )
    record = process_message(mail, settings, stack.store, stack.catalog)
    for key in stack.keys(f"incoming/{message_id}/"):
        record_object(
            ObjectCreated(key),
            "incoming/",
            stack.store,
            stack.catalog,
            sightings=stack.catalog,
            signature_repeats=settings.limits.signature_repeats,
        )
    return record


def records(stack: Stack, message_id: str) -> dict[str, object]:
    _, found = stack.catalog.get_message(message_id)
    return {f.filename: f for f in found}


def listed(stack: Stack, *, include_all: bool = False) -> list[str]:
    page = file_queries.list_files(
        stack.catalog, file_queries.FileQuery(limit=100, include_all=include_all)
    )
    return sorted(m.record.file_id for m in page.files)


def test_signature_logo_three_times_is_inline_then_signature_and_always_hidden(
    stack: Stack,
) -> None:
    for n in (1, 2, 3):
        deliver(stack, f"msg-{n}", outlook_mail(n, (f"invoice{n}.pdf", "application/pdf", PDF)))
    roles = [records(stack, f"msg-{n}")["image001.png"] for n in (1, 2, 3)]
    assert [r.role for r in roles] == ["inline-image", "signature", "signature"]
    assert "referenced by cid:" in (roles[0].role_reason or "")
    assert "already received 1 times from this sender domain" in (roles[2].role_reason or "")
    assert (roles[0].width, roles[0].height) == (160, 48)
    assert listed(stack) == [f"incoming/msg-{n}/02-invoice{n}.pdf" for n in (1, 2, 3)]
    everything = listed(stack, include_all=True)
    assert len(everything) == 6 and all(r.file_id in everything for r in roles)
    # The sender's own listing hides them too, and shows them on request.
    by_sender = file_queries.list_files(
        stack.catalog, file_queries.FileQuery(sender="ann@client.example", limit=100)
    )
    assert len(by_sender.files) == 3
    message, _ = stack.catalog.get_message("msg-1")
    assert message is not None and message.subject == "Unterlagen für Fall 1"
    assert message.excerpt == (
        "Dear firm, here are the papers. The rest is on https://1drv.ms/f/s!Ab12"
    )
    assert message.links == ["https://1drv.ms/f/s!Ab12"]


def test_a_tracking_pixel_is_a_tracker(stack: Stack) -> None:
    raw = outlook_mail(4, ("a.pdf", "application/pdf", PDF), html="")
    raw = raw.replace(
        b"--rel--",
        b"--rel\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-ID: <px@track>\r\n\r\n" + b64(GIF_1X1).encode() + b"\r\n--rel--",
    )
    deliver(stack, "msg-4", raw)
    found = records(stack, "msg-4")
    tracker = found["part-1-3.gif"]
    assert tracker.role == "tracker" and (tracker.width, tracker.height) == (1, 1)
    assert tracker.file_id not in listed(stack)
    assert tracker.file_id in listed(stack, include_all=True)


def test_a_zip_of_three_pdfs_gives_three_documents_plus_the_archive(stack: Stack) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for n in (1, 2, 3):
            z.writestr(f"Scans/scan {n}.pdf", PDF + bytes([n]))
    record = deliver(
        stack, "msg-5", outlook_mail(5, ("scans.zip", "application/zip", archive.getvalue()))
    )
    found = records(stack, "msg-5")
    archive_record = found["scans.zip"]
    members = [found[f"Scans/scan {n}.pdf"] for n in (1, 2, 3)]
    assert archive_record.role == "document" and archive_record.parent_index is None
    assert [m.parent_index for m in members] == [2, 2, 2]  # the archive is 02-scans.zip
    assert archive_record.file_id == "incoming/msg-5/02-scans.zip"
    assert [m.file_id for m in members] == [
        f"incoming/msg-5/0{n + 2}-scan {n}.pdf" for n in (1, 2, 3)
    ]
    assert all(m.role == "document" for m in members)
    assert str(record.outcome) == "extracted"
    docs = listed(stack)
    assert archive_record.file_id in docs and all(m.file_id in docs for m in members)


def test_a_zip_bomb_is_refused_with_a_warning_and_the_message_is_still_extracted(
    stack: Stack,
) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("payload.bin", b"\0" * (12 * 1024 * 1024))
    assert len(bomb.getvalue()) < 15 * 1024
    record = deliver(
        stack,
        "msg-6",
        outlook_mail(
            6,
            ("bomb.zip", "application/zip", bomb.getvalue()),
            ("letter.pdf", "application/pdf", PDF),
        ),
    )
    assert str(record.outcome) == "extracted"
    assert any("zip bomb" in w for w in record.warnings)
    assert sorted(records(stack, "msg-6")) == ["bomb.zip", "image001.png", "letter.pdf"]
    assert not any("payload" in k for k in stack.keys("incoming/msg-6/"))


def test_zip_member_names_with_dot_dot_give_safe_keys(stack: Stack) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../../etc/passwd", b"x")
        z.writestr("..\\..\\windows\\evil.pdf", PDF)
    deliver(stack, "msg-7", outlook_mail(7, ("evil.zip", "application/zip", archive.getvalue())))
    keys = stack.keys("incoming/msg-7/")
    assert keys == [
        "incoming/msg-7/01-image001.png",
        "incoming/msg-7/02-evil.zip",
        "incoming/msg-7/03-passwd",
        "incoming/msg-7/04-evil.pdf",
    ]


def test_a_msg_with_two_attachments_gives_both_with_a_claimed_original_sender(
    stack: Stack,
) -> None:
    item = write_cfb(
        msg_item(
            "Signed contract",
            "bob@other.example",
            "Bob Other",
            [
                ("contract.pdf", "application/pdf", PDF),
                ("annex.pdf", "application/pdf", PDF + b"2"),
            ],
        )
    )
    deliver(
        stack, "msg-8", outlook_mail(8, ("Signed contract.msg", "application/vnd.ms-outlook", item))
    )
    found = records(stack, "msg-8")
    for name in ("contract.pdf", "annex.pdf"):
        assert found[name].original_sender == "bob@other.example"
        assert found[name].original_sender_via == "attached-message"
        assert found[name].parent_index == 2
    assert found["Signed contract.msg"].role == "document"


def test_an_apple_mail_inline_pdf_is_a_document(stack: Stack) -> None:
    raw = (
        "From: Ann <ann@client.example>\r\nTo: docs@firm.example\r\nSubject: scan\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=apple\r\n\r\n"
        "--apple\r\nContent-Type: text/plain\r\n\r\nHere it is.\r\n"
        "--apple\r\nContent-Disposition: inline; filename=scan.pdf\r\n"
        'Content-Type: application/pdf; x-unix-mode=0644; name="scan.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{b64(PDF)}\r\n--apple--\r\n"
    ).encode()
    deliver(stack, "msg-9", raw)
    found = records(stack, "msg-9")["scan.pdf"]
    assert (found.role, found.inline) == ("document", True)
    assert found.file_id in listed(stack)


def test_reprocessing_applies_roles_to_older_records_without_undoing_a_delete(
    stack: Stack,
) -> None:
    raw = outlook_mail(
        1, ("keep.pdf", "application/pdf", PDF), ("gone.pdf", "application/pdf", PDF + b"x")
    )
    deliver(stack, "msg-1", raw)
    # As recorded before issue 20: every file a document, keyed as one.
    for record in records(stack, "msg-1").values():
        record.role, record.role_reason = "document", None
        stack.catalog.put_file(record)
    logo = records(stack, "msg-1")["image001.png"]
    assert logo.file_id in listed(stack)
    gone = records(stack, "msg-1")["gone.pdf"]
    stack.s3.delete_object(Bucket=BUCKET, Key=gone.file_id)
    stack.catalog.mark_deleted(gone.file_id, "staff@firm.example", "2026-12-05T10:00:00.000Z")
    # Metadata as before issue 20, so that the extractor sees stale provenance.
    stack.s3.copy_object(
        Bucket=BUCKET,
        Key=logo.file_id,
        CopySource={"Bucket": BUCKET, "Key": logo.file_id},
        MetadataDirective="REPLACE",
        ContentType="image/png",
        Metadata={
            k: v
            for k, v in stack.s3.head_object(Bucket=BUCKET, Key=logo.file_id)["Metadata"].items()
            if k != "role"
        },
    )
    versions = stack.versions("incoming/msg-1/")

    deliver(stack, "msg-1", raw)  # what `reprocess` does: the same raw message again
    again = records(stack, "msg-1")
    assert again["image001.png"].role == "inline-image"
    assert logo.file_id not in listed(stack)
    assert again["gone.pdf"].deleted and again["gone.pdf"].deleted_by == "staff@firm.example"
    assert "incoming/msg-1/03-gone.pdf" not in stack.keys("incoming/msg-1/")
    assert stack.versions("incoming/msg-1/") == versions + 1  # the logo's metadata only

    deliver(stack, "msg-1", raw)  # and once more: nothing changes
    assert stack.versions("incoming/msg-1/") == versions + 1


def test_keep_body_stores_the_body_as_a_hidden_body_file(stack: Stack) -> None:
    raw = outlook_mail(2, ("a.pdf", "application/pdf", PDF))
    deliver(stack, "msg-2", raw, Limits(keep_body=True))
    body = records(stack, "msg-2")["body.txt"]
    assert body.file_id == "incoming/msg-2/00-body.txt" and body.role == "body"
    assert body.file_id not in listed(stack) and body.file_id in listed(stack, include_all=True)
