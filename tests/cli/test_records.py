"""`show`, `message`, `duplicates` and `messages`: single records and the other access patterns."""

from __future__ import annotations

import json
from dataclasses import asdict

from mailroom.policy import Outcome
from tests.cli.conftest import Stack, hours_ago, run


def test_show_json_is_the_file_record(stack: Stack) -> None:
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), case="case-1")

    result = run("show", record.file_id, "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == asdict(record)


def test_show_text_lists_the_fields(stack: Stack) -> None:
    record = stack.add_file(
        "m1", "report.pdf", received_at=hours_ago(1), original_sender="client@example.com"
    )

    result = run("show", record.file_id)

    assert result.exit_code == 0, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["filename"].strip() == "report.pdf"
    assert lines["sha256"].strip() == record.sha256
    assert "client@example.com" in result.stdout
    assert "not authenticated" in result.stdout


def test_show_unknown_file_exits_1_with_the_reason_on_stderr(stack: Stack) -> None:
    result = run("show", "incoming/nope/01-x.pdf")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no file with id 'incoming/nope/01-x.pdf'" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_hints_at_the_id_shape_when_given_something_else(stack: Stack) -> None:
    result = run("show", "0123abcd")

    assert result.exit_code == 1
    assert "file ids are object keys like incoming/" in result.stderr


def test_message_json_has_the_record_and_its_files(stack: Stack) -> None:
    # GIVEN a forwarded message with two files
    msg = stack.add_message(
        "msg-1",
        received_at=hours_ago(1),
        envelope_sender="staff@firm.com",
        from_address="staff@firm.com",
        recipients=["submit+case-9@docs.example.com"],
        case="case-9",
        subject="Fwd: statements",
        verdicts={"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"},
        attachment_count=2,
        original_sender="client@example.com",
        original_sender_via="attached-message",
        warnings=["part 1.3: missing close boundary"],
    )
    f1 = stack.add_file("msg-1", "a.pdf", received_at=hours_ago(1), index=1)
    f2 = stack.add_file("msg-1", "b.pdf", received_at=hours_ago(1), index=2)
    stack.add_file("msg-2", "other.pdf", received_at=hours_ago(1))

    # WHEN
    result = run("message", "msg-1", "--json")

    # THEN
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["message"] == json.loads(json.dumps(asdict(msg)))
    assert data["message"]["outcome"] == "extracted"
    assert [f["file_id"] for f in data["files"]] == [f1.file_id, f2.file_id]


def test_message_text_shows_outcome_verdicts_and_files(stack: Stack) -> None:
    stack.add_message(
        "msg-q",
        received_at=hours_ago(1),
        outcome=Outcome.QUARANTINED,
        from_address="bad@example.net",
        verdicts={"spam": "PASS", "virus": "FAIL"},
        reason="virus verdict FAIL",
        recipients=["submit@docs.example.com"],
    )

    result = run("message", "msg-q")

    assert result.exit_code == 0, result.stderr
    assert "quarantined" in result.stdout
    assert "virus=FAIL" in result.stdout
    assert "virus verdict FAIL" in result.stdout
    assert "submit@docs.example.com" in result.stdout


def test_message_of_an_upload_has_files_but_no_record(stack: Stack) -> None:
    f = stack.add_file("up-20260101-abc", "scan.pdf", received_at=hours_ago(1), sender=None)

    result = run("message", "up-20260101-abc", "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "message": None,
        "files": [asdict(f)],
        "held": [],
        "upload": True,
    }


def test_message_unknown_exits_1(stack: Stack) -> None:
    result = run("message", "nope")

    assert result.exit_code == 1
    assert "no message with id 'nope'" in result.stderr


def test_duplicates_by_file_id_and_by_sha256(stack: Stack) -> None:
    same = b"%PDF-1.4 the same contract\n"
    first = stack.add_file("m1", "contract.pdf", received_at=hours_ago(5), body=same)
    second = stack.add_file("m2", "contract (1).pdf", received_at=hours_ago(1), body=same)
    stack.add_file("m3", "other.pdf", received_at=hours_ago(2), body=b"different")

    by_id = run("duplicates", first.file_id, "--json")
    by_hash = run("duplicates", "--sha256", first.sha256.upper(), "--json")

    assert by_id.exit_code == 0, by_id.stderr
    # a file is not its own duplicate; by hash, every copy is listed
    assert [f["file_id"] for f in json.loads(by_id.stdout)] == [second.file_id]
    assert [f["file_id"] for f in json.loads(by_hash.stdout)] == [second.file_id, first.file_id]


def test_duplicates_needs_exactly_one_of_id_or_hash(stack: Stack) -> None:
    neither = run("duplicates")
    both = run("duplicates", "incoming/x/01-a", "--sha256", "0" * 64)
    bad_hash = run("duplicates", "--sha256", "xyz")
    unknown = run("duplicates", "incoming/x/01-a")

    assert neither.exit_code == 2
    assert both.exit_code == 2
    assert bad_hash.exit_code == 2
    assert "64 hexadecimal digits" in bad_hash.stderr
    assert unknown.exit_code == 1


def test_messages_by_outcome_newest_first_with_limit(stack: Stack) -> None:
    stack.add_message("f-old", received_at=hours_ago(30), outcome=Outcome.FAILED, reason="boom")
    stack.add_message("f-new", received_at=hours_ago(0.01), outcome=Outcome.FAILED, reason="bang")
    stack.add_message("ok", received_at=hours_ago(2), outcome=Outcome.EXTRACTED)

    everything = run("messages", "--outcome", "failed", "--json")
    limited = run("messages", "--outcome", "failed", "--limit", "1", "--json")
    today = run("messages", "--outcome", "failed", "--since", "today")

    assert [m["message_id"] for m in json.loads(everything.stdout)] == ["f-new", "f-old"]
    assert [m["message_id"] for m in json.loads(limited.stdout)] == ["f-new"]
    assert "f-new" in today.stdout
    assert "bang" in today.stdout


def test_messages_rejects_an_unknown_outcome(stack: Stack) -> None:
    result = run("messages", "--outcome", "lost")

    assert result.exit_code == 2
    assert "'lost' is not one of" in result.stderr


def test_duplicates_and_messages_as_text(stack: Stack) -> None:
    same = b"twice"
    a = stack.add_file("m1", "a.pdf", received_at=hours_ago(2), body=same)
    b = stack.add_file("m2", "b.pdf", received_at=hours_ago(1), body=same)
    stack.add_message(
        "m-rej", received_at=hours_ago(1), outcome=Outcome.REJECTED, reason="domain not allowed"
    )

    dupes = run("duplicates", a.file_id)
    rejected = run("messages", "--outcome", "rejected")
    none = run("messages", "--outcome", "failed")

    assert [line.split()[-1] for line in dupes.stdout.splitlines()[1:]] == [b.file_id]
    assert "m-rej" in rejected.stdout
    assert "domain not allowed" in rejected.stdout
    assert none.stdout == ""
    assert "no failed messages" in none.stderr
