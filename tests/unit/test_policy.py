from __future__ import annotations

import pytest

from mailroom.policy import (
    Disposition,
    Outcome,
    Verdicts,
    bounded,
    case_tag,
    decide,
    outcome_for,
)

CLEAN = Verdicts("PASS", "PASS", "PASS", "PASS", "PASS")


def test_verdicts_read_from_a_receipt_with_fields_missing() -> None:
    receipt = {
        "spamVerdict": {"status": "PASS"},
        "virusVerdict": {"status": "FAIL"},
        "dmarcVerdict": {"status": "FAIL"},
        "dmarcPolicy": "reject",
    }
    verdicts = Verdicts.from_receipt(receipt)

    assert verdicts.as_dict() == {
        "spam": "PASS",
        "virus": "FAIL",
        "spf": "GRAY",
        "dkim": "GRAY",
        "dmarc": "FAIL",
        "dmarc_policy": "reject",
    }


def test_virus_fail_quarantines_whatever_the_allow_list() -> None:
    infected = Verdicts(virus="FAIL")
    decision = decide(infected, "partner@firm.example", frozenset({"firm.example"}))

    assert decision.disposition is Disposition.QUARANTINE


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("a@firm.example", Disposition.DELIVER),
        ("a@mail.firm.example", Disposition.DELIVER),
        ("a@notfirm.example", Disposition.REJECT),
        ("a@firm.example.evil", Disposition.REJECT),
        (None, Disposition.REJECT),
    ],
)
def test_allow_list_admits_listed_domains_and_their_subdomains(
    sender: str | None, expected: Disposition
) -> None:
    assert decide(CLEAN, sender, frozenset({"firm.example"})).disposition is expected


def test_empty_allow_list_admits_anyone() -> None:
    assert decide(CLEAN, "anyone@anywhere.example", frozenset()).disposition is Disposition.DELIVER


@pytest.mark.parametrize(
    ("recipients", "tag"),
    [
        (["submit+case-42@mailroom.test"], "case-42"),
        (["submit@mailroom.test", "submit+Matter.7@mailroom.test"], "matter.7"),
        (["submit@mailroom.test"], None),
        (["submit+@mailroom.test"], None),
        (["submit+../../etc@mailroom.test"], None),
    ],
)
def test_case_tag_from_plus_addressing(recipients: list[str], tag: str | None) -> None:
    assert case_tag(recipients) == tag


def test_outcomes() -> None:
    assert outcome_for(Disposition.DELIVER, 2) is Outcome.EXTRACTED
    assert outcome_for(Disposition.DELIVER, 0) is Outcome.NO_ATTACHMENTS
    assert outcome_for(Disposition.QUARANTINE, 0) is Outcome.QUARANTINED
    assert bounded("x" * 10, 5) == "xxxx…"
    assert bounded("short", 5) == "short"
