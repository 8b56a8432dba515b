"""The upload-signing and delete use cases without AWS: what they check, in what order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from mailroom.model import FileRecord
from mailroom.usecases import deletes, uploads
from mailroom.usecases.errors import InvalidInput, NotFound, TooLarge, UnsupportedType

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
TYPES = {"application/pdf", "text/plain"}


class Signer:
    bucket = "b"

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], int, int]] = []

    def presigned_post(
        self, key: str, fields: dict[str, str], size: int, expires_in: int
    ) -> dict[str, Any]:
        self.calls.append((key, fields, size, expires_in))
        return {"url": "https://b.example/", "fields": {"key": key, **fields}}


def presign(signer: Signer, **values: Any) -> uploads.PresignedUpload:
    request = uploads.UploadRequest(**{"filename": "a.pdf", "size": 10, **values})
    return uploads.presign_upload(
        signer,
        request,
        uploader="Ann@Firm.example",
        max_bytes=100,
        allowed_types=TYPES,
        expires_in=300,
        incoming_prefix="incoming/",
        now=NOW,
    )


def test_the_form_fixes_key_type_size_and_provenance() -> None:
    signer = Signer()
    post = presign(signer, filename="../Relevé: été?.pdf", content_type="Application/PDF; q=1")
    key, fields, size, expires = signer.calls[0]
    assert key == post.file_id
    assert key.startswith("incoming/up-20261129-") and "/.." not in key
    assert key.count("/") == 2
    assert (size, expires) == (10, 300)
    assert fields["Content-Type"] == "application/pdf"
    assert fields["x-amz-meta-source"] == "upload"
    assert fields["x-amz-meta-sender"] == "ann@firm.example"
    assert fields["x-amz-meta-message-id"] == key.split("/")[1]
    assert "x-amz-meta-received-at" not in fields  # the object's own time is used
    assert "x-amz-meta-sha256" not in fields  # record_metadata hashes the bytes


def test_the_type_is_guessed_from_the_name_when_not_declared() -> None:
    signer = Signer()
    presign(signer, filename="notes.txt", content_type="")
    assert signer.calls[0][1]["Content-Type"] == "text/plain"


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"size": 101}, TooLarge),
        ({"content_type": "application/zip"}, UnsupportedType),
        ({"filename": "a.exe", "content_type": None}, UnsupportedType),
        ({"size": 0}, InvalidInput),
        ({"size": 1.5}, InvalidInput),
        ({"filename": "   "}, InvalidInput),
        ({"filename": "x" * 1025}, InvalidInput),
        ({"case": "a b"}, InvalidInput),
    ],
)
def test_nothing_is_signed_for_bad_input(values: dict[str, Any], error: type[Exception]) -> None:
    signer = Signer()
    with pytest.raises(error):
        presign(signer, **values)
    assert signer.calls == []


RECORD = FileRecord(
    file_id="incoming/m1/01-a.pdf",
    filename="a.pdf",
    safe_name="01-a.pdf",
    size=1,
    sha256="0" * 64,
    received_at="2026-11-29T19:00:00.000Z",
    source="email",
    message_id="m1",
)


class Catalog:
    def __init__(self, record: FileRecord | None, *, vanish: bool = False) -> None:
        self.record = record
        self.vanish = vanish
        self.log: list[str] = []

    def get_file(self, file_id: str) -> FileRecord | None:
        return self.record if self.record and self.record.file_id == file_id else None

    def mark_deleted(self, file_id: str, by: str, at: str) -> FileRecord | None:
        self.log.append(f"mark {file_id}")
        if self.vanish or self.record is None:
            return None
        self.record = replace(self.record, deleted=True, deleted_by=by, deleted_at=at)
        return self.record


class Store:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def delete_current(self, key: str) -> None:
        self.log.append(f"delete {key}")


def test_delete_marks_the_record_then_removes_the_object_once() -> None:
    """The record first: its conditional update is the legal hold's gate (issue 22)."""
    catalog = Catalog(RECORD)
    store = Store(catalog.log)
    done = deletes.delete_file(
        catalog, store, RECORD.file_id, by=" ann ", now=NOW, incoming_prefix="incoming/"
    )
    assert catalog.log == [f"mark {RECORD.file_id}", f"delete {RECORD.file_id}"]
    assert (done.deleted, done.deleted_by, done.deleted_at) == (
        True,
        "ann",
        "2026-11-29T20:00:00.000Z",
    )
    again = deletes.delete_file(
        catalog, store, RECORD.file_id, by="bob", incoming_prefix="incoming/"
    )
    assert again.deleted_by == "ann"
    assert len(catalog.log) == 2


def test_delete_refuses_unknown_foreign_and_anonymous() -> None:
    with pytest.raises(NotFound):
        deletes.delete_file(
            Catalog(None), Store([]), "incoming/m1/09-x.pdf", by="ann", incoming_prefix="incoming/"
        )
    foreign = replace(RECORD, file_id="quarantine/m1/01-a.pdf")
    catalog = Catalog(foreign)
    with pytest.raises(NotFound):
        deletes.delete_file(
            catalog, Store(catalog.log), foreign.file_id, by="ann", incoming_prefix="incoming/"
        )
    assert catalog.log == []
    with pytest.raises(InvalidInput):
        deletes.delete_file(
            Catalog(RECORD), Store([]), RECORD.file_id, by="  ", incoming_prefix="incoming/"
        )
    vanishing = Catalog(RECORD, vanish=True)
    with pytest.raises(NotFound):
        deletes.delete_file(
            vanishing, Store(vanishing.log), RECORD.file_id, by="ann", incoming_prefix="incoming/"
        )
