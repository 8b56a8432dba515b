"""Issue 22: `mailroom export --with-raw` is for admins and needs the stack's export function.

Whether a person may invoke the function is IAM's decision (the admin policy grants it;
tests/infra/test_stack.py evaluates the reader's and uploader's documents as refusing it).
moto does not evaluate IAM for Lambda, so the refusal AWS answers is injected at the one call
the CLI makes; the CLI must then name the flag as an admin's and write nothing.
Through `mailroom local`, where the function runs: tests/e2e/test_smtp_to_cli.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mailroom.adapters.lambda_invoke import LambdaInvoker
from tests.cli.conftest import Stack, run, stack  # noqa: F401


def test_a_refused_invoke_says_with_raw_is_for_admins_and_writes_nothing(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAILROOM_EXPORT_FUNCTION", "mailroom-test-export-case")
    asked: list[Any] = []

    def refuse(self: LambdaInvoker, function: str, event: Any) -> None:
        asked.append((function, event))
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "Invoke"
        )

    monkeypatch.setattr(LambdaInvoker, "invoke_async", refuse)
    out = tmp_path / "full.zip"
    result = run("export", "--case", "matter-7", "--with-raw", str(out))
    assert result.exit_code != 0
    assert "--with-raw is for admins" in result.output
    assert "mailroom-test-export-case" in result.output
    [(function, event)] = asked
    assert function == "mailroom-test-export-case"
    assert event["job"]["with_raw"] is True and event["job"]["requested_via"] == "cli"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "work"]


def test_with_raw_needs_the_export_function_and_refuses_another_key(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "full.zip"
    missing = run("export", "--case", "matter-7", "--with-raw", str(out))
    assert missing.exit_code == 2
    assert "no export function configured" in missing.output
    keyed = run("export", "--case", "matter-7", "--with-raw", "--key-id", "k", str(out))
    assert keyed.exit_code == 2
    assert "leave out --key-id" in keyed.output
    assert not out.exists()
