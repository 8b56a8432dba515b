"""Deployment commands: `mailroom migrate` (and `preflight`, `smoke`, in their own modules).

They parse, call a use case (mailroom.usecases.migrate, ...), and render. Progress goes to
stderr, and only on a terminal, so `--json` output stays clean for scripts.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from mailroom.cli.output import json_option, to_json

EXIT_PROBLEM = 1


class DeployError(click.ClickException):
    exit_code = EXIT_PROBLEM

    def show(self, file: Any = None) -> None:
        click.echo(f"mailroom: {self.format_message()}", err=True)


def app() -> Any:
    obj = click.get_current_context().find_root().obj
    if obj is None or not hasattr(obj, "config"):
        raise DeployError("run through the `mailroom` command")
    return obj


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int | None], None]]:
    """A callback(done, total) drawing a bar on stderr when it is a terminal; else silent."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True)
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=max(total or 0, done) or None)

        yield update


def schema_store() -> Any:
    from mailroom.adapters.schema import DynamoSchemaStore
    from mailroom.cli.config import dynamodb_client

    the_app = app()
    _, table = the_app.names()
    return DynamoSchemaStore(dynamodb_client(the_app.config), table)


@click.command()
@click.option("--dry-run", is_flag=True, help="Scan and count what would change; write nothing.")
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=500,
    show_default=True,
    help="Items per Scan page (the run saves its position after each page).",
)
@json_option
def migrate(dry_run: bool, page_size: int, as_json: bool) -> None:
    """Bring the table's items to this mailroom's schema version.

    Runs each registered step from the table's version to the code's (today: backfill the index
    keys older items lack, so `list` and the dashboard find them). Only missing or different
    index keys are set (UpdateItem); nothing staff set is touched. Safe to run again, and an
    interrupted run resumes where it stopped.
    """
    from mailroom.usecases import migrate as use

    store = schema_store()
    try:
        with progress_bar("migrate: items scanned") as update:
            report = use.migrate(store, dry_run=dry_run, page_size=page_size, progress=update)
    except use.SchemaTooNew as exc:
        raise DeployError(str(exc)) from exc
    if as_json:
        click.echo(to_json(report.as_dict()))
        return
    verb = "would change" if dry_run else "changed"
    if report.up_to_date:
        click.echo(f"schema version {report.to_version}: up to date, nothing to migrate")
    for step in report.steps:
        resumed = " (resumed)" if step.resumed else ""
        click.echo(
            f"step {step.version}{resumed}: {step.description}: scanned {step.scanned}, "
            f"{verb} {step.changed}, skipped {step.skipped}"
        )
    if report.steps:
        done = "would be at" if dry_run else "now at"
        click.echo(f"schema version {report.from_version} -> {done} {report.to_version}")


def _ops_and_extras(flags: dict[str, str | None]) -> tuple[Any, dict[str, Any], bool]:
    """The resolved ops names, the stack's other outputs (terraform or local state), local?"""
    from mailroom.cli.config import (
        LOCAL,
        Setting,
        TerraformUnavailable,
        local_state,
        local_state_extras,
        resolve_ops,
        run_terraform_output,
    )

    the_app = app()
    config = the_app.config
    names = resolve_ops(config, flags)
    # Local: the names came from a running `mailroom local`, or the endpoint is its emulator
    # (its `export` lines set MAILROOM_BUCKET and AWS_ENDPOINT_URL).
    state = local_state()
    local = config.bucket.source == LOCAL or (
        state is not None
        and bool(config.endpoint_url.value)
        and str(config.endpoint_url.value).rstrip("/") == state.endpoint_url.rstrip("/")
    )
    extras: dict[str, Any] = {}
    if local:
        extras = local_state_extras()
    elif config.infra_dir.value:
        from pathlib import Path

        try:
            extras = run_terraform_output(Path(config.infra_dir.value))
        except TerraformUnavailable:
            extras = {}
    # Names the flags and MAILROOM_* left unset come from the same stack's outputs.
    aliases = {
        "receipt_rule_set_name": "rule_set",
        "extract_function_name": "extract_function",
        "record_function_name": "record_function",
    }
    for key, setting in list(names.items()):
        value = extras.get(key) or extras.get(aliases.get(key, key))
        if not setting.value and isinstance(value, str) and value:
            names[key] = Setting(value, LOCAL if local else "terraform output")
    return names, extras, local


def _schema_or_none() -> Any:
    """The table's schema store; None before the first apply (no table known yet)."""
    try:
        return schema_store()
    except Exception:  # ConfigMissing: no bucket or table resolves before the first apply
        return None


