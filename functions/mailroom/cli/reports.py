"""Reports: `stats` and `cases`. Parse, call a use case, render."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import click

from mailroom.cli import render
from mailroom.cli.app import App, pass_app
from mailroom.cli.options import days_options
from mailroom.cli.output import format_option, local_time, show_rows
from mailroom.usecases import reports


def _rows(rows: Sequence[reports.StatRow], fmt: str, sized: bool = True) -> list[list[Any]]:
    """Key, count, size (unless `sized` is False: messages have none), last."""
    if fmt != "table":
        return [[r.key, r.count, *([r.size] if sized else []), r.last] for r in rows]
    local = local_time()
    return [
        [
            render.printable(r.key),
            r.count,
            *([render.human_size(r.size or 0)] if sized else []),
            render.show_time(r.last, local),
        ]
        for r in rows
    ]


@click.command()
@click.option(
    "--by",
    type=click.Choice(reports.STAT_KEYS),
    default="day",
    show_default=True,
    help="Group files by client (sender), UTC day or month, case, or detected type; "
    "messages by outcome.",
)
@days_options
@format_option()
@pass_app
def stats(app: App, by: str, since: date | None, until: date | None, fmt: str) -> None:
    """Counts over a range (default: all time): files and bytes per group, and the last one.

    `--by outcome` counts messages; it has no size column (a message record has no size).
    """
    rows = reports.stats(app.catalog, by, since, until)
    if by == "outcome":
        show_rows(
            (by, "messages", "last"),
            _rows(rows, fmt, sized=False),
            fmt,
            "no messages in this range",
        )
        return
    show_rows((by, "files", "size", "last"), _rows(rows, fmt), fmt, "no files in this range")


@click.command()
@days_options
@format_option()
@pass_app
def cases(app: App, since: date | None, until: date | None, fmt: str) -> None:
    """Case tags with their file count, size and last activity, most recent first."""
    rows = reports.cases(app.catalog, since, until)
    show_rows(("case", "files", "size", "last"), _rows(rows, fmt), fmt, "no case tags found")
