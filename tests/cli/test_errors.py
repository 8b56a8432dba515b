"""Errors: one line on stderr and a non-zero exit; the traceback only with --debug."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cli.conftest import Stack, run


def test_an_aws_error_is_one_line_without_a_traceback(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_TABLE", "no-such-table")

    result = run("list")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "ResourceNotFoundException" in result.stderr or "not found" in result.stderr
    assert "run with --debug for details" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOM_TABLE", "no-such-table")

    result = run("--debug", "list")

    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "botocore" in result.stderr


def test_an_unknown_profile_is_named(stack: Stack) -> None:
    result = run("--profile", "does-not-exist", "list")

    assert result.exit_code == 1
    assert "does-not-exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2() -> None:
    assert run("no-such-command").exit_code == 2
    assert run("show").exit_code == 2
    assert run("list", "--limit", "many").exit_code == 2


def test_help_needs_no_configuration() -> None:
    result = run("--help")

    assert result.exit_code == 0
    for command in (
        *("list", "show", "message", "messages", "duplicates", "get", "url", "upload"),
        *("inspect", "config", "stats", "cases", "completion", "local", "demo"),
    ):
        assert command in result.stdout


def test_importing_the_cli_loads_neither_boto3_nor_rich() -> None:
    # `mailroom --help` and `mailroom inspect` must start fast; heavy imports wait for use.
    code = (
        "import sys, mailroom.cli.main; "
        "print(sorted(m for m in ('boto3', 'botocore', 'rich', 'moto') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
