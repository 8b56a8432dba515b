"""Issue 22: the release decision (mailroom.release), pure."""

from __future__ import annotations

import re

import pytest

from mailroom.policy import Decision, Disposition, Verdicts
from mailroom.release import MAX_REASON_CHARS, Release, ReleaseRefused, released

AT = "2026-12-05T18:00:00.000Z"


def test_a_release_keeps_a_trimmed_reason_and_round_trips_through_the_event() -> None:
    release = Release.of(" admin@firm.example ", AT, "  false positive: the client's invoice ")
    assert release.by == "admin@firm.example"
    assert release.reason == "false positive: the client's invoice"
    assert Release.from_event(release.to_event()) == release
    assert Release.from_event(None) is None


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("r" * (MAX_REASON_CHARS + 1), "longer than 500"),
        ("line one\nline two", "U+000A"),
        ("nul\x00", "U+0000"),
        ("esc \x1b[31m red", "U+001B"),
        ("right-to-left \u202e override", "U+202E"),
        ("line\u2028separator", "U+2028"),
    ],
)
def test_a_reason_must_be_one_printable_line_of_bounded_length(reason: str, says: str) -> None:
    with pytest.raises(ReleaseRefused, match=re.escape(says)):
        Release.of("admin", AT, reason)


def test_the_reason_may_be_any_language_and_exactly_the_maximum() -> None:
    assert Release.of("a", AT, "Fausse alerte — facture du client ✓").reason.startswith("Fausse")
    assert len(Release.of("a", AT, "r" * MAX_REASON_CHARS).reason) == MAX_REASON_CHARS


@pytest.mark.parametrize(
    "decision",
    [
        {"by": "a", "at": "2026-12-05", "reason": "r"},
        {"by": "a", "at": AT, "reason": "r", "allow_virus": "yes"},
        {"by": 7, "at": AT, "reason": "r"},
        ["a", AT, "r"],
    ],
)
def test_a_malformed_event_decision_is_refused(decision: object) -> None:
    with pytest.raises(ReleaseRefused):
        Release.from_event(decision)


def test_a_quarantine_is_delivered_and_its_reason_kept() -> None:
    held = Decision(Disposition.QUARANTINE, "spam verdict FAIL", suspected_spam=True)
    out = released(held, Verdicts(spam="FAIL", virus="PASS"), Release.of("a", AT, "r"))
    assert out == Decision(Disposition.DELIVER, "spam verdict FAIL", suspected_spam=True)


def test_a_virus_fail_needs_allow_virus() -> None:
    held = Decision(Disposition.QUARANTINE, "virus verdict FAIL")
    virus = Verdicts(virus="FAIL")
    with pytest.raises(ReleaseRefused, match="allow-virus"):
        released(held, virus, Release.of("a", AT, "r"))
    out = released(held, virus, Release.of("a", AT, "r", allow_virus=True))
    assert out.disposition is Disposition.DELIVER


def test_a_rejection_is_not_a_quarantine_to_release() -> None:
    rejected = Decision(Disposition.REJECT, "sender domain x.example not allowed")
    with pytest.raises(ReleaseRefused, match="rejected"):
        released(rejected, Verdicts(virus="PASS"), Release.of("a", AT, "r", allow_virus=True))
