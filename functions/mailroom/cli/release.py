"""`quarantine` (held messages, with why) and `release` (issue 22). Parse, call the use case
(usecases/release.py), render.

`release` hands the event to the deployed extract function with an asynchronous invoke, as
`reprocess` does: the caller needs lambda:InvokeFunction on it (the admin policy), never write
access to the bucket, and reads nothing under quarantine/ or raw/.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

from datetime import date

import click

from mailroom.cli import render
from mailroom.cli.app import App, pass_app
from mailroom.cli.deletes import _default_actor
from mailroom.cli.ops import _Ops, ops_options
from mailroom.cli.output import json_option, note, to_json
from mailroom.cli.params import DATE
from mailroom.usecases.files import MAX_LIMIT

VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")


@click.command("quarantine")
@click.option("--since", type=DATE, help="Only messages received from this UTC day.")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=50,
    show_default=True,
    help="Show at most this many, newest first.",
)
@json_option
@pass_app
def quarantine_command(app: App, since: date | None, limit: int, as_json: bool) -> None:
    """Messages the spam/virus policy held back, newest first, with why and their verdicts.

    Their files stay under quarantine/, which staff cannot read; `mailroom release MESSAGE
    --reason TEXT` has the extract function deliver them to incoming/.
    """
    from dataclasses import asdict

    from mailroom.usecases import release

    page = release.quarantine(app.catalog, since=since, limit=limit)
    if as_json:
        click.echo(to_json({"messages": [asdict(m) for m in page.messages], "next": page.next}))
        return
    if not page.messages:
        note("no quarantined messages")
        return
    rows = [
        [
            m.message_id,
            m.received_at,
            render.printable(m.from_address or "-"),
            str(m.file_count),
            render.printable(m.reason or "-"),
            " ".join(f"{v}={m.verdicts.get(v, '-')}" for v in VERDICTS),
        ]
        for m in page.messages
    ]
    header = ("MESSAGE ID", "RECEIVED", "FROM", "FILES", "HELD FOR", "VERDICTS")
    click.echo(render.render_rows(header, rows))
    if page.next:
        note(f"more than {limit} held messages: narrow with --since or raise --limit")


@click.command("release")
@click.argument("message_id")
@click.option(
    "--reason",
    required=True,
    metavar="TEXT",
    help="Why it is released (recorded on the message and its files; one line, at most 500 "
    "characters).",
)
@click.option(
    "--allow-virus",
    is_flag=True,
    help="Also release a message whose virus verdict is FAIL (admins only; recorded).",
)
@click.option(
    "--by", metavar="NAME", help="Who releases it, as recorded (default: cli:<your user name>)."
)
@ops_options(["extract_function_name"])
@json_option
@pass_app
def release_command(
    app: App,
    /,
    message_id: str,
    *,
    reason: str,
    allow_virus: bool,
    by: str | None,
    as_json: bool,
    **flags: str | None,
) -> None:
    """Release quarantined MESSAGE_ID: the extract function runs it again from raw/ with your
    decision overriding the quarantine, and delivers its files to incoming/.

    Its files are then recorded with released_by, released_at and the reason, and the message's
    outcome becomes `released` (`mailroom message MESSAGE_ID` shows it within seconds). A virus
    FAIL is refused unless --allow-virus is given.
    """
    from mailroom.usecases import release

    ops = _Ops(flags)
    function = ops.need("extract_function_name")
    queued = release.release_message(
        app.catalog,
        ops.invoker(),
        function,
        message_id,
        by=by or _default_actor(),
        reason=reason,
        allow_virus=allow_virus,
    )
    if as_json:
        click.echo(to_json(queued.as_dict()))
        return
    note(
        f"release of {queued.message_id} queued for {function} (by {queued.release.by}"
        + (", virus FAIL allowed" if allow_virus else "")
        + f"); `mailroom message {queued.message_id}` shows the result"
    )
