"""`mailroom inspect`: the Lambda's extraction on local files, no AWS, per the JSON contract."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from tests.cli.conftest import run
from tests.unit.test_extract_report import ATTACHMENT_KEYS
from tests.unit.test_extract_report import KEYS as CONTRACT_KEYS

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


def eml(subject: str = "Statements", sender: str = "Alice Client <alice@client.example>") -> bytes:
    body = base64.encodebytes(PDF).decode("ascii")
    return (
        f"From: {sender}\r\n"
        "To: submit@docs.example.com\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <abc@client.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Please find attached.\r\n"
        "--b1\r\n"
        'Content-Type: application/pdf; name="=?utf-8?q?Relev=C3=A9_mars.pdf?="\r\n'
        "Content-Disposition: attachment; filename*=utf-8''Relev%C3%A9%20mars.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{body}"
        "--b1--\r\n"
    ).encode("ascii")


@pytest.fixture
def mail(tmp_path: Path) -> Path:
    path = tmp_path / "statements.eml"
    path.write_bytes(eml())
    return path


def test_one_path_prints_one_pretty_object_per_the_contract(mail: Path, cli_env: Path) -> None:
    result = run("inspect", str(mail), "--json")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("{\n")
    report = json.loads(result.stdout)
    assert set(report) == CONTRACT_KEYS
    assert report["path"] == str(mail)
    assert report["sender"] == "alice@client.example"
    assert report["sender_name"] == "Alice Client"
    assert report["subject"] == "Statements"
    [attachment] = report["attachments"]
    assert set(attachment) == ATTACHMENT_KEYS
    assert attachment["filename"] == "Relevé mars.pdf"
    assert attachment["size"] == len(PDF)
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert attachment["content_type"] == "application/pdf"
    assert attachment["inline"] is False


def test_several_paths_print_json_lines_and_non_email_still_gives_an_object(
    mail: Path, tmp_path: Path, cli_env: Path
) -> None:
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not an email at all \x00\x01")
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")

    result = run("inspect", str(mail), str(junk), str(empty), "--json")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    reports = [json.loads(line) for line in lines]
    assert [r["path"] for r in reports] == [str(mail), str(junk), str(empty)]
    assert all(set(r) == CONTRACT_KEYS for r in reports)
    assert reports[1]["attachments"] == []
    assert reports[1]["warnings"]


def test_an_unreadable_path_is_an_error_but_the_others_are_still_done(
    mail: Path, tmp_path: Path, cli_env: Path
) -> None:
    missing = tmp_path / "missing.eml"

    result = run("inspect", str(missing), str(mail), str(tmp_path), "--json")

    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert json.loads(line)["path"] == str(mail)
    assert f"cannot read {missing}" in result.stderr
    assert f"cannot read {tmp_path}" in result.stderr


def test_envelope_sender_is_the_fallback_sender(tmp_path: Path, cli_env: Path) -> None:
    path = tmp_path / "nofrom.eml"
    path.write_bytes(b"Subject: no from\r\n\r\nhello\r\n")

    result = run("inspect", str(path), "--envelope-sender", "Bounce@Example.com", "--json")

    assert json.loads(result.stdout)["sender"] == "bounce@example.com"


def test_format_table_is_a_readable_summary(mail: Path, cli_env: Path) -> None:
    result = run("inspect", str(mail), "--format", "table")

    assert result.exit_code == 0, result.stderr
    assert "alice@client.example" in result.stdout
    assert "Relevé mars.pdf" in result.stdout
    assert hashlib.sha256(PDF).hexdigest()[:12] in result.stdout


def test_inspect_touches_no_aws(mail: Path, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No bucket, no table, no credentials, an unreachable endpoint: inspect does not care.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")

    assert run("inspect", str(mail), "--json").exit_code == 0


def test_many_paths_in_one_invocation(mail: Path, tmp_path: Path, cli_env: Path) -> None:
    paths = []
    for i in range(300):
        path = tmp_path / f"m{i}.eml"
        path.write_bytes(eml(subject=f"n{i}"))
        paths.append(str(path))

    result = run("inspect", *paths, "--json")

    assert result.exit_code == 0
    subjects = [json.loads(line)["subject"] for line in result.stdout.splitlines()]
    assert subjects == [f"n{i}" for i in range(300)]


def test_json_is_the_default_as_the_help_says(mail: Path, cli_env: Path) -> None:
    default = run("inspect", str(mail))
    explicit = run("inspect", str(mail), "--json")
    helped = run("inspect", "--help")

    assert default.exit_code == 0, default.stderr
    assert json.loads(default.stdout) == json.loads(explicit.stdout)
    assert "as JSON" in " ".join(helped.stdout.split())
