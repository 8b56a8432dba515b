"""`messages --needs-filing`, `file`, `rules`, `rules test` (issue 21), against moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailroom.policy import Outcome
from tests.cli.conftest import Stack, hours_ago, run

RULES = {
    "default_case": "inbox",
    "rules": [
        {"name": "acme", "sender": "@acme.example", "case": "acme", "labels": ["client"]},
        {"name": "invoices", "subject": "invoice", "labels": ["billing"]},
    ],
}


def test_needs_filing_lists_only_flagged_messages_from_a_sparse_index(stack: Stack) -> None:
    stack.add_message(
        "m1", received_at=hours_ago(3), needs_filing=True, subject="[case-1] [case-2]"
    )
    stack.add_message("m2", received_at=hours_ago(2), case="case-9")
    stack.add_message("m3", received_at=hours_ago(1), needs_filing=True)
    result = run("messages", "--needs-filing", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [m["message_id"] for m in json.loads(result.stdout)] == ["m3", "m1"]
    # only flagged messages carry the index key: the Query reads exactly the rows it returns
    query = stack.ddb.query(
        TableName="mailroom-cli-test",
        IndexName="by_filing",
        KeyConditionExpression="filing_key = :v",
        ExpressionAttributeValues={":v": {"S": "needs_filing"}},
    )
    assert (query["Count"], query["ScannedCount"]) == (2, 2)
    assert run("messages", "--needs-filing", "--limit", "1", "--format", "json").exit_code == 0
    both = run("messages", "--needs-filing", "--outcome", "failed")
    assert both.exit_code == 2 and "--needs-filing takes no --outcome" in both.output


def test_filing_sets_the_case_of_the_message_and_its_files_and_records_who(stack: Stack) -> None:
    stack.add_message("m1", received_at=hours_ago(1), needs_filing=True, outcome=Outcome.EXTRACTED)
    a = stack.add_file("m1", "a.pdf", received_at=hours_ago(1), index=1)
    b = stack.add_file("m1", "b.pdf", received_at=hours_ago(1), index=2)
    result = run("file", "m1", "--case", "Case-42", "--by", "ann@firm.example")
    assert result.exit_code == 0, result.output
    assert "filed m1 under case-42 (was no case; 2 file(s); by ann@firm.example at" in result.output
    shown = json.loads(run("message", "m1", "--format", "json").stdout)
    message = shown["message"]
    assert (message["case"], message["needs_filing"], message["filed_by"]) == (
        "case-42",
        False,
        "ann@firm.example",
    )
    assert message["filed_at"].endswith("Z")
    assert {f["case"] for f in shown["files"]} == {"case-42"}
    listed = json.loads(run("list", "--case", "case-42", "--format", "json").stdout)
    assert {f["file_id"] for f in listed} == {a.file_id, b.file_id}
    table = run("message", "m1")
    assert "filed" in table.output and "by ann@firm.example at" in table.output
    empty = run("messages", "--needs-filing", "--format", "json")
    assert json.loads(empty.stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("file", "nope", "--case", "x"), "no message with id 'nope'"),
        (("file", "m1", "--case", "Not a case"), "is not a case id"),
    ],
)
def test_filing_errors(stack: Stack, args: tuple[str, ...], message: str) -> None:
    stack.add_message("m1", received_at=hours_ago(1))
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output


def test_rules_lists_a_file_and_refuses_a_bad_one(cli_env: Path) -> None:
    path = cli_env / "rules.json"
    path.write_text(json.dumps(RULES))
    result = run("rules", "--rules", str(path))
    assert result.exit_code == 0, result.output
    assert "acme" in result.output and "sender=@acme.example" in result.output
    assert "[case-{id}], Case #{id}, Ref: {id}" in result.output
    listed = json.loads(run("rules", "--rules", str(path), "--format", "json").stdout)
    assert [r["name"] for r in listed["rules"]] == ["acme", "invoices"]
    bad = cli_env / "bad.json"
    bad.write_text('{"subject_patterns": ["(.*)*"]}')
    refused = run("rules", "--rules", str(bad))
    assert refused.exit_code == 1
    assert "needs exactly one {id}" in refused.output


def eml(path: Path, subject: str, sender: str = "ann@acme.example") -> Path:
    path.write_text(f"From: Ann <{sender}>\nTo: submit@docs.example\nSubject: {subject}\n\nhello\n")
    return path


def test_rules_test_says_which_rule_applies_and_why_offline(cli_env: Path) -> None:
    rules = cli_env / "rules.json"
    rules.write_text(json.dumps(RULES))
    mail = eml(cli_env / "m.eml", "Invoice for Case #42")
    result = run("rules", "test", str(mail), "--rules", str(rules), "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["case"], out["labels"], out["level"]) == ("case-42", ["billing"], "subject")
    assert out["authenticated_sender"] is None  # never assumed offline
    # the sender rule only with --authenticated, and then below the subject
    plain = eml(cli_env / "p.eml", "hello")
    unauth = json.loads(
        run("rules", "test", str(plain), "--rules", str(rules), "--format", "json").stdout
    )
    assert unauth["case"] == "inbox"
    auth = run("rules", "test", str(plain), "--rules", str(rules), "--authenticated")
    assert auth.exit_code == 0, auth.output
    assert "acme" in auth.output and "sender: rule acme" in auth.output
    two = eml(cli_env / "t.eml", "[case-1] [case-2]")
    flagged = run("rules", "test", str(two))
    assert "NEEDS FILING" in flagged.output and "case-1, case-2" in flagged.output


def test_mailroom_local_refuses_bad_rules_before_starting_anything(cli_env: Path) -> None:
    bad = cli_env / "rules.json"
    bad.write_text('{"subject_patterns": ["Case #{id} {id}"]}')
    result = run("local", "--rules", str(bad), "--port", "0", "--endpoint-port", "0")
    assert result.exit_code == 2
    assert "--rules" in result.output and "exactly one {id}" in result.output
    assert not (cli_env.parent / "state" / "local.json").exists()
