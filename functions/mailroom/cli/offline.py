"""`inspect`: the Lambda's extraction on local .eml files; touches no AWS."""

# Imports inside functions are deliberate here: they keep `mailroom inspect` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from mailroom.cli import render
from mailroom.cli.app import EXIT_ERROR, current_app, describe
from mailroom.cli.output import format_option, to_json


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--envelope-sender", metavar="ADDR", help="The MAIL FROM, used when a message has no From."
)
@format_option(("json", "table"), default="json")
@click.pass_context
def inspect(
    ctx: click.Context, paths: tuple[Path, ...], envelope_sender: str | None, fmt: str
) -> None:
    """Run the Lambda's extraction on local .eml files and print what it finds, as JSON.

    One path prints one JSON object; several print one object per line (JSON Lines).
    --format table prints a summary for people instead.
    """
    from mailroom.extract.report import inspect_path

    app = current_app()
    out = sys.stdout
    failures = 0
    for path in paths:
        try:
            report = inspect_path(path, envelope_sender)
        except OSError as exc:
            failures += 1
            click.echo(f"mailroom: cannot read {path}: {exc.strerror or exc}", err=True)
            continue
        except Exception as exc:  # one bad file must not stop a corpus run
            failures += 1
            if app is not None and app.debug:
                traceback.print_exception(exc, file=sys.stderr)
            click.echo(f"mailroom: {path}: extraction failed: {describe(exc)}", err=True)
            continue
        if fmt == "json":
            out.write(to_json(report, pretty=len(paths) == 1) + "\n")
        else:
            out.write(render.render_inspection(report))
    out.flush()
    if failures:
        ctx.exit(EXIT_ERROR)
