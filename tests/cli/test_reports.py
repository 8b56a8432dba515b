"""`stats` and `cases`: counts over a range, in every format."""

from __future__ import annotations

import json

from mailroom.policy import Outcome
from tests.cli.conftest import Stack, run


def _fill(stack: Stack) -> None:
    stack.add_file(
        "m1",
        "a.pdf",
        received_at="2026-10-03T10:00:00.000Z",
        case="case-1",
        sender="staff@firm.example",
        original_sender="carol@origin.example",
    )
    stack.add_file(
        "m1",
        "b.png",
        received_at="2026-10-03T10:00:00.000Z",
        index=2,
        case="case-1",
        body=b"\x89PNG\r\n\x1a\n" + b"0" * 100,
        content_type="image/png",
        sender="staff@firm.example",
        original_sender="carol@origin.example",
    )
    stack.add_file(
        "m2",
        "c.pdf",
        received_at="2026-11-20T08:00:00.000Z",
        case="case-2",
        sender="carol@origin.example",
    )
    stack.add_file("m3", "d.pdf", received_at="2026-11-21T08:00:00.000Z", sender="bob@x.example")
    stack.add_message("m1", received_at="2026-10-03T10:00:00.000Z")
    stack.add_message("m4", received_at="2026-11-21T09:00:00.000Z", outcome=Outcome.FAILED)


def test_stats_by_sender_counts_the_client_behind_a_forward(stack: Stack) -> None:
    _fill(stack)

    rows = json.loads(run("stats", "--by", "sender", "--json").stdout)

    assert rows[0]["sender"] == "carol@origin.example"
    assert rows[0]["files"] == 3
    assert rows[0]["last"] == "2026-11-20T08:00:00.000Z"
    assert {r["sender"]: r["files"] for r in rows} == {
        "carol@origin.example": 3,
        "bob@x.example": 1,
    }


def test_stats_by_day_month_type_and_outcome(stack: Stack) -> None:
    _fill(stack)

    by_day = json.loads(run("stats", "--by", "day", "--json").stdout)
    by_month = json.loads(run("stats", "--by", "month", "--since", "2026-11-01", "--json").stdout)
    by_type = json.loads(run("stats", "--by", "type", "--json").stdout)
    by_outcome = json.loads(run("stats", "--by", "outcome", "--json").stdout)

    assert [(r["day"], r["files"]) for r in by_day] == [
        ("2026-11-21", 1),
        ("2026-11-20", 1),
        ("2026-10-03", 2),
    ]
    assert [(r["month"], r["files"]) for r in by_month] == [("2026-11", 2)]
    assert {r["type"]: r["files"] for r in by_type} == {"application/pdf": 3, "image/png": 1}
    assert {r["outcome"]: r["messages"] for r in by_outcome} == {"extracted": 1, "failed": 1}


def test_stats_as_table_and_csv(stack: Stack) -> None:
    _fill(stack)

    table = run("stats", "--by", "case")
    csv = run("stats", "--by", "case", "--format", "csv")

    assert table.stdout.splitlines()[0].split() == ["CASE", "FILES", "SIZE", "LAST"]
    assert "2026-10-03 10:00Z" in table.stdout
    assert csv.stdout.splitlines()[0] == "case,files,size,last"


def test_cases_lists_tags_with_counts_and_last_activity_newest_first(stack: Stack) -> None:
    _fill(stack)

    rows = json.loads(run("cases", "--json").stdout)
    empty = run("cases", "--until", "2020-01-01")

    assert [(r["case"], r["files"], r["last"]) for r in rows] == [
        ("case-2", 1, "2026-11-20T08:00:00.000Z"),
        ("case-1", 2, "2026-10-03T10:00:00.000Z"),
    ]
    assert empty.stdout == ""
    assert "no case tags found" in empty.stderr


def test_stats_rejects_an_unknown_grouping(stack: Stack) -> None:
    result = run("stats", "--by", "weather")

    assert result.exit_code == 2
