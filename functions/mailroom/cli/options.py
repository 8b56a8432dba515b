"""Options several command groups share: the newest-first range (--since, --until, --limit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mailroom.cli.params import DATE
from mailroom.usecases.files import MAX_LIMIT


def range_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--since, --until and --limit, the same for every newest-first listing."""
    for option in reversed(
        [
            click.option(
                "--since",
                type=DATE,
                help="From the start of this UTC day (YYYY-MM-DD, today, yesterday, 7d).",
            ),
            click.option("--until", type=DATE, help="Up to the end of this UTC day (inclusive)."),
            click.option(
                "--limit",
                type=click.IntRange(1, MAX_LIMIT),
                default=50,
                show_default=True,
                help="Show at most this many, newest first.",
            ),
        ]
    ):
        command = option(command)
    return command


def days_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--since and --until alone, for reports over a range (default: all time)."""
    command = click.option("--until", type=DATE, help="Up to the end of this UTC day (inclusive).")(
        command
    )
    return click.option(
        "--since",
        type=DATE,
        help="From the start of this UTC day (YYYY-MM-DD, today, yesterday, 7d).",
    )(command)
