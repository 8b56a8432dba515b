"""What the body and header scanners read, counted: the budget the linear-cost tests check.

Every scan of a body or a header charges the characters (or bytes) it hands to a matcher, once
per pass. A scan that is linear charges a small multiple of its input whatever the input holds;
one that goes back over what it read (a window per marker, a pattern that restarts on every line)
charges more, and the property tests in `tests/unit/test_extract_linear.py` catch it. The
patterns themselves are written so that the regex engine cannot go back either: they never
cross a line break with an unbounded repetition, and runs are possessive (`*+`) or bounded.
"""

from __future__ import annotations


class Meter:
    """A running count; one per process, read by tests and `make bench` (never by logic)."""

    __slots__ = ("read",)

    def __init__(self) -> None:
        self.read = 0

    def charge(self, n: int) -> None:
        self.read += n

    def reset(self) -> int:
        read, self.read = self.read, 0
        return read


METER = Meter()
