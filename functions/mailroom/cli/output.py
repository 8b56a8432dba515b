"""Printing: --format table|json|csv (and --json), listings, key/value views, for every command.

JSON is ASCII (parseable whatever the terminal's encoding) and carries the records' own fields;
CSV has one row per record with the same names as header (lists and maps as JSON text); the
table is `cli.render`'s layout, styled only on a terminal. Notes for people go to stderr.

CSV is opened in spreadsheets, and names, senders and subjects come from email: every text
cell goes through `csv_cell`, which replaces controls and bidi overrides as the tables do
(`render.printable`) and puts a `'` before a cell a spreadsheet would take for a formula
(OWASP "CSV Injection": one starting with `=`, `+`, `-`, `@`, a tab or a carriage return).
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from typing import Any, TypeVar, cast

import click

from mailroom import exports
from mailroom.cli import render
from mailroom.cli.app import current_app
from mailroom.model import FileRecord, MessageRecord
from mailroom.usecases.files import FileMatch

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "csv")


def format_option(formats: Sequence[str] = FORMATS, default: str = "table") -> Callable[[F], F]:
    """--format CHOICE and --json (short for --format json); the command gets `fmt`."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, output_format: str | None, as_json: bool, **kwargs: Any) -> Any:
            if as_json and output_format not in (None, "json"):
                raise click.UsageError(f"--json and --format {output_format} contradict")
            return func(*args, fmt="json" if as_json else output_format or default, **kwargs)

        wrapped = click.option(
            "--json", "as_json", is_flag=True, help="Print JSON (short for --format json)."
        )(wrapper)
        return cast(
            F,
            click.option(
                "--format",
                "output_format",
                type=click.Choice(formats),
                help=f"Output format [default: {default}].",
            )(wrapped),
        )

    return decorate


def json_option(func: F) -> F:
    """--json alone (`as_json`), for commands whose only other output is for people."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def wide_option(func: F) -> F:
    return click.option(
        "--wide",
        is_flag=True,
        help="One line per record, nothing cut (the default in a pipe).",
    )(func)


def to_json(value: Any, *, pretty: bool = True) -> str:
    if pretty:
        return json.dumps(value, indent=2, default=str)
    return json.dumps(value, separators=(",", ":"), default=str)


# The one formula-safe CSV (mailroom.exports), shared with the export function's manifest.
csv_cell = exports.csv_cell
to_csv = exports.csv_text


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def local_time() -> bool:
    app = current_app()
    return bool(app and app.local_time)


def note(text: str) -> None:
    """A message for the person, never mixed into what a script reads."""
    click.echo(text, err=True)


def _terminal_width(wide: bool) -> int | None:
    if wide or not stdout_is_terminal():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def echo_lines(lines: Sequence[tuple[str, str]]) -> None:
    styled = stdout_is_terminal()
    for kind, text in lines:
        if styled and kind in {"header", "id"}:
            click.echo(click.style(text, bold=kind == "header", dim=kind == "id"))
        else:
            click.echo(text)


def file_dict(record: FileRecord, matched: str | None = None) -> dict[str, Any]:
    return FileMatch(record, matched).to_dict()


def show_files(
    records: Sequence[FileRecord],
    fmt: str = "table",
    empty: str = "no files found",
    *,
    matched: Sequence[str | None] | None = None,
    wide: bool = False,
    as_json: bool | None = None,
) -> None:
    """Files in the chosen format; `matched` (with a sender filter) says which sender matched."""
    if as_json is not None:  # the older keyword, kept for callers outside the CLI
        fmt = "json" if as_json else fmt
    roles = list(matched) if matched is not None else [None] * len(records)
    if fmt == "json":
        click.echo(to_json([file_dict(r, m) for r, m in zip(records, roles, strict=True)]))
        return
    if fmt == "csv":
        names = [f.name for f in fields(FileRecord)]
        if matched is not None:
            names.append("matched")
        rows = [file_dict(r, m) for r, m in zip(records, roles, strict=True)]
        click.echo(to_csv(rows, names), nl=False)
        return
    if not records:
        note(empty)
        return
    local = local_time()
    echo_lines(
        render.listing(
            render.FILE_COLUMNS,
            render.FILE_ID,
            [render.file_row(r, local) for r in records],
            [r.file_id for r in records],
            _terminal_width(wide),
        )
    )


def show_messages(
    records: Sequence[MessageRecord], fmt: str, empty: str, *, wide: bool = False
) -> None:
    if fmt == "json":
        click.echo(to_json([asdict(r) for r in records]))
        return
    if fmt == "csv":
        names = [f.name for f in fields(MessageRecord)]
        click.echo(to_csv([asdict(r) for r in records], names), nl=False)
        return
    if not records:
        note(empty)
        return
    local = local_time()
    echo_lines(
        render.listing(
            render.MESSAGE_COLUMNS,
            render.MESSAGE_ID,
            [render.message_row(r, local) for r in records],
            [r.message_id for r in records],
            _terminal_width(wide),
        )
    )


def show_rows(header: Sequence[str], rows: Sequence[Sequence[str]], fmt: str, empty: str) -> None:
    """A small report (stats, cases, config, upload) in any format; JSON objects per row."""
    keys = [h.replace(" ", "_") for h in header]
    if fmt == "json":
        click.echo(to_json([dict(zip(keys, row, strict=True)) for row in rows]))
    elif fmt == "csv":
        click.echo(to_csv([dict(zip(keys, row, strict=True)) for row in rows], keys), nl=False)
    elif not rows:
        note(empty)
    else:
        text = render.render_rows(header, [[str(c) for c in row] for row in rows])
        lines = text.splitlines()
        echo_lines([("header", lines[0]), *(("row", line) for line in lines[1:])])


def show_fields(pairs: Sequence[tuple[str, str]]) -> None:
    click.echo(render.render_fields(pairs))
