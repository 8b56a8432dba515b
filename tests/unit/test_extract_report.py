"""`inspect_path`: the object `mailroom inspect --json` prints, for mail and for non-mail."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from mailroom.extract.report import inspect_path

KEYS = {
    "path",
    "sender",
    "sender_name",
    "original_sender",
    "subject",
    "message_id",
    "attachments",
    "warnings",
}
ATTACHMENT_KEYS = {"filename", "safe_name", "content_type", "size", "sha256", "inline", "part"}


def test_report_of_a_message(tmp_path: Path) -> None:
    payload = b"col1,col2\n1,2\n"
    mail = tmp_path / "m.eml"
    mail.write_bytes(
        b"From: Ann <Ann@Example.org>\r\nSubject: figures\r\nMessage-ID: <m1@x>\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"hi\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="../../etc/fig ures.csv"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(payload) + b"\r\n--b--\r\n"
    )
    report = inspect_path(mail)
    assert set(report) == KEYS
    json.dumps(report)  # JSON-ready as is
    assert (report["sender"], report["sender_name"]) == ("ann@example.org", "Ann")
    assert (report["subject"], report["message_id"]) == ("figures", "<m1@x>")
    assert report["path"] == str(mail) and report["original_sender"] is None
    [attachment] = report["attachments"]
    assert set(attachment) == ATTACHMENT_KEYS
    assert attachment == {
        "filename": "../../etc/fig ures.csv",
        "safe_name": "fig ures.csv",
        "content_type": "application/octet-stream",
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "inline": False,
        "part": "2",
    }
    assert report["warnings"] == []


def test_envelope_sender_is_the_fallback_for_a_missing_from(tmp_path: Path) -> None:
    mail = tmp_path / "nofrom.eml"
    mail.write_bytes(b"Subject: x\r\n\r\nbody\r\n")
    assert (
        inspect_path(mail, envelope_sender="Bounce@Example.net")["sender"] == "bounce@example.net"
    )
    assert inspect_path(mail)["sender"] is None


def test_non_email_input_gives_an_object_with_a_warning(tmp_path: Path) -> None:
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 50)
    report = inspect_path(junk)
    assert set(report) == KEYS
    assert report["attachments"] == [] and report["warnings"]


def test_unreadable_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        inspect_path(tmp_path / "missing.eml")
    with pytest.raises(OSError):
        inspect_path(tmp_path)


def test_text_with_colons_is_not_taken_for_an_email(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"Todo: buy milk\nDone: nothing\n\nmore text\n")
    report = inspect_path(notes)
    assert report["attachments"] == []
    assert any("does not look like an email" in w for w in report["warnings"])
