"""`mailroom local` and `mailroom demo`: the offline stack from the command line.

Imported by the CLI's main group only when the `local` extra (moto, aiosmtpd) is installed;
the heavy modules load when a command runs, not when `mailroom --help` does.
"""

# Lazy imports on purpose: moto and aiosmtpd load only when a local command runs.
# ruff: noqa: PLC0415

from __future__ import annotations

import logging
import os
import re
import shlex
import signal
import smtplib
import sys
import threading
from email import message_from_bytes
from email.utils import getaddresses, parseaddr
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from mailroom.cli.local_filing import local_receipts, local_rules, write_local_rules
from mailroom.local import state as state_file
from mailroom.receipts import ReceiptPolicy

if TYPE_CHECKING:
    from mailroom.local.app import LocalMailroom, MessageOutcome
    from mailroom.local.frontdoor import Received

DEFAULT_ADDRESS = "submit@mailroom.test"
DEFAULT_NAME = "mailroom-local"
DEFAULT_REGION = "eu-west-1"
DEFAULT_ENDPOINT_PORT = 4525  # mailroom.local.emulator.DEFAULT_ENDPOINT_PORT (not imported: moto)
DEFAULT_API_PORT = 4526  # mailroom.local.httpapi.DEFAULT_API_PORT (kept light, as above)
DEFAULT_STAFF = "staff@mailroom.local"  # mailroom.local.httpapi.STAFF_ADDRESS


def _setup_logging(verbose: bool) -> None:
    # Local mode's own notes go to stderr; the functions' JSON logs go to their log file.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mailroom local: %(message)s"))
    local_log = logging.getLogger("mailroom_local")
    local_log.handlers[:] = [handler]
    local_log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    local_log.propagate = False


def _address(value: str) -> str:
    # Checked while parsing, before anything starts.
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise click.BadParameter(f"{value!r} is not an address")
    return value


IN_MEMORY_NOTE = (
    "Without --data the bucket and the table are kept in memory only and are lost when the "
    "stack stops."
)


def _forwarders(value: str) -> frozenset[str]:
    from mailroom.settings import parse_trusted_forwarders

    forwarders, bad = parse_trusted_forwarders(value or "")
    if bad:
        raise click.BadParameter("; ".join(bad))
    return forwarders


