"""Issue 22: `mailroom quarantine` lists held messages with why and their verdicts (a Query on
the outcome index); `mailroom release` refuses what it must before invoking anything (the
invoke and what the function does: tests/integration/test_release.py, tests/e2e/
test_local_release.py)."""

from __future__ import annotations

import json

from mailroom.policy import Outcome
from tests.cli.conftest import Stack, hours_ago, run

VERDICTS = {"spam": "FAIL", "virus": "PASS", "spf": "PASS", "dkim": "GRAY", "dmarc": "FAIL"}


def seed(stack: Stack) -> None:
    stack.add_message(
        "held-1",
        received_at=hours_ago(30),
        outcome=Outcome.QUARANTINED,
        reason="spam verdict FAIL",
        verdicts=VERDICTS,
        from_address="promo@bulk.example",
        file_count=2,
    )
    stack.add_message(
        "held-2",
        received_at=hours_ago(1),
        outcome=Outcome.QUARANTINED,
        reason="virus verdict FAIL",
        verdicts={**VERDICTS, "spam": "PASS", "virus": "FAIL"},
        from_address="client@example.com",
        file_count=1,
    )
    stack.add_message("fine", received_at=hours_ago(2), from_address="client@example.com")


def test_quarantine_lists_held_messages_newest_first_with_why(stack: Stack) -> None:
    seed(stack)
    result = run("quarantine")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "MESSAGE",
        "ID",
        "RECEIVED",
        "FROM",
        "FILES",
        "HELD",
        "FOR",
        "VERDICTS",
    ]
    assert lines[1].startswith("held-2") and "virus verdict FAIL" in lines[1]
    assert "virus=FAIL" in lines[1] and "client@example.com" in lines[1]
    assert lines[2].startswith("held-1") and "spam=FAIL" in lines[2] and "dmarc=FAIL" in lines[2]
    assert len(lines) == 3  # "fine" is not held

    listed = json.loads(run("quarantine", "--json").stdout)
    assert [(m["message_id"], m["reason"]) for m in listed["messages"]] == [
        ("held-2", "virus verdict FAIL"),
        ("held-1", "spam verdict FAIL"),
    ]
    assert listed["messages"][0]["verdicts"]["virus"] == "FAIL"
    since = json.loads(run("quarantine", "--json", "--since", "today").stdout)
    assert [m["message_id"] for m in since["messages"]] == ["held-2"]
    page = json.loads(run("quarantine", "--json", "--limit", "1").stdout)
    assert len(page["messages"]) == 1 and page["next"]


def test_quarantine_says_when_nothing_is_held(stack: Stack) -> None:
    result = run("quarantine")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no quarantined messages" in result.stderr


def test_release_refuses_before_invoking_anything(stack: Stack) -> None:
    seed(stack)
    function = ("--extract-function", "mailroom-test-extract-attachments")
    virus = run("release", "held-2", "--reason", "fine", *function)
    assert virus.exit_code == 2
    assert "virus verdict is FAIL" in virus.stderr and "--allow-virus" in virus.stderr
    empty = run("release", "held-1", "--reason", "   ", *function)
    assert empty.exit_code == 2 and "reason is empty" in empty.stderr
    control = run("release", "held-1", "--reason", "a\x1b[2Jb", *function)
    assert control.exit_code == 2 and "U+001B" in control.stderr
    not_held = run("release", "fine", "--reason", "x", *function)
    assert not_held.exit_code == 2 and "is extracted, not quarantined" in not_held.stderr
    missing = run("release", "nope", "--reason", "x", *function)
    assert missing.exit_code == 1 and "no message with id 'nope'" in missing.stderr
    no_function = run("release", "held-1", "--reason", "x")
    assert no_function.exit_code == 2 and "--extract-function" in no_function.stderr
    record = stack.catalog.get_message("held-1")[0]
    assert record is not None and record.outcome == "quarantined"
