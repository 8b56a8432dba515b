"""Recovery commands: `mailroom reprocess`, `mailroom redrive`, `mailroom doctor`.

They parse, call a use case (mailroom.usecases.*), and render. Work is handed to the deployed
functions by asynchronous invokes, so nothing is written to the bucket with the caller's
credentials; the caller needs lambda:InvokeFunction, sqs:ReceiveMessage/DeleteMessage on the
dead-letter queues, and read access to the bucket and table.

Self-contained on purpose: the group's App is found on the click context (duck-typed), so this
module imports nothing from cli/main.py and adds no import cycle.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from mailroom.cli.config import OPS_NAMES, Config, Setting, client, resolve_ops
from mailroom.cli.output import json_option, to_json
from mailroom.cli.params import DATE, DurationParam
from mailroom.model import PREFIXES

if TYPE_CHECKING:
    from mailroom.ports import Invoker
    from mailroom.usecases.doctor import Report

FUNCTIONS = ("extract_attachments", "record_metadata")
EXIT_PROBLEM = 1
EXIT_PENDING = 3  # nothing wrong found, but objects younger than the grace were not judged

F = TypeVar("F", bound=Callable[..., Any])

# Flag per ops name: what a person types, and the help it shows.
_FLAGS = {
    "extract_function_name": (
        "--extract-function",
        "NAME",
        "Deployed extract_attachments function",
    ),
    "record_function_name": ("--record-function", "NAME", "Deployed record_metadata function"),
    "extract_dlq_url": ("--extract-dlq-url", "URL", "Dead-letter queue of extract_attachments"),
    "record_dlq_url": ("--record-dlq-url", "URL", "Dead-letter queue of record_metadata"),
    "receipt_rule_set_name": ("--rule-set", "NAME", "SES receipt rule set that should be active"),
    "alarm_topic_arn": ("--alarm-topic-arn", "ARN", "SNS topic the alarms publish to"),
    "dead_letter_file": (
        "--dead-letter-file",
        "PATH",
        "`mailroom local`'s dead-letter file (JSON lines)",
    ),
}


class OpsError(click.ClickException):
    exit_code = EXIT_PROBLEM

    def show(self, file: Any = None) -> None:
        click.echo(f"mailroom: {self.format_message()}", err=True)


class _App(Protocol):
    """What the `mailroom` group puts on the context (cli.main.App)."""

    @property
    def config(self) -> Config: ...
    def names(self) -> tuple[str, str]: ...


def _app() -> _App:
    obj = click.get_current_context().find_root().obj
    if obj is None or not hasattr(obj, "config"):
        raise OpsError("run through the `mailroom` command")
    app: _App = obj
    return app


def ops_options(names: Sequence[str]) -> Callable[[F], F]:
    """The flags for the ops names a command uses (else MAILROOM_*, local stack, terraform)."""

    def decorate(func: F) -> F:
        for name in reversed(names):
            flag, metavar, text = _FLAGS[name]
            env = f"MAILROOM_{name.upper()}"
            func = click.option(flag, name, metavar=metavar, help=f"{text} (else ${env}, ...).")(
                func
            )
        return func

    return decorate


class _Ops:
    """Resolved names and clients for one command run."""

    def __init__(self, flags: dict[str, str | None]) -> None:
        self.app = _app()
        self.bucket, self.table = self.app.names()
        self.config = self.app.config
        self.names: dict[str, Setting] = resolve_ops(self.config, flags)

    def need(self, name: str) -> str:
        value = self.names[name].value
        if not value:
            flag = _FLAGS[name][0]
            raise click.UsageError(
                f"no {name.replace('_', ' ')} configured: pass {flag}, set "
                f"MAILROOM_{name.upper()}, or use a stack whose `terraform output` (or "
                f"`mailroom local` state) has `{name}`"
            )
        return value

    def invoker(self) -> Invoker:
        from mailroom.adapters.lambda_invoke import LambdaInvoker

        return LambdaInvoker(client(self.config, "lambda"))

    def queue(self, function: str) -> Any:
        from mailroom.adapters.sqs import DeadLetterQueue

        url = self.names[_dlq_name(function)].value
        return DeadLetterQueue(client(self.config, "sqs"), url) if url else None

    def objects(self) -> Any:
        from mailroom.adapters.inventory import ObjectInventory
        from mailroom.cli.config import s3_client

        return ObjectInventory(s3_client(self.config), self.bucket)

    def records(self) -> Any:
        from mailroom.adapters.inventory import RecordInventory
        from mailroom.cli.config import dynamodb_client

        return RecordInventory(dynamodb_client(self.config), self.table, PREFIXES.incoming)


def _dlq_name(function: str) -> str:
    return "extract_dlq_url" if function == "extract_attachments" else "record_dlq_url"


def _function_name(function: str) -> str:
    return "extract_function_name" if function == "extract_attachments" else "record_function_name"


def _rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


# -- reprocess --


@click.command()
@click.argument("message_ids", nargs=-1, metavar="[MESSAGE_ID]...")
@click.option(
    "--outcome",
    type=click.Choice(["failed", "processing"]),
    help="Every message with this outcome instead of MESSAGE_IDs.",
)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every message that was extracted (extracted, no_attachments, quarantined, failed, "
    "processing) received since --since: applies the current rules (roles, archives) to older "
    "mail; identical files are not rewritten, staff deletes stay.",
)
@click.option(
    "--since", type=DATE, help="With --outcome or --all: messages received from this UTC day."
)
@click.option("--dry-run", is_flag=True, help="Show what would be queued; invoke nothing.")
@ops_options(["extract_function_name"])
@json_option
def reprocess(
    message_ids: tuple[str, ...],
    *,
    outcome: str | None,
    every: bool,
    since: date | None,
    dry_run: bool,
    as_json: bool,
    **flags: str | None,
) -> None:
    """Run messages again from raw/ through the deployed extract function.

    The event is rebuilt from the message record (or, for a raw message without one, from its
    headers) and queued with an asynchronous invoke: the function's own code and role do the
    work, retried and dead-lettered like mail from SES. Prints what it queued.
    """
    from mailroom.usecases import reprocess as use

    if sum((bool(message_ids), bool(outcome), every)) != 1:
        raise click.UsageError(
            "give MESSAGE_IDs, --outcome failed|processing or --all --since DAY (one of them)"
        )
    if since and not (outcome or every):
        raise click.UsageError("--since goes with --outcome or --all")
    if every and not since:
        raise click.UsageError("--all needs --since DAY (reprocessing is bounded by a date)")
    ops = _Ops(flags)
    function = ops.need("extract_function_name")
    records = ops.records()
    if every:
        targets = use.targets_since(records, PREFIXES.raw, since)
    elif outcome:
        targets = use.targets_for_outcome(outcome, records, PREFIXES.raw, since)
    else:
        targets = use.targets_for_ids(message_ids, records, PREFIXES.raw)
    result = use.reprocess(
        targets,
        function,
        ops.objects(),
        ops.invoker() if not dry_run else _NoInvoker(),
        dry_run=dry_run,
    )
    if as_json:
        click.echo(to_json({**result.as_dict(), "dry_run": dry_run}))
    else:
        if result.queued:
            click.echo(
                _rows(
                    ("MESSAGE ID", "OUTCOME BEFORE"),
                    [(q["message_id"], q["outcome_before"]) for q in result.queued],
                )
            )
        verb = "would queue" if dry_run else "queued"
        click.echo(
            f"{verb} {len(result.queued)} message(s) for {function}"
            + ("" if dry_run or not result.queued else "; `mailroom message ID` shows the result"),
            err=True,
        )
        for skip in result.skipped:
            click.echo(f"mailroom: skipped {skip['message_id']}: {skip['reason']}", err=True)
    if result.skipped:
        click.get_current_context().exit(EXIT_PROBLEM)


class _NoInvoker:
    def invoke_async(self, function: str, event: Any) -> None:  # pragma: no cover - dry run
        raise AssertionError("a dry run invokes nothing")


# -- redrive --


@click.command()
@click.option(
    "--function",
    "functions",
    type=click.Choice(FUNCTIONS),
    multiple=True,
    help="Only this function's dead-letter queue (default: both).",
)
@click.option("--dry-run", is_flag=True, help="Count and show the events; move nothing.")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    help="At most this many events per queue (default: what the queue holds at the start).",
)
@ops_options(list(OPS_NAMES[:4]))
@json_option
def redrive(
    functions: tuple[str, ...],
    dry_run: bool,
    limit: int | None,
    as_json: bool,
    **flags: str | None,
) -> None:
    """Move each dead-letter queue's events back through their function.

    Each event is handed back with an asynchronous invoke and deleted from the queue only once
    Lambda accepted it: an interrupted redrive loses nothing and can simply be run again.
    """
    from mailroom.usecases.redrive import redrive as run

    ops = _Ops(flags)
    chosen = functions or FUNCTIONS
    plans = []
    for function in chosen:
        name = ops.need(_function_name(function))
        queue = ops.queue(function)
        if queue is None:
            ops.need(_dlq_name(function))  # raises the usage error naming the flag
        plans.append((function, name, queue))
    invoker = ops.invoker() if not dry_run else _NoInvoker()
    results = [
        run(function, name, queue, invoker, dry_run=dry_run, limit=limit)
        for function, name, queue in plans
    ]
    failures = sum(len(r.failures) for r in results)
    if as_json:
        click.echo(to_json([r.as_dict() for r in results]))
    else:
        for r in results:
            if dry_run:
                click.echo(f"{r.function}: {r.seen} event(s) in the dead-letter queue (dry run)")
            else:
                click.echo(
                    f"{r.function}: {r.redriven} of {r.seen} event(s) redriven to {r.function_name}"
                )
            for failure in r.failures:
                click.echo(
                    f"mailroom: {r.function}: kept {failure['message_id']}: {failure['reason']}",
                    err=True,
                )
    if failures:
        click.get_current_context().exit(EXIT_PROBLEM)


# -- doctor --


@click.command()
@click.option("--since", type=DATE, help="Only objects and records from this UTC day on.")
@click.option(
    "--stuck-after",
    type=DurationParam(minimum=60, maximum=7 * 86400),
    default="15m",
    show_default=True,
    help="A message still `processing` after this long is stuck.",
)
@click.option(
    "--grace",
    type=DurationParam(minimum=0, maximum=86400),
    default="5m",
    show_default=True,
    help="Objects younger than this are not judged yet (they may be in flight); they are "
    "reported as pending.",
)
@click.option("--fix", is_flag=True, help="Reprocess and re-record what is missing.")
@ops_options(list(OPS_NAMES))
@json_option
def doctor(
    since: date | None,
    stuck_after: int,
    grace: int,
    fix: bool,
    as_json: bool,
    **flags: str | None,
) -> None:
    """Reconcile raw/, records and objects, and check the stack's health.

    Reports raw messages without a record, messages stuck in `processing`, objects under
    incoming/ without a file record, records whose object is gone, dead-letter queue depths,
    whether the receipt rule set is active and holds the rule, and whether the alarm topic has
    a subscriber; with versions, that each file record's version still exists; with `mailroom
    local`, the dead-letter file's events not accounted for yet. Exits 1 when something is
    wrong and says what to run; 3 when nothing is wrong but objects younger than --grace were
    left for later (reported as pending, never as ok).
    """
    from mailroom.adapters import inventory
    from mailroom.usecases import doctor as use

    ops = _Ops(flags)
    rule_set = ops.names["receipt_rule_set_name"].value
    topic = ops.names["alarm_topic_arn"].value
    letters = ops.names["dead_letter_file"].value
    objects = ops.objects()
    stack = use.Stack(
        bucket=ops.bucket,
        raw_prefix=PREFIXES.raw,
        incoming_prefix=PREFIXES.incoming,
        objects=objects,
        records=ops.records(),
        queues={f: ops.queue(f) for f in FUNCTIONS},
        extract_function=ops.names["extract_function_name"].value,
        record_function=ops.names["record_function_name"].value,
        rule_set_name=rule_set,
        rules=(lambda: inventory.active_receipt_rules(client(ops.config, "ses")))
        if rule_set
        else None,
        alarm_topic_arn=topic,
        subscribers=(
            lambda: inventory.confirmed_subscriptions(client(ops.config, "sns"), str(topic))
        )
        if topic
        else None,
        version_exists=objects.version_exists,
        dead_letters=(lambda: inventory.read_dead_letters(Path(str(letters)))) if letters else None,
        dead_letter_file=letters,
    )
    report = use.examine(
        stack,
        since=since,
        stuck_after=timedelta(seconds=stuck_after),
        grace=timedelta(seconds=grace),
        fix=fix,
        invoker=ops.invoker() if fix else None,
    )
    if as_json:
        click.echo(to_json(report.as_dict()))
    else:
        _show_report(report)
    if not report.healthy:
        click.get_current_context().exit(EXIT_PROBLEM)
    if not report.settled:
        click.get_current_context().exit(EXIT_PENDING)


_MARKS = {
    "ok": "ok",
    "problem": "PROBLEM",
    "skipped": "skipped",
    "info": "note",
    "pending": "pending",
}


def _show_report(report: Report) -> None:
    for finding in report.findings:
        click.echo(f"[{_MARKS[finding.status]:>7}] {finding.summary}")
        if finding.status in ("problem", "info"):
            for item in finding.items:
                click.echo(f"          {item}")
            if finding.count > len(finding.items):
                click.echo(f"          ... and {finding.count - len(finding.items)} more")
            if finding.fix:
                click.echo(f"          run: {finding.fix}")
    for fixed in report.fixed:
        if "error" in fixed:
            click.echo(f"fix {fixed['action']}: not done: {fixed['error']}", err=True)
        elif fixed["action"] == "reprocess":
            click.echo(
                f"fix: queued {len(fixed['queued'])} message(s) for {fixed['function_name']}",
                err=True,
            )
        else:
            click.echo(
                f"fix: queued {fixed['queued']} object(s) for {fixed['function_name']}", err=True
            )
    if report.fixed:
        click.echo("fixes are queued: run `mailroom doctor` again in a minute to confirm", err=True)
    elif not report.healthy:
        click.echo("something is wrong: see the `run:` lines (docs/OPERATIONS.md)", err=True)
    elif not report.settled:
        click.echo(
            "nothing wrong among what was judged, but some objects are younger than the grace: "
            "run again later, or with --grace 0s (exit 3)",
            err=True,
        )
