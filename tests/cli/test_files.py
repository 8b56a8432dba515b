"""`get`, `url` and `upload`: bytes out of and into the bucket."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from mailroom.adapters.catalog import Catalog
from mailroom.adapters.s3 import KeyExists, S3Store
from mailroom.provenance import Provenance
from mailroom.usecases.recording import ObjectCreated, record_object
from tests.cli.conftest import BUCKET, Stack, hours_ago, run

BODY = bytes(range(256)) * 100


def test_get_writes_the_exact_bytes_under_the_original_name_made_safe(
    stack: Stack, cli_env: Path
) -> None:
    record = stack.add_file("m1", "../../Relevé: mars?.pdf", received_at=hours_ago(1), body=BODY)

    result = run("get", record.file_id)

    assert result.exit_code == 0, result.stderr
    written = cli_env / "Relevé_mars_.pdf"
    assert result.stdout.strip() == str(written)
    assert written.read_bytes() == BODY
    assert [p.name for p in cli_env.iterdir()] == [written.name]  # no temporary file left


def test_get_refuses_to_overwrite_unless_forced(stack: Stack, cli_env: Path) -> None:
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)
    existing = cli_env / "report.pdf"
    existing.write_bytes(b"mine")

    refused = run("get", record.file_id)
    assert refused.exit_code == 1
    assert "already exists (use --force to overwrite)" in refused.stderr
    assert existing.read_bytes() == b"mine"

    forced = run("get", record.file_id, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert existing.read_bytes() == BODY


def test_get_output_to_a_directory_a_path_and_stdout(stack: Stack, tmp_path: Path) -> None:
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)
    folder = tmp_path / "downloads"
    folder.mkdir()

    into_dir = run("get", record.file_id, "--output", str(folder))
    to_path = run("get", record.file_id, "-o", str(tmp_path / "renamed.bin"))
    to_stdout = run("get", record.file_id, "--output", "-")

    assert (folder / "report.pdf").read_bytes() == BODY
    assert into_dir.stdout.strip() == str(folder / "report.pdf")
    assert (tmp_path / "renamed.bin").read_bytes() == BODY
    assert to_path.exit_code == 0
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout_bytes == BODY


def test_get_checks_the_recorded_sha256(stack: Stack, cli_env: Path) -> None:
    # GIVEN an object replaced behind the record's back (versioning off for this key's record)
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)
    record.version_id = None
    record.sha256 = hashlib.sha256(b"something else").hexdigest()
    stack.catalog.put_file(record)

    result = run("get", record.file_id)

    assert result.exit_code == 1
    assert "do not match the recorded sha256" in result.stderr
    assert list(cli_env.iterdir()) == []


def test_get_unknown_file_and_missing_object(stack: Stack, cli_env: Path) -> None:
    gone = stack.add_file("m1", "gone.pdf", received_at=hours_ago(1), store=False)

    unknown = run("get", "incoming/nope/01-x.pdf")
    missing = run("get", gone.file_id)

    assert unknown.exit_code == 1
    assert "no file with id" in unknown.stderr
    assert missing.exit_code == 1
    assert "is gone from s3://" in missing.stderr
    assert list(cli_env.iterdir()) == []


def test_url_is_a_presigned_get_with_the_filename_and_expiry(stack: Stack) -> None:
    record = stack.add_file("m1", "Relevé mars.pdf", received_at=hours_ago(1), body=BODY)

    result = run("url", record.file_id, "--expires", "15m")

    assert result.exit_code == 0, result.stderr
    link = result.stdout.strip()
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert BUCKET in link
    assert unquote(parts.path).endswith(record.file_id)
    assert query["X-Amz-Expires"] == ["900"]
    assert query["versionId"] == [record.version_id]
    disposition = query["response-content-disposition"][0]
    assert disposition.startswith('attachment; filename="Relev_ mars.pdf"')
    assert "filename*=UTF-8''Relev%C3%A9%20mars.pdf" in disposition
    assert "expires" in result.stderr
    # and it downloads the bytes (moto answers the signed request)
    assert requests.get(link, timeout=10).content == BODY


def test_url_rejects_a_bad_or_too_long_duration(stack: Stack) -> None:
    record = stack.add_file("m1", "a.pdf", received_at=hours_ago(1))

    too_long = run("url", record.file_id, "--expires", "8d")
    malformed = run("url", record.file_id, "--expires", "soon")

    assert too_long.exit_code == 2
    assert "out of range" in too_long.stderr
    assert malformed.exit_code == 2
    assert "not a duration" in malformed.stderr


def test_upload_puts_files_in_intake_with_upload_provenance(stack: Stack, tmp_path: Path) -> None:
    # GIVEN two local files, one of them with a name that needs making safe
    first = tmp_path / "scan 1.pdf"
    first.write_bytes(BODY)
    second = tmp_path / "notes\u202etxt.exe"
    second.write_bytes(b"hello")

    # WHEN uploading them for a sender and a case
    result = run(
        "upload",
        str(first),
        str(second),
        "--sender",
        "Client <CLIENT@Example.com>",
        "--case",
        "Case-42",
        "--json",
    )

    # THEN each object sits under incoming/<upload-id>/ with provenance in its metadata
    assert result.exit_code == 0, result.stderr
    uploaded = json.loads(result.stdout)
    assert len(uploaded) == 2
    upload_id = uploaded[0]["upload_id"]
    assert upload_id.startswith("up-")
    keys = [u["file_id"] for u in uploaded]
    assert keys == [f"incoming/{upload_id}/scan 1.pdf", f"incoming/{upload_id}/notestxt.exe"]
    head = stack.s3.head_object(Bucket=BUCKET, Key=keys[0])
    provenance = Provenance.from_metadata(head["Metadata"])
    assert provenance is not None
    assert provenance.source == "upload"
    assert provenance.message_id == upload_id
    assert provenance.filename == "scan 1.pdf"
    assert provenance.sender == "client@example.com"
    assert provenance.case == "case-42"
    assert provenance.sha256 == hashlib.sha256(BODY).hexdigest()
    assert head["ContentType"] == "application/pdf"

    # AND record_metadata records it with its own provenance, found by the CLI like any file
    catalog = Catalog(stack.ddb, stack.catalog.table)
    event = ObjectCreated(keys[0], requester="AWS:AIDARECEPTION")  # the event's requester
    record_object(event, "incoming/", S3Store(stack.s3, BUCKET), catalog)
    listed = run("list", "--case", "case-42", "--json")
    [item] = json.loads(listed.stdout)
    assert item["source"] == "upload"
    assert item["sender"] == "client@example.com"
    assert item["filename"] == "scan 1.pdf"
    # the client is named by the uploader, never authenticated; the uploader is the requester
    assert (item["sender_named_by"], item["uploaded_by"]) == ("AWS:AIDARECEPTION",) * 2
    assert item["authenticated"] is None

    # AND the key is written once: a second upload to it is refused (If-None-Match)
    with pytest.raises(KeyExists):
        S3Store(stack.s3, BUCKET).upload_new(keys[0], io.BytesIO(b"other"), 5, "text/plain", {})


def test_upload_keeps_names_unique_within_an_upload(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "r.pdf").write_bytes(b"1")
    (tmp_path / "b" / "r.pdf").write_bytes(b"2")

    result = run(
        "upload",
        str(tmp_path / "a" / "r.pdf"),
        str(tmp_path / "b" / "r.pdf"),
        "--sender",
        "reception@firm.example",
    )

    assert result.exit_code == 0, result.stderr
    assert "r.pdf" in result.stdout
    assert "r-2.pdf" in result.stdout


def test_upload_validates_its_options(stack: Stack, tmp_path: Path) -> None:
    f = tmp_path / "a.pdf"
    f.write_bytes(b"1")

    assert run("upload", str(tmp_path / "missing.pdf")).exit_code == 2
    assert run("upload", str(f), "--sender", "not-an-address").exit_code == 2
    assert run("upload", str(f), "--case", "no spaces please").exit_code == 2


def test_get_with_a_progress_bar_writes_the_same_bytes(
    stack: Stack, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bar is drawn only for large files on a terminal; force it to exercise that path.
    monkeypatch.setattr("mailroom.cli.files._wants_progress", lambda record: True)
    big = BODY * 200  # 5 MB: several parts in the managed transfer
    record = stack.add_file("m1", "big.bin", received_at=hours_ago(1), body=big)

    result = run("get", record.file_id)

    assert result.exit_code == 0, result.stderr
    assert (cli_env / "big.bin").read_bytes() == big