def _domain(explicit: str | None, extras: dict[str, Any]) -> str | None:
    import os

    if explicit:
        return explicit.lower()
    value = os.environ.get("MAILROOM_MAIL_DOMAIN", "").strip() or extras.get("mail_domain")
    if value:
        return str(value).lower()
    address = extras.get("submission_address")
    return str(address).rsplit("@", 1)[-1].lower() if address else None


_STATUS_MARK = {
    "ok": "ok",
    "blocks": "BLOCKS",
    "warn": "warn",
    "not applicable locally": "n/a local",
    "skipped": "skipped",
}


@click.command()
@click.option("--domain", metavar="DOMAIN", help="Mail domain (else the mail_domain output).")
@click.option("--deep", is_flag=True, help="Also scan the whole table for items missing keys.")
@click.option("--rule-set", "receipt_rule_set_name", metavar="NAME", help="This stack's set.")
@click.option("--alarm-topic-arn", "alarm_topic_arn", metavar="ARN", help="The alarm topic.")
@json_option
def preflight(
    domain: str | None,
    deep: bool,
    as_json: bool,
    **flags: str | None,
) -> None:
    """Check that this account and region are ready to receive mail for the stack (read-only).

    SES receiving in the region, the domain's verification, its MX record, the active receipt
    rule set (and what apply does to it: nothing), Lambda concurrency against reservations, the
    alarm subscription and the table's schema version; --deep scans for items missing index
    keys. Each finding has its fix. Exits 1 when something blocks mail.
    """
    from mailroom.adapters.dns import MxResolver
    from mailroom.adapters.preflight_aws import LambdaConcurrency, SesSetup, TopicSubscribers
    from mailroom.cli.config import client
    from mailroom.usecases import preflight as use

    names, extras, local = _ops_and_extras(flags)
    config = app().config

    def name(key: str) -> str | None:
        return names[key].value if key in names else None

    functions = [
        n
        for n in (
            name("extract_function_name"),
            name("record_function_name"),
            extras.get("api_function_name"),
            extras.get("canary_function_name"),
        )
        if n
    ]
    target = use.Target(
        region=str(config.region.value or ""),
        domain=_domain(domain, extras),
        rule_set_name=name("receipt_rule_set_name"),
        function_names=[str(f) for f in functions],
        alarm_topic_arn=name("alarm_topic_arn"),
        local=local,
    )
    topic = target.alarm_topic_arn
    ports = use.Ports(
        ses=SesSetup(client(config, "ses")),
        resolver=None if local else MxResolver(),
        concurrency=LambdaConcurrency(client(config, "lambda")),
        subscribers=TopicSubscribers(client(config, "sns")) if topic else None,
        schema=_schema_or_none(),
    )
    with progress_bar("preflight --deep: items scanned") as update:
        report = use.preflight(target, ports, deep=deep, progress=update)
    if as_json:
        click.echo(to_json(report.as_dict()))
    else:
        rows = [(f.check, _STATUS_MARK.get(f.status, f.status), f.summary) for f in report.findings]
        width = max(len(r[0]) for r in rows)
        for finding, (check, mark, summary) in zip(report.findings, rows, strict=True):
            click.echo(f"{check.ljust(width)}  {mark:>9}  {summary}")
            if finding.fix and finding.status in ("blocks", "warn"):
                click.echo(f"{''.ljust(width)}  {'':>9}  fix: {finding.fix}")
        click.echo(
            "ready: nothing blocks mail"
            if not report.blocked
            else "NOT READY: fix the BLOCKS lines (docs/DEPLOY.md)"
        )
    if report.blocked:
        click.get_current_context().exit(EXIT_PROBLEM)


