"""The Lambda stand-in: run a function the emulator knows, by name or ARN, in this process.

Configuration (Handler, Environment) is read from the emulator's Lambda API, so what runs is
what was provisioned (by `stack.provision` or by Terraform). The handler is imported by its
string and called with a powertools-compatible context. One invocation at a time: the function's
environment is applied to `os.environ` while it runs, as Lambda's runtime would see it.

Async ("Event") invocations follow Lambda's policy: two retries after the first failure, then
a dead-letter record (kept in memory and appended to a JSON-lines file an operator can read).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import queue
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import boto3
from aws_lambda_powertools import Logger

from mailroom.handlers.runtime import runtime
from mailroom.local.emulator import Endpoint

log = logging.getLogger("mailroom_local.runner")  # outside the "mailroom" powertools logger

RETRY_DELAYS = (0.2, 0.5)  # Lambda waits ~1 and ~2 minutes; locally a short back-off will do


class FunctionLog(io.TextIOBase):
    """Where the functions' JSON logs and EMF metrics go: a file, and stderr with `verbose`."""

    def __init__(self, path: Path | None, verbose: bool = False) -> None:
        self._lock = threading.Lock()
        self.path = path
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        self.verbose = verbose

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            if self._file is not None:
                self._file.write(text)
                self._file.flush()
            if self.verbose and sys.__stderr__ is not None:
                sys.__stderr__.write(text)
        return len(text)

    def flush(self) -> None:
        pass  # every write is flushed already; safe to call after close()

    def close(self) -> None:
        # The stream stays usable (writes are dropped): a logging handler may still hold it.
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclass(slots=True)
class LambdaContext:
    """The attributes powertools (inject_lambda_context) and handlers read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    timeout_s: int = 300
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    function: str
    event: dict[str, Any]
    error: str
    attempts: int
    at: str


@dataclass(slots=True)
class _Task:
    function: str
    event: dict[str, Any]


class InvocationError(RuntimeError):
    """The function raised; the original exception is the cause."""


class Runner:
    def __init__(
        self,
        endpoint: Endpoint,
        function_log: FunctionLog | None = None,
        dead_letter_path: Path | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.endpoint = endpoint
        self.function_log = function_log or FunctionLog(None)
        self.dead_letter_path = dead_letter_path
        self.retry_delays = retry_delays
        self.dead_letters: list[DeadLetter] = []
        self._invoke_lock = threading.Lock()
        self._cold_key: tuple[tuple[str, str], ...] | None = None
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._worker is None:
            self._stopping.clear()
            self._worker = threading.Thread(
                target=self._work, name="mailroom-local-runner", daemon=True
            )
            self._worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the invocation in progress; queued events are dropped (and logged)."""
        self._stopping.set()
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout)
            self._worker = None
        # The cached runtime holds clients for this emulator: do not leave them behind
        # (unless an invocation is stuck, which then keeps them: never wait on it forever).
        if self._invoke_lock.acquire(timeout=5):
            try:
                runtime.cache_clear()
                self._cold_key = None
            finally:
                self._invoke_lock.release()

    # -- invoking ----------------------------------------------------------------------------

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> None:
        """InvocationType Event: queue it and return at once, as Lambda does (202)."""
        with self._idle:
            self._pending += 1
        self._queue.put(_Task(function, json.loads(json.dumps(event))))

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or running; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    @property
    def idle(self) -> bool:
        with self._idle:
            return self._pending == 0

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold invocations back while the caller changes process-wide state (os.environ).

        An invocation saves and restores the variables it sets; someone else changing them at
        the same time (click's CliRunner in tests does) could otherwise have them restored
        to a stale value.
        """
        with self._invoke_lock:
            yield

    def invoke(self, function: str, event: Mapping[str, Any]) -> Any:
        """InvocationType RequestResponse: run now, return the result, raise what it raises."""
        config = self.endpoint.client("lambda").get_function_configuration(FunctionName=function)
        variables = dict((config.get("Environment") or {}).get("Variables") or {})
        runtime_env = {
            **self.endpoint.env(),
            "AWS_LAMBDA_FUNCTION_NAME": config["FunctionName"],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.get("MemorySize", 128)),
            "AWS_LAMBDA_FUNCTION_VERSION": config.get("Version", "$LATEST"),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config['FunctionName']}",
            # No X-Ray daemon here; on AWS the Tracer is on.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        context = LambdaContext(
            function_name=config["FunctionName"],
            invoked_function_arn=config["FunctionArn"],
            memory_limit_in_mb=int(config.get("MemorySize", 128)),
            timeout_s=int(config.get("Timeout", 3)),
            log_group_name=runtime_env["AWS_LAMBDA_LOG_GROUP_NAME"],
        )
        payload = json.loads(json.dumps(event))  # the handler gets its own copy, as over the wire
        # Lambda reserves its runtime variables: the function's own cannot override them.
        # A developer's profile or session token has no place in the sandbox either.
        environment: dict[str, str | None] = {
            **variables,
            **runtime_env,
            "AWS_PROFILE": None,
            "AWS_DEFAULT_PROFILE": None,
            "AWS_SESSION_TOKEN": None,
        }
        with (
            self._invoke_lock,
            _environ(environment),
            contextlib.redirect_stdout(self.function_log),
        ):
            self._cold_start_if_changed(variables)
            handler, routed = _load(config["Handler"], self.function_log)
            try:
                return handler(payload, context)
            except Exception as exc:
                self.function_log.write(
                    json.dumps(
                        {
                            "level": "ERROR",
                            "location": "mailroom.local.runner",
                            "message": "invocation failed",
                            "function": context.function_name,
                            "request_id": context.aws_request_id,
                            "error": traceback.format_exception_only(exc)[-1].strip(),
                        }
                    )
                    + "\n"
                )
                raise InvocationError(f"{context.function_name}: {exc}") from exc
            finally:
                # Hand powertools' handlers back their streams: others in this process
                # (tests calling a handler directly) expect the logs where they were.
                for log_handler, previous in routed:
                    log_handler.setStream(previous)

    def _cold_start_if_changed(self, variables: Mapping[str, str]) -> None:
        # The cached runtime (settings, clients) was built from the environment of the first
        # invocation; a different environment is what Lambda would give a fresh sandbox.
        key = tuple(sorted({**variables, **self.endpoint.env()}.items()))
        if key != self._cold_key:
            runtime.cache_clear()
            boto3.setup_default_session()  # a fresh sandbox has no session from before
            self._cold_key = key

    # -- the async worker -------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                if self._stopping.is_set():
                    log.warning(
                        "runner stopping: queued event dropped (function %s)", task.function
                    )
                    continue
                self._run_with_retries(task)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _run_with_retries(self, task: _Task) -> None:
        attempts = 0
        delays: Iterator[float] = iter(self.retry_delays)
        while True:
            attempts += 1
            try:
                self.invoke(task.function, task.event)
            except Exception as exc:
                delay = next(delays, None)
                if delay is None or self._stopping.is_set():
                    self._dead_letter(task, exc, attempts)
                    return
                log.info("async invocation failed; retrying (function %s)", task.function)
                self._stopping.wait(delay)
            else:
                return

    def _dead_letter(self, task: _Task, exc: BaseException, attempts: int) -> None:
        cause = exc.__cause__ or exc
        letter = DeadLetter(
            function=task.function,
            event=task.event,
            error=f"{type(cause).__name__}: {cause}",
            attempts=attempts,
            at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
        self.dead_letters.append(letter)
        where = ""
        if self.dead_letter_path is not None:
            self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
            with self.dead_letter_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(letter)) + "\n")
            where = f" (kept in {self.dead_letter_path})"
        log.error(
            "async invocation failed %d times; dead-lettered%s: %s: %s",
            attempts,
            where,
            task.function,
            letter.error,
        )


_Routed = list[tuple["logging.StreamHandler[Any]", Any]]


def _load(
    handler: str, stream: io.TextIOBase
) -> tuple[Callable[[dict[str, Any], Any], Any], _Routed]:
    """Import `package.module.function` under the function's environment, like a sandbox."""
    module_name, _, attr = handler.rpartition(".")
    module = importlib.import_module(module_name)
    routed = _route_powertools_logs(module, stream)
    function: Callable[[dict[str, Any], Any], Any] = getattr(module, attr)
    return function, routed


def _route_powertools_logs(module: Any, stream: io.TextIOBase) -> _Routed:
    """Point the module's powertools Loggers at our log; return what they pointed at before.

    powertools binds sys.stdout when the module is imported, so redirecting stdout is not
    enough for the logs (it is for the EMF metrics, which are printed).
    """
    routed: _Routed = []
    seen: set[int] = set()
    for value in vars(module).values():
        if isinstance(value, Logger):
            handler = value.registered_handler
            if isinstance(handler, logging.StreamHandler) and id(handler) not in seen:
                seen.add(id(handler))
                routed.append((handler, handler.stream))
                handler.setStream(stream)
    return routed


@contextlib.contextmanager
def _environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) variables for the duration; restore them after."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
