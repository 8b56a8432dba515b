"""Case export's pure parts: names, manifest, SHA256SUMS, and the offline check (issue 22).

The use case runs over in-memory stand-ins of its ports (a catalogue, a store, a signer with a
local P-256 key); through KMS and S3 it is tests/e2e/test_smtp_to_cli.py's export test.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mailroom import exports
from mailroom.cli.output import to_csv
from mailroom.model import Bounds, FileRecord, MessageRecord
from mailroom.usecases import export
from mailroom.usecases.errors import IntegrityError


def record(index: int, filename: str, body: bytes, message: str = "m1", **extra: Any) -> FileRecord:
    return FileRecord(
        file_id=f"incoming/{message}/{index:02d}-x",
        filename=filename,
        safe_name=filename,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        received_at=f"2026-12-0{index}T10:00:00Z",
        source="email",
        message_id=message,
        case="matter-1",
        sender="client@example.test",
        **extra,
    )


class Catalog:
    def __init__(self, records: list[FileRecord]) -> None:
        self.records = records

    def files_of_case(
        self, case: str, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[FileRecord]:
        newest = sorted(self.records, key=lambda r: (r.received_at, r.file_id), reverse=True)
        return iter([r for r in newest if r.case == case])

    def get_message(self, message_id: str) -> tuple[MessageRecord | None, list[FileRecord]]:
        message = MessageRecord(
            message_id=message_id,
            received_at="2026-12-01T10:00:00Z",
            raw_key=f"raw/{message_id}",
            outcome="delivered",  # type: ignore[arg-type]
            verdicts={"spam": "PASS", "virus": "PASS"},
        )
        return message, []


class Store:
    bucket = "docs"

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies

    def iter_object(
        self, key: str, version_id: str | None = None, chunk_size: int = 7
    ) -> Iterator[bytes]:
        body = self.bodies[key]
        for start in range(0, len(body), 7):  # small chunks: written as they come
            yield body[start : start + 7]


class Signer:
    key_id = "arn:aws:kms:eu-west-1:111122223333:key/test"

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def public_key_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, message: bytes) -> bytes:
        assert len(message) <= 4096  # KMS's limit for a RAW message
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))


BODIES = [b"%PDF-1.7 first\n" * 5, b"second document", b"=1+1 third"]


def make_export(
    tmp_path: Path, records: list[FileRecord] | None = None, bodies: list[bytes] | None = None
) -> tuple[Path, Signer]:
    bodies = bodies or BODIES
    records = records or [
        record(1, "report.pdf", bodies[0]),
        record(2, "Report.PDF", bodies[1], message="m2"),
        record(3, "=HYPERLINK(evil).txt", bodies[2], message="m3"),
    ]
    store = Store({r.file_id: b for r, b in zip(records, bodies, strict=True)})
    signer = Signer()
    plan = export.plan_export(Catalog(records), "Matter-1")  # type: ignore[arg-type]
    out = tmp_path / "out.zip"
    with out.open("w+b") as sink:
        export.write_export(
            plan,
            Catalog(records),  # type: ignore[arg-type]
            lambda bucket: store,  # type: ignore[arg-type,return-value]
            signer,
            sink,
            incoming_prefix="incoming/",
            render_csv=to_csv,
        )
    return out, signer


def test_names_are_safe_and_unique_even_ignoring_case() -> None:
    records = [
        record(1, "../../etc/passwd", b"a"),
        record(2, "Report.pdf", b"b"),
        record(3, "report.PDF", b"c"),
        record(4, "report.pdf", b"d"),
        record(5, "", b"e"),
    ]
    names = exports.unique_names(records)
    assert names == [
        "documents/passwd",
        "documents/Report.pdf",
        "documents/report (2).PDF",
        "documents/report (3).pdf",
        "documents/document",
    ]


def test_sums_are_sha256sum_lines_and_parse_back() -> None:
    text = exports.sums_text([("documents/a b.pdf", "ab" * 32), ("manifest.json", "cd" * 32)])
    assert text == f"{'ab' * 32}  documents/a b.pdf\n{'cd' * 32}  manifest.json\n".encode()
    assert exports.parse_sums(text) == {"documents/a b.pdf": "ab" * 32, "manifest.json": "cd" * 32}
    with pytest.raises(ValueError, match="sha256sum"):
        exports.sums_text([("two\nlines", "ab" * 32)])


def test_an_export_holds_every_document_a_manifest_and_signed_sums(tmp_path: Path) -> None:
    out, signer = make_export(tmp_path)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        sums = exports.parse_sums(archive.read("SHA256SUMS"))
        for name in names:
            if name.startswith("SHA256SUMS"):
                continue
            assert sums[name] == hashlib.sha256(archive.read(name)).hexdigest()
    assert sorted(names) == sorted(
        [
            # Newest first: m2's Report.PDF is named before m1's report.pdf.
            "documents/Report.PDF",
            "documents/report (2).pdf",
            "documents/=HYPERLINK(evil).txt",
            "manifest.json",
            "manifest.csv",
            "signing-key.pem",
            "SHA256SUMS",
            "SHA256SUMS.sig",
        ]
    )
    assert manifest["count"] == 3 and manifest["case"] == "matter-1"
    assert manifest["files"][0]["verdicts"] == {"spam": "PASS", "virus": "PASS"}
    assert manifest["signing_key_fingerprint"] == exports.fingerprint(signer.public_key_pem())
    # A spreadsheet must not run the sender's formula from the CSV.
    assert [r["filename"] for r in rows if "HYPERLINK" in r["filename"]] == [
        "'=HYPERLINK(evil).txt"
    ]
    assert set(rows[0]) == set(exports.MANIFEST_FIELDS)
    result = exports.verify_export(str(out), signer.public_key_pem())
    assert result.ok, result.problems
    assert (result.documents, result.pinned) == (3, True)


def test_bytes_that_differ_from_the_record_stop_the_export_naming_the_file(
    tmp_path: Path,
) -> None:
    records = [record(1, "a.pdf", b"recorded bytes"), record(2, "b.pdf", b"other")]
    with pytest.raises(IntegrityError, match="incoming/m1/01-x"):
        make_export(tmp_path, records, [b"tampered bytes", b"other"])


def test_one_changed_byte_fails_verification_and_names_the_file(tmp_path: Path) -> None:
    out, _ = make_export(tmp_path)
    data = bytearray(out.read_bytes())
    at = bytes(data).index(b"second document")
    data[at] ^= 0x20  # "Second document": the stored bytes, CRC and all left as they were
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(bytes(data))
    result = exports.verify_export(str(tampered))
    assert not result.ok
    assert result.problems and all("documents/Report.PDF" in p for p in result.problems)


def test_a_recomputed_sums_file_without_the_key_fails_the_signature(tmp_path: Path) -> None:
    out, _ = make_export(tmp_path)
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(out) as old, zipfile.ZipFile(forged, "w") as new:
        entries = {i.filename: old.read(i) for i in old.infolist()}
        entries["documents/report (2).pdf"] = b"swapped"
        manifest = json.loads(entries["manifest.json"])
        manifest["files"][2]["sha256"] = hashlib.sha256(b"swapped").hexdigest()
        entries["manifest.json"] = json.dumps(manifest).encode()
        entries["SHA256SUMS"] = exports.sums_text(
            (n, hashlib.sha256(b).hexdigest())
            for n, b in entries.items()
            if not n.startswith("SHA256SUMS")
        )
        for name, body in entries.items():
            new.writestr(name, body)
    result = exports.verify_export(str(forged))
    assert [p for p in result.problems if "SHA256SUMS.sig" in p]


def test_a_wrong_pinned_key_fails(tmp_path: Path) -> None:
    out, _ = make_export(tmp_path)
    other = Signer().public_key_pem()
    result = exports.verify_export(str(out), other)
    assert not result.ok
    assert any("not the pinned key" in p for p in result.problems)
    assert any("SHA256SUMS.sig" in p for p in result.problems)


def test_a_case_without_documents_plans_nothing() -> None:
    plan = export.plan_export(Catalog([]), "matter-1")  # type: ignore[arg-type]
    assert plan.records == [] and plan.total_bytes == 0


def test_a_deleted_file_is_not_exported() -> None:
    live = record(1, "a.pdf", b"a")
    gone = replace(record(2, "b.pdf", b"b"), deleted=True)
    plan = export.plan_export(Catalog([live, gone]), "matter-1")  # type: ignore[arg-type]
    assert [r.file_id for r in plan.records] == [live.file_id]


def test_the_functions_manifest_csv_is_formula_safe_and_control_free() -> None:
    """The export function's manifest.csv (the CLI's --format csv is the same code) neutralises
    formulas and replaces control and bidi characters (issue 22)."""
    rows = [
        {"name": "=cmd|' /C calc'!A0", "size": 3, "verdicts": {"spam": "PASS"}, "sender": None},
        {"name": " +1", "size": 0, "verdicts": {}, "sender": "a\u202eb\nc@x.test"},
        {"name": "@sum", "size": 1, "authenticated": True, "sender": "\tx"},
    ]
    fields = ("name", "size", "verdicts", "sender", "authenticated")
    text = exports.csv_text(rows, fields)
    assert text == (
        "name,size,verdicts,sender,authenticated\n"
        '\'=cmd|\' /C calc\'!A0,3,"{""spam"": ""PASS""}",,\n'
        "' +1,0,{},a\ufffdb c@x.test,\n"
        "'@sum,1,,'\ufffdx,True\n"
    )
