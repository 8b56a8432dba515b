"""The Lambda stand-in's pieces that need no emulator: context, log sink, environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailroom.local.runner import FunctionLog, LambdaContext, _environ


def test_the_context_counts_down_from_the_function_timeout() -> None:
    context = LambdaContext("f", "arn:aws:lambda:eu-west-1:123456789012:function:f", timeout_s=60)
    remaining = context.get_remaining_time_in_millis()
    assert 0 < remaining <= 60_000
    assert context.aws_request_id
    assert LambdaContext("f", "arn", timeout_s=0).get_remaining_time_in_millis() == 0


def test_the_function_log_goes_to_its_file_and_survives_close(tmp_path: Path) -> None:
    log = FunctionLog(tmp_path / "logs" / "functions.log")
    log.write('{"level":"INFO"}\n')
    log.close()
    log.write("after close: dropped, no error\n")
    log.flush()
    assert (tmp_path / "logs" / "functions.log").read_text() == '{"level":"INFO"}\n'


def test_the_function_log_is_shown_when_verbose(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    FunctionLog(None, verbose=True).write("shown\n")
    FunctionLog(None).write("hidden\n")
    assert capfd.readouterr().err == "shown\n"


def test_the_environment_is_applied_then_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOM_TEST_KEPT", "before")
    monkeypatch.setenv("MAILROOM_TEST_UNSET", "present")
    monkeypatch.delenv("MAILROOM_TEST_NEW", raising=False)
    with _environ(
        {"MAILROOM_TEST_KEPT": "during", "MAILROOM_TEST_NEW": "new", "MAILROOM_TEST_UNSET": None}
    ):
        assert os.environ["MAILROOM_TEST_KEPT"] == "during"
        assert os.environ["MAILROOM_TEST_NEW"] == "new"
        assert "MAILROOM_TEST_UNSET" not in os.environ
    assert os.environ["MAILROOM_TEST_KEPT"] == "before"
    assert "MAILROOM_TEST_NEW" not in os.environ
    assert os.environ["MAILROOM_TEST_UNSET"] == "present"
