"""Queries: `list`, `show`, `message`, `messages`, `duplicates`. Parse, call a use case, render."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import click

from mailroom.audit import Target
from mailroom.cli import render
from mailroom.cli.app import App, pass_app
from mailroom.cli.audit import filters as audit_filters
from mailroom.cli.options import range_options
from mailroom.cli.output import (
    format_option,
    local_time,
    note,
    show_fields,
    show_files,
    show_messages,
    to_json,
    wide_option,
)
from mailroom.cli.params import DurationParam
from mailroom.usecases import files, filing, messages
from mailroom.usecases.files import MAX_LIMIT

MAX_AGE = 3650 * 86400  # --older-than: ten years


@click.command("list")
@click.option(
    "--sender",
    metavar="ADDR",
    help="Only files from this address: as the sender, or as the client behind a forward.",
)
@click.option("--case", metavar="TAG", help="Only files of this case (submit+TAG@...).")
@click.option(
    "--include-deleted", is_flag=True, help="Also files deleted by staff (marked deleted)."
)
@click.option(
    "--include-claimed",
    is_flag=True,
    help="With --sender: also files whose original sender is only claimed (not verified by "
    "DKIM nor vouched for by a trusted forwarder); shown marked (claimed).",
)
@click.option(
    "--all",
    "include_all",
    is_flag=True,
    help="Also inline images, signature logos, tracking pixels, kept bodies and the stack's "
    "own smoke and canary probes (set aside).",
)
@range_options
@wide_option
@format_option()
@pass_app
def list_files(
    app: App,
    *,
    sender: str | None,
    case: str | None,
    since: date | None,
    until: date | None,
    limit: int,
    include_deleted: bool,
    include_claimed: bool = False,
    include_all: bool,
    wide: bool,
    fmt: str,
) -> None:
    """Documents received, newest first (no --since/--until: all time); --all: every file.

    With --sender, a forwarded file is found by the staff member who forwarded it and by the
    client who sent it; JSON and CSV say which matched ("matched": "sender" or
    "original_sender") and how far the client is trusted ("original_sender_level": verified,
    vouched or claimed). A claimed client is found only with --include-claimed.
    """
    query = files.FileQuery(
        sender=sender,
        case=case,
        since=since,
        until=until,
        limit=limit,
        include_deleted=include_deleted,
        include_claimed=include_claimed,
        include_all=include_all,
    )
    page = files.list_files(app.catalog, query)
    shown = audit_filters(
        sender=sender,
        case=case,
        since=since,
        until=until,
        include_deleted=include_deleted,
        include_claimed=include_claimed,
        all=include_all,
    )
    app.record("list", Target.listing("files"), {"filters": shown})
    show_files(
        [m.record for m in page.files],
        fmt,
        "no files found",
        matched=[m.matched for m in page.files] if sender else None,
        wide=wide,
    )
    if page.next:
        more_note(limit, "files")


def more_note(limit: int, what: str) -> None:
    """Said (on stderr, in every format) whenever a listing stops before the end."""
    note(
        f"(the newest {limit} {what}; there are more: --limit N shows up to {MAX_LIMIT}, "
        "--since/--until pick a range)"
    )


@click.command()
@click.argument("file_id")
@format_option(("table", "json"))
@pass_app
def show(app: App, file_id: str, fmt: str) -> None:
    """One file's record: name, size, type, role, sha256, sender, its message's subject,
    excerpt and links."""
    record = files.get_file(app.catalog, file_id)
    view = messages.get_message(app.catalog, record.message_id)
    parent = messages.container_of(record, view.files)
    app.record("show", Target.file(record.file_id))
    if fmt == "json":
        click.echo(to_json(files.FileMatch(record).to_dict()))
    else:
        show_fields(
            render.file_fields(record, local_time()) + render.context_fields(view.record, parent)
        )


@click.command()
@click.argument("message_id")
@wide_option
@format_option(("table", "json"))
@pass_app
def message(app: App, message_id: str, wide: bool, fmt: str) -> None:
    """A message's record (outcome, verdicts, recipients, case) and its files.

    A quarantined message's files are listed as held: kept under quarantine/, never served.
    An upload's id (up-..., as `mailroom upload` prints) lists the files of that upload.
    """
    view = messages.get_message(app.catalog, message_id)
    app.record("show", Target.message(message_id))
    if fmt == "json":
        click.echo(
            to_json(
                {
                    "message": asdict(view.record) if view.record else None,
                    "upload": view.upload,
                    "files": [asdict(f) for f in view.files],
                    "held": view.held,
                }
            )
        )
        return
    if view.record is not None:
        show_fields(render.message_fields(view.record, local_time()))
    elif view.upload:
        show_fields(render.upload_fields(message_id, view.files, local_time()))
    else:
        note(f"{message_id}: no message record, only files")
    if view.files:
        click.echo()
        show_files(view.files, wide=wide)
    if view.held:
        click.echo()
        click.echo(f"HELD IN QUARANTINE ({len(view.held)}, never served)")
        for key in view.held:
            click.echo(f"  {render.printable(key)}")


@click.command()
@click.argument("file_id", required=False)
@click.option("--sha256", "digest", metavar="HEX", help="Look up by content hash instead.")
@wide_option
@format_option()
@pass_app
def duplicates(app: App, file_id: str | None, digest: str | None, wide: bool, fmt: str) -> None:
    """Other files with the same bytes (same sha256) as FILE_ID, newest first."""
    if bool(file_id) == bool(digest):
        raise click.UsageError("give either FILE_ID or --sha256 HEX (one of them)")
    found = files.duplicates(app.catalog, file_id=file_id, sha256=digest)
    show_files(found, fmt, "no other file has these bytes", wide=wide)


@click.command()
@click.option(
    "--outcome",
    type=click.Choice(messages.OUTCOMES),
    help="Only messages with this outcome (default: every message).",
)
@click.option(
    "--older-than",
    type=DurationParam(minimum=1, maximum=MAX_AGE),
    metavar="DURATION",
    help="Only records received longer ago than this (e.g. 15m, 2h, 1d): stuck ones.",
)
@click.option(
    "--needs-filing",
    is_flag=True,
    help="Only messages the routing rules could not file (`mailroom file` files them).",
)
@range_options
@wide_option
@format_option()
@pass_app
def messages_command(
    app: App,
    *,
    outcome: str | None,
    older_than: int | None,
    needs_filing: bool,
    since: date | None,
    until: date | None,
    limit: int,
    wide: bool,
    fmt: str,
) -> None:
    """Messages, newest first: every one, or those with one outcome (failed, quarantined, ...).

    `--outcome processing --older-than 15m` shows messages whose extraction never finished.
    """
    query = messages.MessageQuery(outcome, since, until, older_than, limit)
    if needs_filing:  # issue 21: a sparse index, so the cost follows the rows returned
        if outcome or older_than:
            raise click.UsageError("--needs-filing takes no --outcome or --older-than")
        page = filing.page_needing_filing(app.catalog, query)
        app.record(
            "list", Target.listing("filing"), {"filters": audit_filters(since=since, until=until)}
        )
        show_messages(page.messages, fmt, "no messages need filing", wide=wide)
    else:
        page = messages.page_messages(app.catalog, query)
        shown = audit_filters(outcome=outcome, older_than=older_than, since=since, until=until)
        app.record("list", Target.listing("messages"), {"filters": shown})
        empty = f"no {outcome or ''} messages".replace("  ", " ")
        show_messages(page.messages, fmt, empty, wide=wide)
    if page.next:
        more_note(limit, "messages")
