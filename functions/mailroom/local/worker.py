"""One Lambda sandbox: a process that imports one handler and runs the invocations it is sent.

Started by `mailroom.local.runner` as `python -m mailroom.local.worker HANDLER` with the
function's environment (its variables plus Lambda's runtime ones) as the process environment,
so a sandbox is cold exactly when Lambda's would be. Requests arrive as JSON lines on stdin,
answers leave as JSON lines on the original stdout; the function's own output (powertools logs,
EMF metrics, prints, even C-level writes to fd 1) goes to the function log file instead.

Kept light: only the standard library is imported before the handler.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

LOG_ENV = "MAILROOM_LOCAL_FUNCTION_LOG"
VERBOSE_ENV = "MAILROOM_LOCAL_VERBOSE"


@dataclass(slots=True)
class LambdaContext:
    """The attributes powertools (inject_lambda_context) and handlers read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    timeout_s: float = 300
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


class _Tee:
    """The function's stdout: the log file, and stderr too when verbose."""

    def __init__(self, path: str, verbose: bool) -> None:
        self._file = Path(path).open("a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115
        self._verbose = verbose

    def write(self, text: str) -> int:
        if self._file is not None:
            self._file.write(text)
        if self._verbose and sys.__stderr__ is not None:
            sys.__stderr__.write(text)
        return len(text)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def _protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """Keep the real stdout for answers; point fd 1 (and sys.stdout) at the function log."""
    answers = os.fdopen(os.dup(1), "wb")
    log_path = os.environ.pop(LOG_ENV, "")
    verbose = os.environ.pop(VERBOSE_ENV, "") == "1"
    target = os.open(log_path or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(target, 1)
    os.close(target)
    sys.stdout = _Tee(log_path, verbose)
    return sys.stdin.buffer, answers


def _die_with_parent() -> None:
    """Linux: be killed when the stack's process dies, even by SIGKILL (no orphan spinning)."""
    with contextlib.suppress(Exception):
        import ctypes  # noqa: PLC0415

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def main() -> int:
    handler_string = sys.argv[1]
    _die_with_parent()
    requests, answers = _protocol_streams()
    handler: Any = None
    for line in requests:
        request = json.loads(line)
        context = LambdaContext(**request["context"])
        try:
            if handler is None:
                module_name, _, attr = handler_string.rpartition(".")
                handler = getattr(importlib.import_module(module_name), attr)
            result = handler(request["event"], context)
            answer: dict[str, Any] = {"ok": True, "result": result}
        except Exception as exc:
            answer = {
                "ok": False,
                "error_type": type(exc).__name__,
                "error": str(exc)[:2000],
                "trace": traceback.format_exc(limit=20)[-4000:],
            }
        sys.stdout.flush()
        answers.write(json.dumps(answer, default=str).encode() + b"\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
