"""The Lambda stand-in: run a function the emulator knows, by name or ARN, in worker processes.

Configuration (Handler, Environment, Timeout, MemorySize) is read from the emulator's Lambda
API, so what runs is what was provisioned (by `stack.provision` or by Terraform). Each
invocation runs in a sandbox process (`mailroom.local.worker`) outside the emulator's process,
so a CPU-bound or stuck function cannot starve the emulator or the SMTP door:

- sandboxes are per function and environment: a changed environment is a cold start, a warm
  sandbox is reused; at most `concurrency` invocations run at once, `concurrency + 2` sandboxes
  are kept (the least useful idle one is ended to make room);
- the function's Timeout and MemorySize are enforced as Lambda does: past either, the sandbox
  is killed and the attempt fails (`Task timed out after N seconds`, `Runtime exited: memory`);
- async ("Event") invocations follow Lambda's policy: two retries after the first failure,
  then the event is dead-lettered: to the function's dead-letter SQS queue (the body is the
  original event, as on AWS) and to a JSON-lines file an operator can read.

Stopping gives invocations in progress until a deadline, then kills them; those and the events
still queued are dead-lettered (to the file), so nothing accepted is lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import queue
import selectors
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from mailroom.local.emulator import Endpoint
from mailroom.local.worker import LOG_ENV, VERBOSE_ENV, LambdaContext

log = logging.getLogger("mailroom_local.runner")  # outside the "mailroom" powertools logger

RETRY_DELAYS = (0.2, 0.5)  # Lambda waits ~1 and ~2 minutes; locally a short back-off will do
DEFAULT_CONCURRENCY = 3
DEAD_LETTERS_KEPT = 1000
# Sandboxes kept warm: `concurrency` for each of the two event-driven functions, so a mixed
# backlog of extract and record events never evicts one to cold-start the other (a cold start
# costs about a second of CPU: the imports and boto3 clients), and one for the API.
WARM_FUNCTIONS = 2
_POLL_S = 0.05  # how often a running sandbox's memory is checked
SPEC_TTL_S = 1.0
BACKLOG_PER_WORKER = 4  # queued or running events per worker before the SMTP door waits
__all__ = ["DeadLetter", "FunctionLog", "InvocationError", "LambdaContext", "Runner"]


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


@dataclass(frozen=True, slots=True)
class DeadLetter:
    function: str
    event: dict[str, Any]
    error: str
    attempts: int
    at: str


def dead_letter_reason(attempts: int) -> str:
    """What the log says happened before an event was dead-lettered."""
    if attempts == 0:
        return "async invocation not run (the local stack was stopping)"
    return f"async invocation failed {attempts} time{'s' if attempts != 1 else ''}"


class InvocationError(RuntimeError):
    """The function failed (raised, timed out, ran out of memory, or was stopped)."""

    def __init__(self, message: str, error_type: str = "Unhandled") -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """What the emulator says about a function, reduced to what running it needs."""

    name: str
    arn: str
    handler: str
    variables: tuple[tuple[str, str], ...]
    timeout_s: float
    memory_mb: int
    dead_letter_arn: str | None

    @classmethod
    def from_api(cls, config: Mapping[str, Any]) -> FunctionSpec:
        variables = (config.get("Environment") or {}).get("Variables") or {}
        return cls(
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            handler=config["Handler"],
            variables=tuple(sorted(variables.items())),
            timeout_s=float(config.get("Timeout", 3)),
            memory_mb=int(config.get("MemorySize", 128)),
            dead_letter_arn=(config.get("DeadLetterConfig") or {}).get("TargetArn"),
        )

    @property
    def sandbox_key(self) -> str:
        """Same function, same handler and environment: a warm sandbox can be reused."""
        text = json.dumps([self.name, self.handler, self.variables, self.memory_mb])
        return hashlib.sha256(text.encode()).hexdigest()


class _Sandbox:
    """One worker process for one function and environment."""

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str], log_path: str) -> None:
        self.key = spec.sandbox_key
        self.spec = spec
        with Path(log_path or os.devnull).open("ab") as errors:
            self.process = subprocess.Popen(  # noqa: S603 (our interpreter, our module)
                [sys.executable, "-m", "mailroom.local.worker", spec.handler],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,  # a crash's traceback lands in the function log
                env=dict(environment),
                start_new_session=True,  # Ctrl-C in the terminal reaches the stack, not these
            )
        self._buffer = b""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(2)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()

    def call(
        self, event: Any, context: LambdaContext, abandon_at: threading.Event | None
    ) -> dict[str, Any]:
        """Send one invocation and wait for its answer, enforcing timeout and memory."""
        assert self.process.stdin is not None and self.process.stdout is not None
        fields = asdict(context)
        fields.pop("started")  # the sandbox's clock starts when it reads the request
        request = {"event": event, "context": fields}
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise InvocationError("Runtime exited before the invocation", "Runtime.Exit") from exc
        deadline = time.monotonic() + self.spec.timeout_s
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise InvocationError(
                        f"Task timed out after {self.spec.timeout_s:.2f} seconds", "Timeout"
                    )
                if abandon_at is not None and abandon_at.is_set():
                    self.kill()
                    raise InvocationError("local stack stopped during the invocation", "Stopped")
                if selector.select(min(_POLL_S, remaining)):
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        code = self.process.wait(2)
                        self.kill()
                        raise InvocationError(f"Runtime exited with code {code}", "Runtime.Exit")
                    self._buffer += chunk
                rss = _rss_mb(self.process.pid)
                if rss > self.spec.memory_mb:
                    self.kill()
                    raise InvocationError(
                        f"Runtime exited: memory {rss} MB over the limit of "
                        f"{self.spec.memory_mb} MB",
                        "Runtime.OutOfMemory",
                    )
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer


def _rss_mb(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


@dataclass(slots=True)
class _Task:
    function: str
    event: dict[str, Any]


class Runner:
    def __init__(  # noqa: PLR0917 (kept positional for existing callers)
        self,
        endpoint: Endpoint,
        function_log: FunctionLog | None = None,
        dead_letter_path: Path | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        concurrency: int = DEFAULT_CONCURRENCY,
        dead_letter_queues: Mapping[str, str] | None = None,
    ) -> None:
        """`dead_letter_queues` maps a function name to its DLQ URL (moto keeps no
        DeadLetterConfig, so provisioning says where each function's DLQ is)."""
        self.endpoint = endpoint
        self.function_log = function_log or FunctionLog(None)
        self.dead_letter_path = dead_letter_path
        self.retry_delays = retry_delays
        self.concurrency = max(1, concurrency)
        self.dead_letter_queues = dict(dead_letter_queues or {})
        self.dead_letters: deque[DeadLetter] = deque(maxlen=DEAD_LETTERS_KEPT)
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._stopping = threading.Event()
        self._abandon = threading.Event()  # past the stop deadline: kill what still runs
        self._workers: list[threading.Thread] = []
        self._pool_lock = threading.Lock()
        self._warm: dict[str, list[_Sandbox]] = {}
        self._sandboxes = 0
        self._specs: dict[str, tuple[float, FunctionSpec]] = {}
        self._letter_lock = threading.Lock()
        # Sandboxes are started from this one long-lived thread: PR_SET_PDEATHSIG (worker.py)
        # fires when the *thread* that forked the child exits, so a sandbox started from a
        # short-lived thread (a moto request thread serving a synchronous Invoke, say) would be
        # killed with it.
        self._spawner: ThreadPoolExecutor | None = None  # made at the first sandbox
        # Told when an async event is done (function, event, succeeded): for the bench.
        self.on_complete: Callable[[str, dict[str, Any], bool], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if not self._workers:
            self._stopping.clear()
            self._abandon.clear()
            for number in range(self.concurrency):
                thread = threading.Thread(
                    target=self._work, name=f"mailroom-local-runner-{number}", daemon=True
                )
                thread.start()
                self._workers.append(thread)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop within about `timeout` s: running invocations get that long, then are killed;
        they and the queued events go to the dead-letter file."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for _ in self._workers:
            self._queue.put(None)
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._workers):
            self._abandon.set()  # running invocations are killed and dead-lettered
            for thread in self._workers:
                thread.join(1.0)
        self._workers = []
        with self._pool_lock:
            warm = [s for sandboxes in self._warm.values() for s in sandboxes]
            self._warm.clear()
            spawner, self._spawner = self._spawner, None
        for sandbox in warm:
            sandbox.kill()
        if spawner is not None:
            spawner.shutdown(wait=False)  # its thread ends; the sandboxes it started are gone

    # -- invoking ----------------------------------------------------------------------------

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> None:
        """InvocationType Event: queue it and return at once, as Lambda does (202)."""
        task = _Task(function, json.loads(json.dumps(event)))
        if self._stopping.is_set():
            self._dead_letter(task, InvocationError("local stack stopping", "Stopped"), 0)
            return
        with self._idle:
            self._pending += 1
        self._queue.put(task)

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or running; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def wait_backlog(self, limit: int, timeout: float) -> bool:
        """Until at most `limit` events are queued or running (the SMTP door's back-pressure)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending <= limit, timeout)

    @property
    def backlog_limit(self) -> int:
        return BACKLOG_PER_WORKER * self.concurrency

    @property
    def idle(self) -> bool:
        with self._idle:
            return self._pending == 0

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Kept for callers that changed os.environ around invocations: functions run in
        their own processes now, so there is nothing to hold back."""
        yield

    def invoke(self, function: str, event: Mapping[str, Any]) -> Any:
        """InvocationType RequestResponse: run now, return the result, raise what it raises."""
        spec = self.spec(function)
        sandbox = self._acquire(spec)
        context = LambdaContext(
            function_name=spec.name,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_mb,
            timeout_s=spec.timeout_s,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{spec.name}",
        )
        healthy = False
        try:
            answer = sandbox.call(json.loads(json.dumps(event)), context, self._abandon)
            healthy = True
        except InvocationError as exc:
            self._log_failure(spec, context, f"{exc.error_type}: {exc}")
            raise InvocationError(f"{spec.name}: {exc}", exc.error_type) from exc
        finally:
            self._release(sandbox, healthy)
        if not answer.get("ok"):
            error = f"{answer.get('error_type')}: {answer.get('error')}"
            self._log_failure(spec, context, error)
            raise InvocationError(f"{spec.name}: {error}", str(answer.get("error_type")))
        return answer.get("result")

    def forget_configurations(self) -> None:
        """A function changed in the emulator: read configurations afresh."""
        with self._pool_lock:
            self._specs.clear()

    def spec(self, function: str) -> FunctionSpec:
        """The function's configuration, read again at most every SPEC_TTL_S (a changed
        environment is picked up within that time, as a new cold start)."""
        now = time.monotonic()
        with self._pool_lock:
            cached = self._specs.get(function)
        if cached is not None and now - cached[0] < SPEC_TTL_S:
            return cached[1]
        config = self.endpoint.client("lambda").get_function_configuration(FunctionName=function)
        spec = FunctionSpec.from_api(config)
        with self._pool_lock:
            self._specs[function] = (now, spec)
        return spec

    def _log_failure(self, spec: FunctionSpec, context: LambdaContext, error: str) -> None:
        self.function_log.write(
            json.dumps(
                {
                    "level": "ERROR",
                    "location": "mailroom.local.runner",
                    "message": "invocation failed",
                    "function": spec.name,
                    "request_id": context.aws_request_id,
                    "error": error,
                }
            )
            + "\n"
        )

    # -- the sandbox pool ------------------------------------------------------------------

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        # The developer's AWS settings have no place in the sandbox; Python's own must stay.
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "MAILROOM_", "POWERTOOLS_", "_HANDLER", "LAMBDA_"))
        }
        runtime_env = {
            **self.endpoint.env(),
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "_HANDLER": spec.handler,
            # No X-Ray daemon here; on AWS the Tracer is on.
            "POWERTOOLS_TRACE_DISABLED": "true",
            # The handler's module must be importable as it is in this process.
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            LOG_ENV: str(self.function_log.path or ""),
            VERBOSE_ENV: "1" if self.function_log.verbose else "",
        }
        # Lambda reserves its runtime variables: the function's own cannot override them.
        return {**base, **dict(spec.variables), **runtime_env}

    def _acquire(self, spec: FunctionSpec) -> _Sandbox:
        evicted: _Sandbox | None = None
        with self._pool_lock:
            warm = self._warm.get(spec.sandbox_key)
            while warm:
                sandbox = warm.pop()
                if sandbox.alive():
                    return sandbox
                self._sandboxes -= 1
            if self._sandboxes > self.concurrency * WARM_FUNCTIONS:
                evicted = self._evict_one()
            self._sandboxes += 1
        if evicted is not None:
            evicted.kill()
        try:
            log_path = str(self.function_log.path or "")
            with self._pool_lock:
                if self._spawner is None:
                    self._spawner = ThreadPoolExecutor(1, thread_name_prefix="mailroom-local-spawn")
                spawner = self._spawner
            return spawner.submit(_Sandbox, spec, self._environment(spec), log_path).result()
        except BaseException:
            with self._pool_lock:
                self._sandboxes -= 1
            raise

    def _evict_one(self) -> _Sandbox | None:
        # An idle sandbox of the function with the most of them (caller holds the lock).
        candidates = [s for s in self._warm.values() if s]
        if not candidates:
            return None
        sandbox = max(candidates, key=len).pop(0)
        self._sandboxes -= 1
        return sandbox

    def _release(self, sandbox: _Sandbox, healthy: bool) -> None:
        keep = healthy and sandbox.alive() and not self._stopping.is_set()
        with self._pool_lock:
            if keep:
                self._warm.setdefault(sandbox.key, []).append(sandbox)
                return
            self._sandboxes -= 1
        sandbox.kill()

    # -- the async workers -----------------------------------------------------------------

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                if self._stopping.is_set():
                    self._dead_letter(task, InvocationError("local stack stopped", "Stopped"), 0)
                    continue
                self._run_with_retries(task)
            except Exception:
                log.exception("runner failure (function %s)", task.function)
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
                    self._completed(task, ok=False)
                    return
                log.info("async invocation failed; retrying (function %s)", task.function)
                if self._stopping.wait(delay):  # stopping meanwhile: no new attempt
                    self._dead_letter(task, exc, attempts)
                    self._completed(task, ok=False)
                    return
            else:
                self._completed(task, ok=True)
                return

    def _completed(self, task: _Task, *, ok: bool) -> None:
        if self.on_complete is not None:
            self.on_complete(task.function, task.event, ok)

    def _dead_letter(self, task: _Task, exc: BaseException, attempts: int) -> None:
        letter = DeadLetter(
            function=task.function,
            event=task.event,
            error=f"{type(exc).__name__}: {exc}",
            attempts=attempts,
            at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
        where = []
        with self._letter_lock:
            self.dead_letters.append(letter)
            if self.dead_letter_path is not None:
                self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
                with self.dead_letter_path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(letter)) + "\n")
                where.append(str(self.dead_letter_path))
        if not self._stopping.is_set() and self._send_to_dlq(task, exc):
            where.append("its DLQ")
        log.error(
            "%s; dead-lettered (%s): %s: %s",
            dead_letter_reason(attempts),
            ", ".join(where) or "in memory",
            task.function,
            letter.error,
        )

    def _send_to_dlq(self, task: _Task, exc: BaseException) -> bool:
        """As Lambda does: the body is the original event, the error in message attributes."""
        url = self._dlq_url(task.function)
        if url is None:
            return False
        error_type = exc.error_type if isinstance(exc, InvocationError) else type(exc).__name__
        try:
            self.endpoint.client("sqs").send_message(
                QueueUrl=url,
                MessageBody=json.dumps(task.event),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": f"{error_type}"[:256]},
                },
            )
        except Exception:
            log.warning("could not send to the DLQ %s", url, exc_info=True)
            return False
        return True

    def _dlq_url(self, function: str) -> str | None:
        name = function.rsplit(":", 1)[-1] if function.startswith("arn:") else function
        if name in self.dead_letter_queues:
            return self.dead_letter_queues[name]
        try:
            arn = self.spec(function).dead_letter_arn
            if arn and arn.startswith("arn:aws:sqs:"):
                queue_name = arn.rsplit(":", 1)[-1]
                url: str = self.endpoint.client("sqs").get_queue_url(QueueName=queue_name)[
                    "QueueUrl"
                ]
                return url
        except Exception:
            log.debug("no DLQ found for %s", function, exc_info=True)
        return None
