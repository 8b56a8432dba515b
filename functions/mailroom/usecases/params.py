"""Request parameters as a client sends them (strings from a query string, values from a JSON
body), checked and turned into the use cases' own types. The API routes hand them over as they
arrive; every rejection is an `InvalidInput` naming the parameter."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from mailroom.usecases.errors import InvalidInput

DEFAULT_PAGE = 50
MAX_PAGE = 500  # rows per API page; the CLI may ask for more


def known(params: Mapping[str, Any], allowed: Collection[str], what: str = "parameter") -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidInput(unknown[0], f"unknown {what} {unknown[0]!r}")


def day(name: str, text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(name, f"{name} is a date, YYYY-MM-DD") from None


def page_size(text: str | None, maximum: int = MAX_PAGE) -> int:
    if not text:
        return DEFAULT_PAGE
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise InvalidInput("limit", f"limit is a whole number from 1 to {maximum}")
    return int(text)


def flag(name: str, text: str | None) -> bool:
    value = (text or "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise InvalidInput(name, f"{name} is true or false")
    return value in {"true", "1"}


def json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except ValueError:
        raise InvalidInput("body", "the body is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput("body", "the body is a JSON object")
    return value


def strings(values: Mapping[str, Any], names: Collection[str]) -> None:
    for name in names:
        if values.get(name) is not None and not isinstance(values[name], str):
            raise InvalidInput(name, f"{name} is a string")
