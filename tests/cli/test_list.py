"""`mailroom list`: newest first, filtered by sender, case and dates, as a table or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta

from mailroom.model import FileRecord
from tests.cli.conftest import Stack, hours_ago, iso, run


def _ids(result_stdout: str) -> list[str]:
    return [item["file_id"] for item in json.loads(result_stdout)]


def _days_ago(days: int, hour: int = 12) -> str:
    day = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return iso(day - timedelta(days=days))


def test_list_json_is_every_file_newest_first_with_exactly_the_record_fields(stack: Stack) -> None:
    # GIVEN files received over three days
    old = stack.add_file("m-old", "old.pdf", received_at=_days_ago(2))
    new = stack.add_file("m-new", "new.pdf", received_at=hours_ago(0.1))
    mid = stack.add_file("m-mid", "mid.pdf", received_at=_days_ago(1))

    # WHEN listing as JSON
    result = run("list", "--json")

    # THEN newest first, each object exactly a FileRecord
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)
    assert [i["file_id"] for i in items] == [new.file_id, mid.file_id, old.file_id]
    assert all(set(i) == {f.name for f in fields(FileRecord)} for i in items)
    assert items[0] == asdict(new)
    assert FileRecord(**items[2]) == old


def test_list_empty_is_an_empty_json_array(stack: Stack) -> None:
    result = run("list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_list_by_sender_is_case_insensitive_and_excludes_others(stack: Stack) -> None:
    a1 = stack.add_file("m1", "a1.pdf", received_at=hours_ago(3), sender="alice@client.com")
    stack.add_file("m2", "b.pdf", received_at=hours_ago(2), sender="bob@client.com")
    a2 = stack.add_file("m3", "a2.pdf", received_at=hours_ago(1), sender="alice@client.com")

    result = run("list", "--sender", "Alice@Client.com", "--json")

    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == [a2.file_id, a1.file_id]


def test_list_by_case_and_by_case_and_sender(stack: Stack) -> None:
    c1 = stack.add_file("m1", "c1.pdf", received_at=hours_ago(3), case="case-42")
    c2 = stack.add_file(
        "m2", "c2.pdf", received_at=hours_ago(2), case="case-42", sender="bob@client.com"
    )
    stack.add_file("m3", "other.pdf", received_at=hours_ago(1), case="case-7")

    by_case = run("list", "--case", "case-42", "--json")
    both = run("list", "--case", "CASE-42", "--sender", "bob@client.com", "--json")

    assert _ids(by_case.stdout) == [c2.file_id, c1.file_id]
    assert _ids(both.stdout) == [c2.file_id]


def test_list_since_until_are_inclusive_utc_days(stack: Stack) -> None:
    d0 = stack.add_file("m0", "today.pdf", received_at=_days_ago(0, hour=0))
    d1 = stack.add_file("m1", "yesterday.pdf", received_at=_days_ago(1))
    d3 = stack.add_file("m3", "three.pdf", received_at=_days_ago(3))
    today = datetime.now(UTC).date()

    since = run("list", "--since", "yesterday", "--json")
    until = run("list", "--until", (today - timedelta(days=1)).isoformat(), "--json")
    window = run("list", "--since", "3d", "--until", "2d", "--json")
    by_sender = run("list", "--sender", "client@example.com", "--since", "today", "--json")

    assert _ids(since.stdout) == [d0.file_id, d1.file_id]
    assert _ids(until.stdout) == [d1.file_id, d3.file_id]
    assert _ids(window.stdout) == [d3.file_id]
    assert _ids(by_sender.stdout) == [d0.file_id]


def test_list_limit_keeps_the_newest(stack: Stack) -> None:
    records = [
        stack.add_file(f"m{i}", f"f{i}.pdf", received_at=hours_ago(10 - i)) for i in range(5)
    ]

    result = run("list", "--limit", "2", "--json")

    assert _ids(result.stdout) == [records[4].file_id, records[3].file_id]
    assert run("list", "--limit", "0").exit_code == 2


def test_list_bad_date_is_a_usage_error_on_stderr(stack: Stack) -> None:
    result = run("list", "--since", "last tuesday")

    assert result.exit_code == 2
    assert "'last tuesday' is not a date" in result.stderr
    assert "YYYY-MM-DD" in result.stderr
    assert result.stdout == ""


def test_list_since_after_until_is_a_usage_error(stack: Stack) -> None:
    result = run("list", "--since", "2026-03-02", "--until", "2026-03-01")

    assert result.exit_code == 2
    assert "the start 2026-03-02 is after the end 2026-03-01" in result.stderr
    assert "--since" in result.stderr


def test_list_table_shows_forwarded_sender_size_type_and_id(stack: Stack) -> None:
    record = stack.add_file(
        "m1",
        "Relevé de compte.pdf",
        received_at=hours_ago(1),
        sender="staff@firm.com",
        original_sender="client@example.com",
        case="case-42",
        body=b"x" * 2500,
    )

    result = run("list")

    assert result.exit_code == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split() == [*("RECEIVED", "SENDER", "NAME", "SIZE", "TYPE", "CASE", "FILE", "ID")]
    assert "client@example.com via staff@firm.com" in row
    assert "Relevé de compte.pdf" in row
    assert "2.5 kB" in row
    assert " pdf " in row
    assert "case-42" in row
    assert row.endswith(record.file_id)


def test_list_with_nothing_found_says_so_on_stderr(stack: Stack) -> None:
    result = run("list", "--sender", "nobody@example.com")

    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no files found" in result.stderr


def test_list_without_a_range_is_all_time_newest_first(stack: Stack) -> None:
    # GIVEN files spread over years, several per day on some days
    ages = [0, 0, 1, 3, 10, 40, 41, 200, 365, 400, 3000]
    records = [
        stack.add_file(f"m{i}", f"f{i}.pdf", received_at=_days_ago(age, hour=1 + i))
        for i, age in enumerate(ages)
    ]
    expected = [r.file_id for r in sorted(records, key=lambda r: r.received_at, reverse=True)]

    # THEN all of them newest first, and --limit stops at the right file
    assert _ids(run("list", "--json").stdout) == expected
    assert _ids(run("list", "--limit", "6", "--json").stdout) == expected[:6]
    assert _ids(run("list", "--since", "401d", "--until", "399d", "--json").stdout) == [
        expected[-2]
    ]


def test_list_says_on_stderr_when_the_limit_cut_the_list(stack: Stack) -> None:
    for i in range(3):
        stack.add_file(f"m{i}", f"f{i}.pdf", received_at=hours_ago(i + 1))

    cut = run("list", "--limit", "2")
    whole = run("list", "--limit", "3", "--json")

    assert "the newest 2 files; there are more: --limit N" in cut.stderr
    assert len(cut.stdout.splitlines()) == 3  # header and two files
    assert whole.stderr == ""
