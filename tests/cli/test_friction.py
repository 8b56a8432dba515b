"""Rough edges a new user hit (issue 19): each behaviour as the person at the terminal sees it."""

from __future__ import annotations

import dataclasses
import json

from mailroom.policy import Outcome
from mailroom.usecases.messages import is_upload_id
from mailroom.usecases.uploads import new_upload_id
from tests.cli.conftest import Stack, run

UPLOAD = "up-20261205-1a2b3c4d5e"


def test_messages_says_when_it_stops_before_the_end(stack: Stack) -> None:
    for n in range(4):
        stack.add_message(f"m{n}", received_at=f"2026-11-2{n}T10:00:00.000Z")

    cut = run("messages", "--limit", "3")
    cut_json = run("messages", "--limit", "3", "--json")
    whole = run("messages", "--limit", "4")

    assert cut.exit_code == 0, cut.output
    assert "the newest 3 messages; there are more: --limit N" in cut.stderr
    assert len(json.loads(cut_json.stdout)) == 3  # stdout stays data
    assert "there are more" in cut_json.stderr  # a script's user is told too
    assert "there are more" not in whole.stderr


def test_list_says_when_it_stops_before_the_end_in_every_format(stack: Stack) -> None:
    for n in range(3):
        stack.add_file(f"m{n}", "a.pdf", received_at=f"2026-11-2{n}T10:00:00.000Z")

    cut = run("list", "--limit", "2", "--format", "csv")

    assert len(cut.stdout.splitlines()) == 3  # header and two rows
    assert "the newest 2 files; there are more" in cut.stderr


def test_show_says_a_file_was_deleted_and_by_whom(stack: Stack) -> None:
    record = stack.add_file("m1", "wrong.pdf", received_at="2026-11-20T10:00:00.000Z")
    stack.catalog.put_file(
        dataclasses.replace(
            record,
            deleted=True,
            deleted_by="staff@firm.example",
            deleted_at="2026-11-21T09:30:05.000Z",
        )
    )

    shown = run("show", record.file_id)

    assert shown.exit_code == 0, shown.output
    lines = dict(line.split(None, 1) for line in shown.stdout.splitlines())
    assert lines["deleted"] == "yes, 2026-11-21 09:30:05Z by staff@firm.example"
    assert (
        "deleted"
        not in run(
            "show", stack.add_file("m2", "ok.pdf", received_at="2026-11-20T10:00:00.000Z").file_id
        ).stdout
    )


def test_stats_by_outcome_has_no_size_it_does_not_know(stack: Stack) -> None:
    stack.add_message("m1", received_at="2026-11-20T10:00:00.000Z")
    stack.add_message("m2", received_at="2026-11-21T10:00:00.000Z", outcome=Outcome.FAILED)

    table = run("stats", "--by", "outcome")
    rows = json.loads(run("stats", "--by", "outcome", "--json").stdout)
    csv = run("stats", "--by", "outcome", "--format", "csv")

    assert table.stdout.splitlines()[0].split() == ["OUTCOME", "MESSAGES", "LAST"]
    assert " B " not in table.stdout and not table.stdout.rstrip().endswith(" B")
    assert rows == [
        {"outcome": "extracted", "messages": 1, "last": "2026-11-20T10:00:00.000Z"},
        {"outcome": "failed", "messages": 1, "last": "2026-11-21T10:00:00.000Z"},
    ]
    assert csv.stdout.splitlines()[0] == "outcome,messages,last"


def test_message_understands_the_upload_id_the_upload_hint_names(stack: Stack) -> None:
    for n, name in enumerate(["scan 1.pdf", "scan 2.pdf"], start=1):
        record = stack.add_file(
            UPLOAD, name, received_at="2026-12-05T11:50:07.000Z", index=n, case="case-42"
        )
        stack.catalog.put_file(
            dataclasses.replace(record, source="upload", sender="reception@firm.example")
        )

    shown = run("message", UPLOAD, "--wide")
    as_json = json.loads(run("message", UPLOAD, "--json").stdout)
    missing = run("message", "up-20261205-ffffffffff")

    assert shown.exit_code == 0, shown.output
    assert "no message record" not in shown.output
    fields = dict(line.split("  ", 1) for line in shown.stdout.split("\n\n")[0].splitlines())
    assert {k.strip(): v.strip() for k, v in fields.items()} == {
        "upload id": UPLOAD,
        "uploaded": "2026-12-05 11:50:07Z",
        "uploaded by": "reception@firm.example",
        "case": "case-42",
        "files": "2 (an upload: no email message)",
    }
    # --wide: one line per file, its id last and whole
    listed = shown.stdout.split("\n\n")[1].splitlines()
    assert len(listed) == 3 and listed[1].endswith(f"incoming/{UPLOAD}/01-scan 1.pdf")
    assert as_json["upload"] is True and as_json["message"] is None
    assert missing.exit_code == 1
    assert "no file of upload 'up-20261205-ffffffffff' is recorded (yet" in missing.stderr


def test_upload_ids_are_recognised_and_nothing_else_is() -> None:
    assert is_upload_id(new_upload_id())
    assert not is_upload_id("o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81")
    assert not is_upload_id("imp-62a7688b68eadc2066450c8c0da87bdb")


def test_message_takes_wide_like_every_listing(stack: Stack) -> None:
    stack.add_message("m1", received_at="2026-11-20T10:00:00.000Z", file_ids=[])
    stack.add_file("m1", "a.pdf", received_at="2026-11-20T10:00:00.000Z")

    shown = run("message", "m1", "--wide")

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.rstrip().endswith("incoming/m1/01-a.pdf")
