"""`mailroom delete` and `list --include-deleted`: the same use case as DELETE /files/{id}."""

from __future__ import annotations

import json

from tests.cli.conftest import BUCKET, Stack, hours_ago, run

KEY = "incoming/m1/01-mistake.pdf"


def listed(*extra: str) -> list[str]:
    result = run("list", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return [f["file_id"] for f in json.loads(result.stdout)]


def test_delete_asks_first_and_does_nothing_when_refused(stack: Stack) -> None:
    stack.add_file("m1", "mistake.pdf", received_at=hours_ago(2))
    result = run("delete", KEY, input="n\n")
    assert result.exit_code == 1
    assert "Delete mistake.pdf" in result.output
    assert listed() == [KEY]
    assert stack.s3.head_object(Bucket=BUCKET, Key=KEY)["ContentLength"] > 0


def test_delete_hides_the_file_and_include_deleted_shows_it(stack: Stack) -> None:
    stack.add_file("m1", "mistake.pdf", received_at=hours_ago(2))
    stack.add_file("m2", "keep.pdf", received_at=hours_ago(1))
    result = run("delete", KEY, "--by", "ann@firm.example", input="y\n")
    assert result.exit_code == 0, result.output
    assert "deleted incoming/m1/01-mistake.pdf (by ann@firm.example at" in result.output
    assert listed() == ["incoming/m2/01-keep.pdf"]
    assert listed("--include-deleted") == ["incoming/m2/01-keep.pdf", KEY]
    shown = json.loads(run("show", KEY, "--format", "json").stdout)
    assert (shown["deleted"], shown["deleted_by"]) == (True, "ann@firm.example")
    versions = stack.s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)
    assert len(versions["Versions"]) == 1 and len(versions["DeleteMarkers"]) == 1
    # Never served again, by `get` or `url`.
    for args in (("url", KEY), ("get", KEY, "-o", "out.pdf")):
        refused = run(*args)
        assert refused.exit_code == 1
        assert "was deleted by ann@firm.example" in refused.output


def test_delete_yes_and_unknown_file(stack: Stack) -> None:
    stack.add_file("m1", "mistake.pdf", received_at=hours_ago(2))
    done = run("delete", KEY, "--yes", "--format", "json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["deleted_by"].startswith("cli")
    missing = run("delete", "incoming/m1/09-nothing.pdf", "--yes")
    assert missing.exit_code == 1
    assert "no file with id" in missing.output


def test_a_deleted_file_is_marked_in_the_table(stack: Stack) -> None:
    stack.add_file("m1", "mistake.pdf", received_at=hours_ago(2))
    assert run("delete", KEY, "--yes").exit_code == 0
    table = run("list", "--include-deleted", "--wide")
    assert table.exit_code == 0, table.output
    assert "mistake.pdf (deleted)" in table.stdout
