"""`delete`: remove a file sent by mistake. Parse, confirm, call the use case, render."""

from __future__ import annotations

import getpass
from dataclasses import asdict

import click

from mailroom.audit import Target
from mailroom.cli import render
from mailroom.cli.app import App, pass_app
from mailroom.cli.output import format_option, note, to_json
from mailroom.usecases import deletes
from mailroom.usecases.files import get_file


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "cli"


@click.command()
@click.argument("file_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--by",
    metavar="NAME",
    help="Who deletes it, recorded on the file (default: cli:<your user name>).",
)
@format_option(("table", "json"))
@pass_app
def delete(app: App, file_id: str, yes: bool, by: str | None, fmt: str) -> None:
    """Delete FILE_ID: it leaves listings (see `list --include-deleted`) and is never served.

    The object's current version is deleted; the bucket's versioning keeps the bytes until its
    lifecycle rule expires them. The record stays, marked with who deleted it and when.
    """
    record = get_file(app.catalog, file_id)
    if not record.deleted and not yes:
        name = render.printable(record.filename)
        click.confirm(f"Delete {name} ({record.size} bytes, from {record.sender})?", abort=True)
    done = deletes.delete_file(
        app.catalog,
        app.store(record.bucket),
        file_id,
        by=by or _default_actor(),
        incoming_prefix=app.prefixes.incoming,
    )
    app.record("delete", Target.file(done.file_id), {"by": done.deleted_by})
    if fmt == "json":
        click.echo(to_json(asdict(done)))
        return
    note(f"deleted {render.printable(done.file_id)} (by {done.deleted_by} at {done.deleted_at})")
