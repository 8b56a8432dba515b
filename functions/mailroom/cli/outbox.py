"""`outbox` (what local mode sent: events, receipts) and `watch` (new outcomes, live; issue 21).

Both read the running `mailroom local`'s outbox file (`local/outbox_file.py`) in the state dir:
no AWS call, no emulator loaded. On AWS, outcome events go to the stack's EventBridge bus; see
docs/ARCHITECTURE.md "Outcome events" for subscribing to them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from mailroom.cli.app import CliError
from mailroom.cli.output import format_option, note, to_json
from mailroom.local import state as state_file
from mailroom.local.outbox_file import OUTBOX_FILE, read_outbox

MAX_POLL_S = 5.0


def _outbox_path() -> Path:
    path = state_file.state_dir() / OUTBOX_FILE
    if state_file.read_state() is None and not path.is_file():
        raise CliError(
            "no outbox: it is local mode's (start `mailroom local`); on AWS, outcome events go "
            "to the stack's EventBridge bus"
        )
    return path


def describe(entry: dict[str, Any]) -> str:
    """One line for a person."""
    at = str(entry.get("at", ""))
    if entry.get("kind") == "receipt":
        return f"{at}  receipt  to {entry.get('to')}  {entry.get('subject')}"
    detail = entry.get("detail") or {}
    docs = detail.get("documents") or []
    names = ", ".join(str(d.get("name")) for d in docs[:5])
    more = detail.get("document_count", 0) - len(docs[:5])
    if more > 0:
        names += f" (+{more} more)"
    parts = [
        at,
        str(entry.get("detail_type")),
        str(detail.get("message_id")),
        f"case={detail.get('case') or '-'}",
    ]
    if detail.get("labels"):
        parts.append("labels=" + ",".join(detail["labels"]))
    if detail.get("reason"):
        parts.append(f"reason={detail['reason']}")
    if names:
        parts.append(names)
    return "  ".join(parts)


@click.command("outbox")
@click.option("--kind", type=click.Choice(["event", "receipt"]), help="Only this kind.")
@format_option(("table", "json"))
def outbox_command(kind: str | None, fmt: str) -> None:
    """What the running `mailroom local` sent: outcome events and receipts, oldest first.

    Nothing leaves this computer: receipts are kept here, never mailed.
    """
    entries, _ = read_outbox(_outbox_path())
    if kind:
        entries = [e for e in entries if e.get("kind") == kind]
    if fmt == "json":
        click.echo(to_json(entries))
        return
    if not entries:
        note("the outbox is empty")
    for entry in entries:
        click.echo(describe(entry))


@click.command("watch")
@click.option(
    "--interval",
    type=click.FloatRange(0.1, MAX_POLL_S),
    default=0.5,
    show_default=True,
    help="Seconds between looks at the outbox.",
)
@click.option("--all", "from_start", is_flag=True, help="Print what is already there first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
def watch_command(interval: float, from_start: bool, as_json: bool) -> None:
    """Print new outcomes (files, case, what was held back) and receipts as they arrive, like
    `tail -f`. Ctrl-C stops it."""
    path = _outbox_path()
    offset = 0 if from_start else read_outbox(path)[1]  # after the last whole line
    try:
        while True:
            if path.is_file() and path.stat().st_size < offset:
                offset = 0  # a new `mailroom local` started over
            entries, offset = read_outbox(path, offset)
            for entry in entries:
                click.echo(to_json(entry, pretty=False) if as_json else describe(entry))
            time.sleep(interval)
    except KeyboardInterrupt:
        return
