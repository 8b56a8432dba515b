"""A release decision: staff overriding the spam/virus policy's quarantine of one message.

Pure (no AWS, no I/O). `mailroom release` and `POST /messages/{id}/release` build one; it
travels to the extract function inside the asynchronous event (`mail.mailroomRelease`), and
the function checks it again there, because the event is the boundary: whoever can invoke the
function could hand it any decision. A virus FAIL is released only with `allow_virus`, and a
rejection (the allow-list) is never a quarantine to release.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailroom.policy import Decision, Disposition, Verdicts

EVENT_KEY = "mailroomRelease"  # in the SES event's `mail`, beside `mailroomOrigin`
MAX_REASON_CHARS = 500
MAX_BY_CHARS = 256
# Control characters, line and paragraph separators, and format characters (bidi overrides
# that would make a reason read differently than it is stored).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class ReleaseRefused(ValueError):
    """The release is malformed or not allowed; the message says why, for a person."""


def check_text(name: str, value: object, max_chars: int) -> str:
    """A non-empty, bounded, printable text (surrounding spaces removed), else ReleaseRefused."""
    if not isinstance(value, str):
        raise ReleaseRefused(f"the release {name} must be text")
    text = value.strip()
    if not text:
        raise ReleaseRefused(f"the release {name} is empty: say why the message is released")
    if len(text) > max_chars:
        raise ReleaseRefused(f"the release {name} is longer than {max_chars} characters")
    bad = next((c for c in text if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        raise ReleaseRefused(
            f"the release {name} contains a control character (U+{ord(bad):04X}); "
            "use plain text on one line"
        )
    return text


@dataclass(frozen=True, slots=True)
class Release:
    by: str  # who released it (the API's verified address, the CLI's user)
    at: str  # when, ISO 8601 UTC with milliseconds and Z (the shape of received_at)
    reason: str
    allow_virus: bool = False  # release a virus FAIL too (admins only, audited)

    def __post_init__(self) -> None:
        check_text("by", self.by, MAX_BY_CHARS)
        check_text("reason", self.reason, MAX_REASON_CHARS)
        if not isinstance(self.at, str) or not _AT.match(self.at):
            raise ReleaseRefused(f"the release time {self.at!r} is not ISO 8601 UTC (…T…Z)")
        if not isinstance(self.allow_virus, bool):
            raise ReleaseRefused("allow_virus must be true or false")

    @classmethod
    def of(cls, by: object, at: object, reason: object, *, allow_virus: object = False) -> Release:
        """Validated, with `by` and `reason` stripped of surrounding spaces."""
        if not isinstance(at, str):
            raise ReleaseRefused("the release time is not text")
        if not isinstance(allow_virus, bool):
            raise ReleaseRefused("allow_virus must be true or false")
        return cls(
            check_text("by", by, MAX_BY_CHARS),
            at,
            check_text("reason", reason, MAX_REASON_CHARS),
            allow_virus,
        )

    @classmethod
    def from_event(cls, value: Any) -> Release | None:
        """The decision an event carries (None without one); ReleaseRefused if malformed."""
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ReleaseRefused("the release decision is not an object")
        return cls.of(
            value.get("by"),
            value.get("at"),
            value.get("reason"),
            allow_virus=value.get("allow_virus", False),
        )

    @classmethod
    def from_record(cls, item: Mapping[str, Any]) -> Release | None:
        """The decision a released message record keeps (reprocessing keeps it released)."""
        if not item.get("released_by"):
            return None
        return cls.of(
            str(item["released_by"]),
            str(item.get("released_at") or ""),
            str(item.get("release_reason") or ""),
            allow_virus=bool(item.get("release_allow_virus", False)),
        )

    def to_event(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "at": self.at,
            "reason": self.reason,
            "allow_virus": self.allow_virus,
        }


def check_virus(verdicts: Mapping[str, Any] | Verdicts, allow_virus: bool) -> None:
    """A virus FAIL is never released without the explicit flag."""
    virus = verdicts.virus if isinstance(verdicts, Verdicts) else verdicts.get("virus")
    if str(virus or "").upper() == "FAIL" and not allow_virus:
        raise ReleaseRefused(
            "the virus verdict is FAIL: it is released only with --allow-virus "
            "(allow_virus), by an admin"
        )


def released(decision: Decision, verdicts: Verdicts, release: Release) -> Decision:
    """The decision under a release: a quarantine (or a delivery) is delivered; a rejection is
    refused, and so is a virus FAIL without `allow_virus` (ReleaseRefused)."""
    if decision.disposition is Disposition.REJECT:
        raise ReleaseRefused(f"the message is rejected ({decision.reason}), not quarantined")
    check_virus(verdicts, release.allow_virus)
    return Decision(Disposition.DELIVER, decision.reason, decision.suspected_spam)
