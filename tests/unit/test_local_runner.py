"""The Lambda stand-in's sandboxes: worker processes with Lambda's timeout and memory limits.

No emulator: a sandbox is started for a test function directly (`tests/e2e/handlers.py`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailroom.local.runner import (
    FunctionLog,
    FunctionSpec,
    InvocationError,
    LambdaContext,
    _Sandbox,
)


def spec(handler: str, *, timeout_s: float = 10, memory_mb: int = 256, **env: str) -> FunctionSpec:
    return FunctionSpec(
        name="test-fn",
        arn="arn:aws:lambda:eu-west-1:123456789012:function:test-fn",
        handler=f"tests.e2e.handlers.{handler}",
        variables=tuple(sorted(env.items())),
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        dead_letter_arn=None,
    )


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[list[_Sandbox]]:
    started: list[_Sandbox] = []
    yield started
    for sandbox in started:
        sandbox.kill()


def start(sandboxes: list[_Sandbox], function: FunctionSpec, log: Path) -> _Sandbox:
    environment = {
        **os.environ,
        **dict(function.variables),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "MAILROOM_LOCAL_FUNCTION_LOG": str(log),
    }
    sandbox = _Sandbox(function, environment, str(log))
    sandboxes.append(sandbox)
    return sandbox


def context(function: FunctionSpec) -> LambdaContext:
    return LambdaContext(
        function.name, function.arn, function.memory_mb, timeout_s=function.timeout_s
    )


def test_the_context_counts_down_from_the_function_timeout() -> None:
    ctx = LambdaContext("f", "arn:aws:lambda:eu-west-1:123456789012:function:f", timeout_s=60)
    remaining = ctx.get_remaining_time_in_millis()
    assert 0 < remaining <= 60_000
    assert ctx.aws_request_id
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


def test_a_changed_environment_needs_another_sandbox() -> None:
    # A fixed value: a key built from something that changes between processes (Python's
    # salted hash()) would never find the warm sandbox another process started.
    assert spec("echo", A="1").sandbox_key == (
        "00d199164ed780398a8ea95347e2e88af8792ce47c3e5f1fe4f81883a1c51a8d"
    )
    assert spec("echo", A="1").sandbox_key != spec("echo", A="2").sandbox_key
    assert spec("echo").sandbox_key != spec("spin").sandbox_key


def test_the_function_runs_in_its_own_process_with_its_environment(
    sandboxes: list[_Sandbox], tmp_path: Path
) -> None:
    function = spec("echo", MAILROOM_TEST_VALUE="from-config")
    sandbox = start(sandboxes, function, tmp_path / "functions.log")
    first = sandbox.call({"n": 1}, context(function), None)
    second = sandbox.call({"n": 2}, context(function), None)  # warm: the same process
    assert first["ok"] and second["ok"]
    assert first["result"]["event"] == {"n": 1}
    assert first["result"]["env"] == "from-config"
    assert first["result"]["pid"] == second["result"]["pid"] != os.getpid()
    assert 0 < first["result"]["remaining_ms"] <= 10_000


def test_an_exception_is_an_answer_and_the_sandbox_stays_warm(
    sandboxes: list[_Sandbox], tmp_path: Path
) -> None:
    function = spec("fail")
    sandbox = start(sandboxes, function, tmp_path / "functions.log")
    answer = sandbox.call({"why": "bad input"}, context(function), None)
    assert not answer["ok"]
    assert answer["error_type"] == "ValueError"
    assert "bad input" in answer["error"]
    assert sandbox.alive()


def test_past_its_timeout_the_sandbox_is_killed(sandboxes: list[_Sandbox], tmp_path: Path) -> None:
    function = spec("spin", timeout_s=1)
    sandbox = start(sandboxes, function, tmp_path / "functions.log")
    with pytest.raises(InvocationError, match=r"Task timed out after 1\.00 seconds") as failed:
        sandbox.call({}, context(function), None)
    assert failed.value.error_type == "Timeout"
    assert not sandbox.alive()


def test_over_its_memory_size_the_sandbox_is_killed(
    sandboxes: list[_Sandbox], tmp_path: Path
) -> None:
    function = spec("hog", memory_mb=128)
    sandbox = start(sandboxes, function, tmp_path / "functions.log")
    with pytest.raises(InvocationError, match="memory") as failed:
        sandbox.call({"blocks": 12, "hold": 30}, context(function), None)  # 192 MB
    assert failed.value.error_type == "Runtime.OutOfMemory"
    assert not sandbox.alive()


def test_the_functions_output_goes_to_the_log_not_the_protocol(
    sandboxes: list[_Sandbox], tmp_path: Path
) -> None:
    # A handler that prints (EMF metrics are prints) must not corrupt the answers.
    function = spec("echo")
    log = tmp_path / "functions.log"
    sandbox = start(sandboxes, function, log)
    answer = sandbox.call({"print": True}, context(function), None)
    again = sandbox.call({}, context(function), None)
    assert answer["ok"] and again["ok"]
    text = log.read_text()
    assert '{"_aws": "an EMF metric line"}' in text
    assert "a C-level write to fd 1" in text
