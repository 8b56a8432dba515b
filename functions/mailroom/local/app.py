"""LocalMailroom: the whole offline stack in one context manager.

Two entry points:

- `LocalMailroom(config)` starts an emulator (moto server on loopback), provisions what
  Terraform provisions (`stack.provision`), and runs the stand-ins against it.
- `LocalMailroom.attach(endpoint_url, rule_set=None)` provisions nothing: it runs the stand-ins
  (SMTP front door, Lambda runner, bucket-notification dispatcher) against an emulator that
  already holds the resources, for example one that `terraform apply` has just configured.
  Bucket, table and submission addresses are read from the receipt rule set (the active one,
  or `rule_set` if Terraform left it inactive) and from the Lambda action's function
  environment. With an emulator in another process there is no in-process hook: a poller
  (ListObjectsV2, never ListObjectVersions) stands in for the bucket notification.

Started in-process, every event comes from moto's own hooks (`hooks`): S3 notifications and
Lambda `Invoke` (Event) calls go straight to the runner, whose functions run in worker
processes. With `data_dir`, bucket and table are restored on start and kept as they change.

Either way: send mail to `smtp_host:smtp_port`, then `wait_for_messages(ids)`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from mailroom.adapters.catalog import Catalog
from mailroom.local import hooks
from mailroom.local import state as state_file
from mailroom.local.dispatch import Notifier, Poller
from mailroom.local.emulator import Emulator, Endpoint
from mailroom.local.frontdoor import DEFAULT_PORT, FrontDoor, Received, active_rules
from mailroom.local.httpapi import (
    DEFAULT_ROLE,
    STAFF_ADDRESS,
    InvokeError,
    LocalHttpApi,
    default_web_dir,
)
from mailroom.local.outbox import OUTBOX_FILE, Drainer, Outbox
from mailroom.local.persist import DataDir, DataDirBusy
from mailroom.local.receipts_local import answer_locally
from mailroom.local.reconcile import Reconciled, reconcile
from mailroom.local.runner import (
    DEFAULT_CONCURRENCY,
    DeadLetter,
    FunctionLog,
    InvocationError,
    Runner,
)
from mailroom.local.stack import (
    API,
    EXPORT,
    EXTRACT,
    RECORD,
    Provisioned,
    StackConfig,
    provision,
    provision_api,
)
from mailroom.model import PREFIXES, FileRecord, MessageRecord
from mailroom.policy import Outcome
from mailroom.settings import ENV_INCOMING_PREFIX, ENV_TABLE

log = logging.getLogger("mailroom_local.app")

FUNCTION_LOG = "functions.log"
DEAD_LETTERS = "dead-letters.jsonl"
STOP_GRACE_S = 0.8  # invocations in progress get this long on stop, then are dead-lettered


class LocalStackError(RuntimeError):
    """The local stack could not start, or work did not finish in time."""


@dataclass(slots=True)
class MessageOutcome:
    """Where one received message ended up, once all its work is done."""

    message_id: str
    record: MessageRecord | None
    files: list[FileRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class LocalMailroom:
    def __init__(
        self,
        config: StackConfig | None = None,
        *,
        smtp_port: int = DEFAULT_PORT,
        emulator_port: int = 0,
        state_dir: Path | None = None,
        verbose: bool = False,
        endpoint_url: str | None = None,
        on_received: Callable[[Received], None] | None = None,
        rule_set: str | None = None,
        data_dir: Path | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        api_port: int | None = 0,
        staff_address: str = STAFF_ADDRESS,
        web_dir: Path | None = None,
        role: str = DEFAULT_ROLE,
    ) -> None:
        """With `endpoint_url`, attach to that emulator instead of starting and provisioning.

        With `data_dir`, the bucket and table survive a restart (see `persist`). The staff API
        and the dashboard are served on `api_port` (0: any free port; None: not at all; never
        when attached, where Terraform's own API is not ours to stand in for)."""
        self.config = config or StackConfig()
        self.smtp_port = smtp_port
        self.emulator_port = emulator_port
        self.state_dir = state_dir or state_file.state_dir()
        self.verbose = verbose
        self._attach_url = endpoint_url
        self._on_received = on_received
        self.rule_set = rule_set
        self._emulator: Emulator | None = None
        self.endpoint: Endpoint | None = None
        self.incoming_prefix = self.config.settings.incoming_prefix
        self.function_log = FunctionLog(self.state_dir / FUNCTION_LOG, verbose=verbose)
        self.runner: Runner | None = None
        self.notifier: Notifier | None = None
        self.poller: Poller | None = None
        self.frontdoor: FrontDoor | None = None
        self.data_dir = data_dir
        self.concurrency = concurrency
        self.provisioned: Provisioned | None = None
        self.restored: tuple[int, int] = (0, 0)
        self._data: DataDir | None = None
        self.reconciled: Reconciled | None = None  # after an unclean stop (see `reconcile`)
        self.api_port = api_port
        self.staff_address = staff_address
        self.role = role  # of the token the local API issues at start (`--role`)
        self.web_dir = web_dir
        self.api: LocalHttpApi | None = None
        self.outbox = Outbox(self.state_dir / OUTBOX_FILE)  # issue 21: events and receipts
        self.drainer: Drainer | None = None

    @classmethod
    def attach(
        cls,
        endpoint_url: str,
        *,
        region: str = "eu-west-1",
        smtp_port: int = DEFAULT_PORT,
        state_dir: Path | None = None,
        verbose: bool = False,
        on_received: Callable[[Received], None] | None = None,
        rule_set: str | None = None,
    ) -> LocalMailroom:
        """Run the stand-ins against an already provisioned emulator (e.g. by Terraform)."""
        return cls(
            StackConfig(region=region),
            smtp_port=smtp_port,
            state_dir=state_dir,
            verbose=verbose,
            endpoint_url=endpoint_url,
            on_received=on_received,
            rule_set=rule_set,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LocalMailroom:
        try:
            dlqs: dict[str, str] = {}
            if self._attach_url is None:
                self._emulator = Emulator(self.emulator_port, self.config.region)
                self.endpoint = self._emulator.start()
                self.provisioned = provision(self.endpoint, self.config)
                dlqs = self.provisioned.dlq_by_function()
                if self.data_dir is not None:
                    # Before anything listens: a restore triggers no function.
                    self._data = DataDir(self.data_dir, region=self.config.region)
                    try:
                        self.restored = self._data.restore()  # locks the folder first
                    except DataDirBusy as exc:
                        self._data = None
                        raise LocalStackError(str(exc)) from exc
            else:
                self.endpoint = Endpoint(self._attach_url, self.config.region)
                self.config = self._discover(self.endpoint)
            self.runner = Runner(
                self.endpoint,
                self.function_log,
                self.dead_letter_path,
                concurrency=self.concurrency,
                dead_letter_queues=dlqs,
            )
            self.runner.start()
            if self.provisioned is not None and self.provisioned.outbox_url:
                self.outbox.reset()
                self.drainer = Drainer(
                    self.endpoint, self.provisioned.outbox_url, self.outbox, self._on_event
                )
                self.drainer.start()
            if self._emulator is not None:
                self.notifier = Notifier(self.endpoint, self.runner)
                hooks.listen(
                    objects=self.notifier,
                    invokes=self._on_invoke,
                    writes=self._data.on_write if self._data else None,
                    tables=self._data.on_table_write if self._data else None,
                    queues=self._data.on_queue_write if self._data else None,
                    functions=self.runner.forget_configurations,
                )
                if self._data is not None:
                    self._data.start()
            else:
                self.poller = Poller(self.endpoint, self.config.bucket, self.runner)
                self.poller.start()
            if self._data is not None and self._data.unclean:  # before any mail arrives
                self.reconciled = reconcile(self, previous_pid=self._data.lock.previous_pid)
                self._data.repaired = True
            self.frontdoor = FrontDoor(
                self.endpoint,
                self.runner,
                port=self.smtp_port,
                on_received=self._on_received,
                rule_set=self.rule_set,
            )
            self.frontdoor.start()
            if self._emulator is not None and self.api_port is not None:
                self._serve_api(self.endpoint, self.runner, self.api_port)
        except BaseException:  # Ctrl-C while starting too: leave no server behind
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop in reverse order within about 2 s; safe to call more than once.

        The hooks keep listening until the runner has stopped, so an object written by an
        invocation that is finishing still has its event: dead-lettered, never dropped.
        """
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.frontdoor is not None:
            self.frontdoor.stop()
            self.frontdoor = None
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
        clean = True  # nothing cut short: the next start need not reconcile
        if self.runner is not None:
            clean = self.runner.idle
            self.runner.stop(STOP_GRACE_S)
            self.runner = None
        if self.drainer is not None:
            self.drainer.stop()
            self.drainer = None
        if self._emulator is not None:
            hooks.listen()
        if self._data is not None:
            self._data.stop(clean=clean)
            self._data = None
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None
        self.notifier = None
        self.function_log.close()

    def _on_event(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """What an outcome event causes locally (receipts, issue 21); entries for the outbox."""
        assert self.endpoint is not None
        return answer_locally(event, self.config.receipts, self.endpoint, self.config.table)

    def _serve_api(self, endpoint: Endpoint, runner: Runner, port: int) -> None:
        """Bind first (the function's CORS origin is the server's address), then provision
        the `api` function with it, then answer."""
        api = LocalHttpApi(
            port=port,
            staff_address=self.staff_address,  # a new token per stack start
            role=self.role,
            web_dir=self.web_dir or default_web_dir(os.environ),
            emulator_url=endpoint.url,
        )
        self.api = api.bind()
        if self._emulator is not None:  # the page's presigned uploads and downloads
            self._emulator.allow_origins(api.url, f"http://localhost:{api.port}")
        function = provision_api(endpoint, self.config, api.url)
        if self.provisioned is not None:
            self.provisioned.functions[API] = function

        def invoke(event: dict[str, Any]) -> Any:
            try:
                return runner.invoke(function, event)
            except InvocationError as exc:
                raise InvokeError(str(exc), timed_out=exc.error_type == "Timeout") from exc

        api.serve(invoke)

    def _on_invoke(self, function_arn: str, body: Any, kind: str) -> tuple[bytes, bool] | None:
        """Lambda Invoke sent to our emulator (e.g. `mailroom reprocess`): the runner runs it,
        whatever the function (each function in this emulator is run by this runner)."""
        runner = self.runner
        if runner is None:
            return None  # stopped: moto's own answer
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        event = json.loads(body) if isinstance(body, str) and body.strip() else (body or {})
        if kind == "Event":
            runner.invoke_async(function_arn, event)
            return b"", False
        if kind == "DryRun":
            return b"", False
        try:
            result = runner.invoke(function_arn, event)
        except InvocationError as exc:
            error = {"errorMessage": str(exc), "errorType": exc.error_type}
            return json.dumps(error).encode(), True
        return json.dumps(result).encode(), False

    def __enter__(self) -> LocalMailroom:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _discover(self, endpoint: Endpoint) -> StackConfig:
        """Bucket, table and addresses of an emulator someone else provisioned."""
        rules = active_rules(endpoint, self.rule_set)
        if not rules:
            which = f"rule set {self.rule_set!r}" if self.rule_set else "active rule set"
            raise LocalStackError(f"{endpoint.url}: the SES {which} has no enabled rule")
        bucket = table = None
        addresses: list[str] = []
        for rule in rules:
            addresses.extend(rule.recipients)
            for action in rule.actions:
                if "S3Action" in action and bucket is None:
                    bucket = action["S3Action"]["BucketName"]
                if "LambdaAction" in action and table is None:
                    function = endpoint.client("lambda").get_function_configuration(
                        FunctionName=action["LambdaAction"]["FunctionArn"]
                    )
                    variables = (function.get("Environment") or {}).get("Variables") or {}
                    table = variables.get(ENV_TABLE)
                    self.incoming_prefix = variables.get(ENV_INCOMING_PREFIX) or PREFIXES.incoming
        if bucket is None or table is None:
            raise LocalStackError(
                "the active receipt rule needs an S3 action and a Lambda action whose function "
                f"has {ENV_TABLE} in its environment"
            )
        return replace(
            self.config,
            bucket=bucket,
            table=table,
            submission_addresses=tuple(addresses) or self.config.submission_addresses,
        )

    # -- what callers need ---------------------------------------------------------------------

    @property
    def submission_address(self) -> str:
        return self.config.submission_addresses[0]

    def local_state(self, pid: int) -> state_file.LocalState:
        endpoint, frontdoor = self._running()
        provisioned = self.provisioned
        functions = provisioned.functions if provisioned else {}
        dlqs = provisioned.dlq_urls if provisioned else {}
        return state_file.LocalState(
            endpoint_url=endpoint.url,
            region=endpoint.region,
            bucket=self.config.bucket,
            table=self.config.table,
            smtp_host=frontdoor.host,
            smtp_port=frontdoor.port,
            submission_address=self.submission_address,
            pid=pid,
            extract_function=functions.get(EXTRACT, ""),
            record_function=functions.get(RECORD, ""),
            extract_dlq_url=dlqs.get(EXTRACT, ""),
            record_dlq_url=dlqs.get(RECORD, ""),
            rule_set=provisioned.rule_set if provisioned else (self.rule_set or ""),
            dead_letter_file=str(self.dead_letter_path),
            data_dir=str(self.data_dir.resolve()) if self.data_dir else "",
            api_url=self.api.url if self.api else "",
            api_port=self.api.port if self.api else 0,
            api_token=self.api.token if self.api else "",
            api_user=self.api.staff_address if self.api else "",
            api_role=self.api.role if self.api else "",
            export_signing_key_arn=provisioned.export_key if provisioned else "",
            export_function=functions.get(EXPORT, ""),
        )

    def env(self) -> dict[str, str]:
        """What another shell exports to use this stack with the CLI or any AWS tool."""
        endpoint, _ = self._running()
        api = (
            {"MAILROOM_API_URL": self.api.url, "MAILROOM_API_TOKEN": self.api.token}
            if self.api
            else {}
        )
        return {
            **endpoint.env(),
            "MAILROOM_BUCKET": self.config.bucket,
            "MAILROOM_TABLE": self.config.table,
            "MAILROOM_SUBMISSION_ADDRESS": self.submission_address,
            **api,
            **state_file.ops_env(self.local_state(os.getpid())),
        }

    @property
    def dead_letter_path(self) -> Path:
        """The runner's dead letters: kept with the data (--data), else in the state dir."""
        if self.data_dir is not None and self._attach_url is None:
            return self.data_dir / DEAD_LETTERS
        return self.state_dir / DEAD_LETTERS

    @property
    def dashboard_url(self) -> str | None:
        """The page to open, signed in: the token rides in the fragment (never sent)."""
        return self.api.dashboard_link if self.api else None

    def catalog(self) -> Catalog:
        endpoint, _ = self._running()
        return Catalog(endpoint.client("dynamodb"), self.config.table, self.incoming_prefix)

    def _running(self) -> tuple[Endpoint, FrontDoor]:
        if self.endpoint is None or self.frontdoor is None:
            raise LocalStackError("the local stack is not running")
        return self.endpoint, self.frontdoor

    # -- waiting -------------------------------------------------------------------------------

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until nothing is queued or running (and, attached, a fresh poll finds nothing new)."""
        if self.runner is None:
            raise LocalStackError("the local stack is not running")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.runner.wait_idle(remaining):
                raise LocalStackError(f"local work still running after {timeout:.0f} s")
            fresh = self.poller.scan() if self.poller is not None else 0
            if fresh == 0 and self.runner.idle:
                return

    def wait_for_messages(
        self, message_ids: list[str], timeout: float = 60.0
    ) -> list[MessageOutcome]:
        """Until each message has its record and each file under `incoming/` its file record.

        A message whose invocation was dead-lettered counts as done (its outcome says so).
        """
        deadline = time.monotonic() + timeout
        catalog = self.catalog()
        pending = list(message_ids)
        outcomes: dict[str, MessageOutcome] = {}
        while True:
            self.wait_idle(max(0.1, deadline - time.monotonic()))
            for message_id in list(pending):
                outcome = self._outcome(catalog, message_id)
                if outcome is not None:
                    outcomes[message_id] = outcome
                    pending.remove(message_id)
            if not pending:
                return [outcomes[m] for m in message_ids]
            if time.monotonic() >= deadline:
                raise LocalStackError(
                    f"timed out after {timeout:.0f} s waiting for the records of "
                    f"{len(pending)} message(s): {', '.join(pending)} "
                    f"(function logs: {self.function_log.path})"
                )
            time.sleep(0.1)

    def _outcome(self, catalog: Catalog, message_id: str) -> MessageOutcome | None:
        letters = [d for d in self.dead_letters() if _mentions(d.event, message_id)]
        record, files = catalog.get_message(message_id)
        if letters:
            return MessageOutcome(message_id, record, files, letters)
        if record is None or record.outcome is Outcome.PROCESSING:
            return None
        recorded = {f.file_id for f in files}
        expected = [k for k in record.file_ids if k.startswith(self.incoming_prefix)]
        if record.file_ids_truncated and expected:
            # The record keeps only the first ids; all of the message's files went to incoming/.
            if len(recorded) < record.file_count:
                return None
        elif any(k not in recorded for k in expected):
            return None
        return MessageOutcome(message_id, record, files)

    def dead_letters(self) -> list[DeadLetter]:
        return list(self.runner.dead_letters) if self.runner is not None else []


def _mentions(event: Any, message_id: str) -> bool:
    return message_id in str(event)