@click.command()
@click.option("--to", "address", metavar="ADDRESS", help="Submission address (else the stack's).")
@click.option(
    "--from", "sender", metavar="ADDRESS", help="Sender, in the stack's domain (smoke@DOMAIN)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(5, 3600),
    default=300,
    show_default=True,
    help="Seconds to wait for the records.",
)
@click.option(
    "--big-mb",
    type=click.FloatRange(0.01, 39),
    default=16.5,
    show_default=True,
    help="Size of the large message in MB (over 16 MB exercises what SES v1 could not send).",
)
@json_option
def smoke(
    address: str | None, sender: str | None, timeout: float, big_mb: float, as_json: bool
) -> None:
    """Send tagged test mail through the real path and check each stage, with its latency.

    A small message, one over 16 MB and one to a plus-address: file and message records,
    sha256 and case, empty dead-letter queues, the API's 401 without a token and the
    dashboard's security headers. Exits 1 naming the first failed stage.
    """
    import os

    from mailroom.adapters.catalog import Catalog
    from mailroom.adapters.smoke import OWN_DOMAIN_VERDICTS, SesV2Sender, SmtpSender, UrlProbe
    from mailroom.adapters.sqs import DeadLetterQueue
    from mailroom.cli.config import client, dynamodb_client
    from mailroom.usecases import smoke as use

    names, extras, local = _ops_and_extras({})
    the_app = app()
    config = the_app.config
    _, table = the_app.names()
    subs = extras.get("submission_addresses")
    address = (
        address
        or os.environ.get("MAILROOM_SUBMISSION_ADDRESS")
        or extras.get("submission_address")
        or (subs[0] if isinstance(subs, list) and subs else None)
    )
    if not address:
        raise DeployError("no submission address known: pass --to ADDRESS")
    domain = _domain(None, extras) or address.rsplit("@", 1)[-1]
    sender = sender or f"smoke@{domain}"
    if local:
        host, port = extras.get("smtp_host"), extras.get("smtp_port")
        if not host or not port:
            raise DeployError("the local stack's SMTP door is not known (is `mailroom local` up?)")
        # SES would DKIM-sign this as the stack's own domain: the door reports it so (issue 18).
        mail: Any = SmtpSender(
            str(host),
            int(port),
            verdicts=OWN_DOMAIN_VERDICTS,
            signed_by=sender.rpartition("@")[2].lower(),
        )
    else:
        mail = SesV2Sender(client(config, "sesv2"))
    queues = {
        key: DeadLetterQueue(client(config, "sqs"), str(names[key].value))
        for key in ("extract_dlq_url", "record_dlq_url")
        if names[key].value
    }
    target = use.Target(
        submission_address=address,
        sender=sender,
        api_url=extras.get("api_url") or None,
        dashboard_url=extras.get("dashboard_url") or extras.get("api_url") or None,
        big_bytes=int(big_mb * 1024 * 1024),
        timeout=timeout,
    )
    catalog = Catalog(dynamodb_client(config), table)

    def show(stage: str, found: int, wanted: int, elapsed: float) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{stage}: {found}/{wanted} after {elapsed:.0f} s", nl=False, err=True)

    def doctor() -> tuple[bool, list[str]]:
        from datetime import UTC, datetime

        from mailroom.adapters import inventory
        from mailroom.cli.config import s3_client
        from mailroom.model import PREFIXES
        from mailroom.usecases import doctor as examine

        bucket, _ = the_app.names()
        rule_set = names["receipt_rule_set_name"].value
        topic = names["alarm_topic_arn"].value
        stack = examine.Stack(
            bucket=bucket,
            raw_prefix=PREFIXES.raw,
            incoming_prefix=PREFIXES.incoming,
            objects=inventory.ObjectInventory(s3_client(config), bucket),
            records=inventory.RecordInventory(dynamodb_client(config), table, PREFIXES.incoming),
            queues={
                "extract_attachments": queues.get("extract_dlq_url"),
                "record_metadata": queues.get("record_dlq_url"),
            },
            rule_set_name=rule_set,
            rules=(lambda: inventory.active_receipt_rules(client(config, "ses")))
            if rule_set
            else None,
            alarm_topic_arn=topic,
            subscribers=(
                lambda: inventory.confirmed_subscriptions(client(config, "sns"), str(topic))
            )
            if topic
            else None,
        )
        found = examine.examine(stack, since=datetime.now(UTC).date())
        return found.healthy, [f.summary for f in found.findings if f.status == "problem"]

    report = use.run_smoke(target, mail, catalog, queues, UrlProbe(), doctor=doctor, progress=show)
    if as_json:
        click.echo(to_json(report.as_dict()))
    else:
        if sys.stderr.isatty():
            click.echo("", err=True)
        for stage in report.stages:
            mark = "ok" if stage.ok else "FAIL"
            click.echo(f"{stage.name:<20} {mark:>4}  {stage.seconds:7.2f} s  {stage.detail}")
        click.echo(
            f"smoke {report.tag}: mail flows end to end"
            if report.ok
            else f"smoke {report.tag}: FAILED at {report.failed_stage}"
        )
    if not report.ok:
        click.get_current_context().exit(EXIT_PROBLEM)
