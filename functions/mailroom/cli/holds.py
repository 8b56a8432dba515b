"""`hold`: put a case under legal hold, or release it (issue 22). Parse, call, render."""

# ruff: noqa: PLC0415 (imports inside the command keep `mailroom --help` fast)

from __future__ import annotations

import click

from mailroom.cli.app import App, pass_app
from mailroom.cli.deletes import _default_actor
from mailroom.cli.deploy import progress_bar
from mailroom.cli.output import note, to_json


@click.command("hold")
@click.option("--case", "case", required=True, metavar="CASE", help="The case to hold.")
@click.option("--release", is_flag=True, help="Release the case's hold instead.")
@click.option("--reason", metavar="TEXT", help="Why (a matter, a dispute), kept on each record.")
@click.option(
    "--by", metavar="NAME", help="Who places it, recorded on each file (default: cli:<user>)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def hold_command(
    app: App, *, case: str, release: bool, reason: str | None, by: str | None, as_json: bool
) -> None:
    """Put every file of CASE under legal hold (or --release it).

    Every version of each file's object, and of the raw message it came from, gets an S3
    Object Lock legal hold; each record is marked (who, when, why), and `delete` refuses it.
    Files recorded in the case later are held too. Needs the admin policy, and a bucket with
    Object Lock (the `object_lock` variable; local mode has it). Safe to run again.
    """
    from mailroom.adapters.catalog import AuditTrail
    from mailroom.audit import Reporter
    from mailroom.usecases import holds
    from mailroom.usecases.audit import DEFAULT_RETENTION_DAYS

    catalog = app.catalog
    # The CLI's own entry, reported by the client (the S3 and DynamoDB calls are its own).
    trail = AuditTrail(catalog.client, catalog.table, DEFAULT_RETENTION_DAYS)
    label = "release: objects" if release else "hold: objects"
    with progress_bar(label) as update:
        done = holds.hold_case(
            catalog,
            app.store(),
            case,
            by=by or _default_actor(),
            reason=reason,
            release=release,
            progress=update,
            audit=trail,
            origin="cli",
            reported_by=Reporter.CLIENT,
        )
    if as_json:
        click.echo(
            to_json(
                {
                    "case": done.case,
                    "released": done.released,
                    "by": done.by,
                    "at": done.at,
                    "reason": done.reason,
                    "files": len(done.files),
                    "raw_objects": len(done.raw_objects),
                    "versions": done.versions,
                    "file_ids": done.files,
                }
            )
        )
        return
    verb = "released" if release else "held"
    why = f" ({done.reason})" if done.reason and not release else ""
    note(
        f"{verb} case {done.case}: {len(done.files)} file(s), {len(done.raw_objects)} raw "
        f"message(s), {done.versions} object version(s){why}; by {done.by} at {done.at}"
    )
