"""The CLI reports what it does as client entries; `mailroom audit` reads the trail (issue 22)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import boto3
import pytest

from mailroom.adapters.catalog import AuditTrail
from mailroom.audit import Target
from mailroom.usecases.audit import record_action
from tests.cli.conftest import TABLE, Stack, hours_ago, run

FILE = "incoming/m1/01-a.pdf"


@pytest.fixture
def me() -> str:
    """The principal ARN the emulator's STS answers for the test's credentials."""
    return str(boto3.client("sts").get_caller_identity()["Arn"])


@pytest.fixture
def seeded(stack: Stack) -> Stack:
    at = hours_ago(2)
    stack.add_message("m1", received_at=at, from_address="client@example.com")
    stack.add_file("m1", "a.pdf", received_at=at, case="case-7")
    return stack


def test_each_cli_action_reports_one_client_entry_naming_the_caller(
    seeded: Stack, me: str, tmp_path: Path
) -> None:
    for args in (
        ("list", "--case", "case-7", "--json"),
        ("list", "--case", "case-7", "--json"),  # the same minute: one entry
        ("show", FILE, "--json"),
        ("get", FILE, "--output", str(tmp_path / "a.pdf")),
        ("url", FILE),
        ("file", "m1", "--case", "case-9"),
        ("delete", FILE, "--yes"),
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)

    result = run("audit", "--file", FILE, "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert sorted(e["action"] for e in entries) == ["delete", "download", "refile", "show", "url"]
    assert {(e["actor"], e["origin"], e["reported_by"]) for e in entries} == {(me, "cli", "client")}
    listings = json.loads(run("audit", "--who", me, "--action", "list", "--json").stdout)
    got = [(e["target"]["id"], json.dumps(e["details"])) for e in listings]
    assert got[0] == ("audit", json.dumps({"filters": {"file": FILE}}))  # reading it is on it
    # two identical listings: one entry (two only if a minute began between them)
    assert got[1:] in ([("files", json.dumps({"filters": {"case": "case-7"}}))] * n for n in (1, 2))


def test_audit_csv_is_safe_to_open_in_a_spreadsheet(seeded: Stack) -> None:
    trail = AuditTrail(seeded.ddb, TABLE, retention_days=365)
    record_action(
        trail,
        actor='=HYPERLINK("http://evil.example")',
        action="download",
        target=Target.file(FILE),
        origin="cli",
        reported_by="client",
        details={"reason": "+1 cmd"},
    )
    result = run("audit", "--format", "csv")
    assert result.exit_code == 0, result.output
    [row, *_] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["actor"].startswith("'=")
    assert row["target_id"] == FILE and row["reported_by"] == "client"
    table = run("audit")
    assert "download" in table.stdout and "file:" + FILE in table.stdout


def test_a_trail_that_cannot_be_written_is_a_note_and_the_command_succeeds(
    seeded: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: AuditTrail, entry: object) -> bool:
        raise RuntimeError("AccessDenied")

    monkeypatch.setattr(AuditTrail, "append", broken)
    result = run("get", FILE, "--output", str(tmp_path / "a.pdf"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    assert "audit entry not written (RuntimeError: AccessDenied)" in result.stderr


def test_audit_refuses_a_bad_action() -> None:
    result = run("audit", "--action", "peek")
    assert result.exit_code == 2
    assert "peek" in result.output