@click.command("local", epilog=IN_MEMORY_NOTE)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=2525,
    show_default=True,
    help="SMTP port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--endpoint-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_ENDPOINT_PORT,
    show_default=True,
    help="AWS emulator port on 127.0.0.1, fixed so exported settings survive a restart "
    "(0: any free port).",
)
@click.option(
    "--api-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_API_PORT,
    show_default=True,
    help="Port on 127.0.0.1 of the staff HTTP API and the dashboard page (0: any free port).",
)
@click.option(
    "--staff",
    "staff_address",
    default=DEFAULT_STAFF,
    show_default=True,
    metavar="ADDR",
    callback=lambda _ctx, _param, value: _address(value),
    help="Who the local API token signs in as (the sender of uploads, who deletes).",
)
@click.option(
    "--role",
    type=click.Choice(["reader", "uploader", "admin"]),
    default="admin",
    show_default=True,
    help="The role of the local API token (its Cognito group: readers, uploaders, admins); "
    "the dashboard shows what the role may do.",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the bucket (every version, by its id), the table, the dead-letter queues and "
    "the dead-letter file in DIR across restarts (restored on start, written as they change; "
    "one stack per DIR; after a crash the next start repairs what was cut short). Without it, "
    "state is in memory and lost on stop.",
)
@click.option("--region", default=DEFAULT_REGION, show_default=True)
@click.option("--bucket", default=DEFAULT_NAME, show_default=True)
@click.option("--table", default=DEFAULT_NAME, show_default=True)
@click.option(
    "--address",
    "addresses",
    multiple=True,
    metavar="ADDR",
    help=f"Submission address the receipt rule accepts (repeatable) [{DEFAULT_ADDRESS}].",
)
@click.option(
    "--attach",
    "attach_url",
    metavar="URL",
    help="Use an emulator that is already provisioned (e.g. by terraform apply) "
    "instead of starting and provisioning one.",
)
@click.option(
    "--rule-set",
    metavar="NAME",
    help="With --attach: act as this SES receipt rule set instead of the active one.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Routing rules (JSON, as the Terraform variable routing_rules): cases and labels "
    "by recipient, subject and authenticated sender. `mailroom rules` lists them.",
)
@click.option(
    "--receipt-policy",
    type=click.Choice([p.value for p in ReceiptPolicy]),
    default=ReceiptPolicy.OFF.value,
    show_default=True,
    help="Receipts to senders (kept in the outbox, never mailed): off, authenticated "
    "(recommended) or all. `mailroom outbox` shows them.",
)
@click.option(
    "--trusted-forwarders",
    metavar="LIST",
    default="",
    callback=lambda _ctx, _param, value: _forwarders(value),
    help="Staff domains or addresses (comma-separated) whose authenticated forwards vouch for "
    "the original sender (the trusted_forwarders variable).",
)
@click.option(
    "--dkim-test-records",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="TEST ONLY: a JSON file of DNS TXT records ({name: text}) the DKIM checks of "
    "forwarded mail read instead of DNS.",
)
@click.option(
    "--spam-policy",
    type=click.Choice(["record", "tag", "quarantine"]),
    default="tag",
    show_default=True,
    help="What a spam FAIL does (the spam_policy variable): record it, tag the files, or "
    "quarantine the message (`mailroom quarantine`, `mailroom release`).",
)
@click.option(
    "--virus-policy",
    type=click.Choice(["strict", "fail_only"]),
    default="strict",
    show_default=True,
    help="What reaches incoming/ (the virus_policy variable): strict, only a virus PASS; "
    "fail_only, anything but a FAIL. The SMTP door's virus verdict is FAIL for EICAR.",
)
@click.option("--verbose", is_flag=True, help="Also show the functions' logs and metrics.")
def local(  # noqa: PLR0917 (click passes every option)
    port: int,
    endpoint_port: int,
    api_port: int,
    staff_address: str,
    role: str,
    data_dir: Path | None,
    region: str,
    bucket: str,
    table: str,
    addresses: tuple[str, ...],
    attach_url: str | None,
    rule_set: str | None,
    rules_path: Path | None,
    receipt_policy: str,
    verbose: bool,
    trusted_forwarders: frozenset[str] = frozenset(),
    dkim_test_records: Path | None = None,
    spam_policy: str = "tag",
    virus_policy: str = "strict",
) -> None:
    """Run mailroom offline: AWS emulator, SES-like SMTP door, functions. Ctrl-C stops it.

    Also serves the staff HTTP API and the dashboard page on 127.0.0.1 (--api-port), signed
    in with a token printed as MAILROOM_API_TOKEN (new at each start) and in the dashboard
    link's #token= fragment, for --role (admin unless told). The bucket and the table are in
    memory unless --data DIR is given.
    """
    from mailroom.local.app import LocalMailroom, LocalStackError
    from mailroom.local.stack import StackConfig
    from mailroom.policy import SpamPolicy, VirusPolicy

    _setup_logging(verbose)
    if attach_url and data_dir is not None:
        raise click.UsageError("--data keeps a stack this command starts; not with --attach")
    running = state_file.read_state()
    if running is not None and running.pid != os.getpid():
        raise click.ClickException(
            f"a local stack is already running: pid {running.pid}, SMTP "
            f"{running.smtp_host}:{running.smtp_port}, AWS endpoint {running.endpoint_url} "
            f"(port {running.endpoint_port}); stop it first (kill {running.pid})"
        )

    def announce(received: Received) -> None:
        click.echo(
            f"received {received.message_id} from {received.envelope_from or '<>'} "
            f"for {', '.join(received.recipients)} (virus {received.verdicts.virus})",
            err=True,
        )

    routing = local_rules(rules_path)
    config = StackConfig(
        bucket=bucket,
        table=table,
        region=region,
        submission_addresses=addresses or (DEFAULT_ADDRESS,),
        routing=routing,
        receipts=local_receipts(receipt_policy, addresses or (DEFAULT_ADDRESS,)),
        trusted_forwarders=trusted_forwarders,
        dkim_test_records=str(dkim_test_records.resolve()) if dkim_test_records else None,
        spam_policy=SpamPolicy(spam_policy),
        virus_policy=VirusPolicy(virus_policy),
    )
    stack = (
        LocalMailroom.attach(
            attach_url,
            region=region,
            smtp_port=port,
            verbose=verbose,
            on_received=announce,
            rule_set=rule_set,
        )
        if attach_url
        else LocalMailroom(
            config,
            smtp_port=port,
            emulator_port=endpoint_port,
            verbose=verbose,
            on_received=announce,
            data_dir=data_dir,
            api_port=api_port,
            staff_address=staff_address,
            role=role,
        )
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        stack.start()
    except (LocalStackError, OSError) as exc:
        from mailroom.local.persist import DataDirBusy

        hint = (
            " (another program has the port? choose others with --port, --endpoint-port "
            "and --api-port, or 0 for any free port)"
            if (port or endpoint_port or api_port) and not isinstance(exc.__cause__, DataDirBusy)
            else ""
        )
        raise click.ClickException(f"could not start the local stack: {exc}{hint}") from exc
    pid = os.getpid()
    try:
        path = state_file.write_state(stack.local_state(pid))
        write_local_rules(path.parent, routing)
        for name, value in stack.env().items():
            click.echo(f"export {name}={shlex.quote(value)}")
        if stack.dashboard_url:
            click.echo(f"# dashboard: {stack.dashboard_url}")
        assert stack.frontdoor is not None
        if data_dir is not None:
            objects, items = stack.restored
            kept = f"# data kept in {data_dir} (restored {objects} object(s), {items} item(s))"
        elif attach_url:
            kept = "# state lives in the attached emulator"
        else:
            kept = (
                "# state is IN MEMORY only: lost when this stack stops (use --data DIR to keep it)"
            )
        if stack.reconciled is not None:
            kept += f"\n# {stack.reconciled.summary()}"
        click.echo(
            f"# SMTP front door on {stack.frontdoor.host}:{stack.frontdoor.port}, accepting "
            f"{', '.join(stack.config.submission_addresses)}\n"
            f"{kept}\n"
            f"# state: {path}   function logs: {stack.function_log.path}\n"
            "# mailroom commands in this user's shells find this stack by itself; "
            "Ctrl-C stops it",
            err=True,
        )
        sys.stdout.flush()
        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop.wait(0.1):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        click.echo("stopping", err=True)
    finally:
        state_file.clear_state(pid)
        stack.stop()


@click.command("demo")
@click.option(
    "--mail",
    "mail_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of .eml files to send.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 600),
    default=60.0,
    show_default=True,
    help="Seconds to wait for every message and file to be recorded.",
)
@click.option("--verbose", is_flag=True, help="Also show the functions' logs and metrics.")
def demo(mail_dir: Path, timeout: float, verbose: bool) -> None:
    """Start the stack on free ports, mail every .eml in DIR to it, show the result, stop."""
    from mailroom.local.app import LocalMailroom, LocalStackError
    from mailroom.local.stack import StackConfig

    _setup_logging(verbose)
    messages = sorted(mail_dir.glob("*.eml"))
    if not messages:
        raise click.ClickException(f"no .eml files in {mail_dir}")
    config = StackConfig(submission_addresses=(DEFAULT_ADDRESS,))
    demo_dir = state_file.state_dir() / "demo"
    for previous_run in ("functions.log", "dead-letters.jsonl"):
        (demo_dir / previous_run).unlink(missing_ok=True)
    stack = LocalMailroom(config, smtp_port=0, state_dir=demo_dir, verbose=verbose, api_port=0)
    try:
        stack.start()
    except (LocalStackError, OSError) as exc:
        raise click.ClickException(f"could not start the local stack: {exc}") from exc
    try:
        click.echo(f"# dashboard: {stack.dashboard_url} (while the demo runs)", err=True)
        sent = [(path, _send(stack, path)) for path in messages]
        click.echo(f"sent {len(sent)} message(s) over SMTP; waiting for the functions", err=True)
        try:
            outcomes = stack.wait_for_messages([m for _, m in sent], timeout=timeout)
        except LocalStackError as exc:
            raise click.ClickException(str(exc)) from exc
        failed = _report(sent, outcomes)
        click.echo(f"function logs and metrics: {stack.function_log.path}", err=True)
        click.echo(
            "the demo stack stops now; `mailroom local` keeps one running, with the dashboard "
            f"on http://127.0.0.1:{DEFAULT_API_PORT}/",
            err=True,
        )
    finally:
        stack.stop()
    if failed:
        raise click.ClickException(f"{failed} message(s) failed; see the function logs")


def _send(stack: LocalMailroom, path: Path) -> str:
    """Send one file as a mail program would; return the SES message id from the 250 reply."""
    from mailroom.local.frontdoor import first_rule

    raw = re.sub(rb"\r?\n", b"\r\n", path.read_bytes())  # SMTP lines end in CRLF
    headers = message_from_bytes(raw)
    rules = stack.frontdoor.rules() if stack.frontdoor else []
    candidates = [a for _, a in getaddresses(headers.get_all("To", [])) if a]
    recipient = next(
        (a for a in candidates if first_rule(rules, a) is not None), stack.submission_address
    )
    sender = parseaddr(str(headers.get("From", "")))[1] or "demo@mailroom.test"
    assert stack.frontdoor is not None
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
        smtp.ehlo("demo.mailroom.test")
        smtp.mail(sender)
        code, reply = smtp.rcpt(recipient)
        if code != 250:
            raise click.ClickException(f"{path.name}: {recipient} refused: {code} {reply!r}")
        code, reply = smtp.data(raw)
        if code != 250:
            raise click.ClickException(f"{path.name}: refused: {code} {reply!r}")
    return reply.decode("ascii", "replace").split()[-1]


def _report(sent: list[tuple[Path, str]], outcomes: list[MessageOutcome]) -> int:
    from mailroom.cli.output import show_files

    files = sorted((f for o in outcomes for f in o.files), key=lambda f: (f.received_at, f.file_id))
    show_files(files, as_json=False, empty="no files were recorded")
    click.echo("")
    click.echo("what happened to each message:")
    failed = 0
    width = max(len(path.name) for path, _ in sent)
    for (path, _), outcome in zip(sent, outcomes, strict=True):
        record = outcome.record
        if outcome.dead_letters or record is None:
            failed += 1
            error = outcome.dead_letters[-1].error if outcome.dead_letters else "no record"
            click.echo(f"  {path.name:<{width}}  {'failed':<14}  {error}")
            continue
        if str(record.outcome) == "failed":
            failed += 1
        count = len(record.file_ids)
        files_text = f"{count} file{'s' if count != 1 else ''}"
        if str(record.outcome) == "quarantined":
            files_text += " held in quarantine/ (none in incoming/)"
        sender = record.from_address or record.envelope_sender or "unknown sender"
        if record.original_sender:
            sender += f", forwarding {record.original_sender}"
        reason = f"; {record.reason}" if record.reason else ""
        click.echo(
            f"  {path.name:<{width}}  {record.outcome!s:<14}  {files_text} from {sender}{reason}"
        )
    return failed
