"""Parameter types: dates and durations people type, rejected as usage errors when malformed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

_DAYS_AGO = re.compile(r"^(\d{1,4})d$")
_DURATION = re.compile(r"^(\d{1,7})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def utc_today() -> date:
    """Records are keyed by UTC day, so 'today' is the UTC one."""
    return datetime.now(UTC).date()


class DateParam(click.ParamType[date]):
    """YYYY-MM-DD, 'today', 'yesterday', or 'Nd' (N days ago); UTC days."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip().lower()
        today = utc_today()
        if text == "today":
            return today
        if text == "yesterday":
            return today - timedelta(days=1)
        if match := _DAYS_AGO.match(text):
            return today - timedelta(days=int(match.group(1)))
        try:
            # Only the extended form: 3.11 would also take "20260101" or week dates.
            if len(text) == 10 and text[4] == "-":
                return date.fromisoformat(text)
        except ValueError:
            pass
        self.fail(
            f"{value!r} is not a date: use YYYY-MM-DD, 'today', 'yesterday' or e.g. '7d'",
            param,
            ctx,
        )
        raise AssertionError("unreachable: fail() raises")  # pragma: no cover


class DurationParam(click.ParamType[int]):
    """'90' or '90s', '15m', '1h', '7d' -> seconds, within [minimum, maximum]."""

    name = "duration"

    def __init__(self, minimum: int = 1, maximum: int = 7 * 86400) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            seconds = value
        else:
            match = _DURATION.match(str(value).strip().lower())
            if not match:
                self.fail(f"{value!r} is not a duration: use e.g. 90s, 15m, 1h or 7d", param, ctx)
            seconds = int(match.group(1)) * _UNITS[match.group(2)]
        if not self.minimum <= seconds <= self.maximum:
            self.fail(
                f"{value!r} is out of range: between {self.minimum}s and {self.maximum // 86400}d",
                param,
                ctx,
            )
        return seconds


DATE = DateParam()
