from __future__ import annotations

import pytest

from mailroom.policy import (
    Authentication,
    Disposition,
    Outcome,
    SpamPolicy,
    Verdicts,
    VirusPolicy,
    authenticate,
    bounded,
    case_tag,
    decide,
    dkim_signing_domains,
    outcome_for,
)

CLEAN = Verdicts("PASS", "PASS", "PASS", "PASS", "PASS")
TRUSTED = Authentication(True, "dmarc=PASS")


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
    decision = decide(CLEAN, sender, frozenset({"firm.example"}), authentication=TRUSTED)
    assert decision.disposition is expected


def test_empty_allow_list_admits_anyone() -> None:
    assert decide(CLEAN, "anyone@anywhere.example", frozenset()).disposition is Disposition.DELIVER


def test_allow_list_rejects_a_listed_domain_that_is_not_authenticated() -> None:
    """A forged From: someone@firm.example, sent from elsewhere, is turned away."""
    forged = Authentication(False, "dmarc=FAIL spf=PASS for evil.example, not aligned dkim=GRAY")

    decision = decide(
        CLEAN, "partner@firm.example", frozenset({"firm.example"}), authentication=forged
    )
    unchecked = decide(CLEAN, "partner@firm.example", frozenset({"firm.example"}))

    assert decision.disposition is Disposition.REJECT
    assert decision.reason == f"sender not authenticated: {forged.reason}"
    assert unchecked.disposition is Disposition.REJECT  # the bare From is never trusted


@pytest.mark.parametrize(
    ("virus", "policy", "expected"),
    [
        ("PASS", VirusPolicy.STRICT, Disposition.DELIVER),
        ("GRAY", VirusPolicy.STRICT, Disposition.QUARANTINE),
        ("PROCESSING_FAILED", VirusPolicy.STRICT, Disposition.QUARANTINE),
        ("DISABLED", VirusPolicy.STRICT, Disposition.QUARANTINE),
        ("FAIL", VirusPolicy.STRICT, Disposition.QUARANTINE),
        ("PASS", VirusPolicy.FAIL_ONLY, Disposition.DELIVER),
        ("GRAY", VirusPolicy.FAIL_ONLY, Disposition.DELIVER),
        ("PROCESSING_FAILED", VirusPolicy.FAIL_ONLY, Disposition.DELIVER),
        ("FAIL", VirusPolicy.FAIL_ONLY, Disposition.QUARANTINE),
    ],
)
def test_virus_policy(virus: str, policy: VirusPolicy, expected: Disposition) -> None:
    decision = decide(
        Verdicts(virus=virus, spam="PASS"), "a@x.example", frozenset(), virus_policy=policy
    )

    assert decision.disposition is expected
    if expected is Disposition.QUARANTINE:
        assert decision.reason is not None and virus in decision.reason


def test_strict_is_the_default_virus_policy() -> None:
    assert decide(Verdicts(spam="PASS"), None, frozenset()).disposition is Disposition.QUARANTINE


@pytest.mark.parametrize(
    ("spam", "policy", "expected", "tagged"),
    [
        ("FAIL", SpamPolicy.RECORD, Disposition.DELIVER, False),
        ("FAIL", SpamPolicy.TAG, Disposition.DELIVER, True),
        ("FAIL", SpamPolicy.QUARANTINE, Disposition.QUARANTINE, True),
        ("GRAY", SpamPolicy.TAG, Disposition.DELIVER, False),
        ("GRAY", SpamPolicy.QUARANTINE, Disposition.DELIVER, False),
        ("PASS", SpamPolicy.QUARANTINE, Disposition.DELIVER, False),
    ],
)
def test_spam_policy(spam: str, policy: SpamPolicy, expected: Disposition, tagged: bool) -> None:
    decision = decide(Verdicts(virus="PASS", spam=spam), None, frozenset(), spam_policy=policy)

    assert (decision.disposition, decision.suspected_spam) == (expected, tagged)


def test_spam_is_tagged_by_default_and_a_virus_still_wins() -> None:
    tagged = decide(Verdicts(virus="PASS", spam="FAIL"), None, frozenset())
    infected = decide(
        Verdicts(virus="FAIL", spam="FAIL"), None, frozenset(), spam_policy=SpamPolicy.QUARANTINE
    )

    assert (tagged.disposition, tagged.suspected_spam) == (Disposition.DELIVER, True)
    assert infected.reason == "virus verdict FAIL"


def verdicts(dmarc: str = "GRAY", spf: str = "GRAY", dkim: str = "GRAY") -> Verdicts:
    return Verdicts(spam="PASS", virus="PASS", spf=spf, dkim=dkim, dmarc=dmarc)


@pytest.mark.parametrize(
    ("given", "from_addresses", "mail_from", "dkim", "authenticated", "reason"),
    [
        # DMARC PASS is SES's verdict for the From domain, alignment included.
        (verdicts(dmarc="PASS"), ["a@firm.example"], "x@other.example", None, True, "dmarc=PASS"),
        # SPF: the MAIL FROM domain must be the From domain or a parent of it.
        (verdicts(spf="PASS"), ["a@firm.example"], "b@firm.example", [], True, "spf=PASS aligned"),
        (verdicts(spf="PASS"), ["a@mail.firm.example"], "b@firm.example", [], True, "spf=PASS"),
        (verdicts(spf="PASS"), ["a@firm.example"], "b@evil.example", [], False, "not aligned"),
        (verdicts(spf="PASS"), ["a@firm.example"], "b@firm.example.evil", [], False, "not aligned"),
        # A child of the From domain could be anyone's under a public suffix: not admitted.
        (verdicts(spf="PASS"), ["a@co.uk"], "b@attacker.co.uk", [], False, "not aligned"),
        (verdicts(spf="PASS"), ["a@example"], "b@example", [], False, "not aligned"),  # a TLD
        (verdicts(spf="FAIL"), ["a@firm.example"], "b@firm.example", [], False, "spf=FAIL"),
        # DKIM: one signature, so the PASS is its d= domain's.
        (verdicts(dkim="PASS"), ["a@firm.example"], None, ["firm.example"], True, "d=firm.example"),
        (verdicts(dkim="PASS"), ["a@firm.example"], None, ["evil.example"], False, "not aligned"),
        # Two signatures: which one passed is unknown.
        (
            verdicts(dkim="PASS"),
            ["a@firm.example"],
            None,
            ["evil.example", "firm.example"],
            False,
            "signing domain unknown",
        ),
        (verdicts(dkim="PASS"), ["a@firm.example"], None, None, False, "signing domain unknown"),
        (verdicts(dkim="FAIL"), ["a@firm.example"], None, ["firm.example"], False, "dkim=FAIL"),
        # The From header itself.
        (verdicts(dmarc="PASS"), [], "b@firm.example", None, False, "no From address"),
        (
            verdicts(dmarc="PASS"),
            ["a@firm.example", "b@evil.example"],
            None,
            None,
            False,
            "several domains",
        ),
        (verdicts(dmarc="FAIL"), ["a@firm.example"], None, [], False, "dmarc=FAIL"),
    ],
)
def test_authentication_reads_the_verdicts_with_alignment(
    given: Verdicts,
    from_addresses: list[str],
    mail_from: str | None,
    dkim: list[str] | None,
    authenticated: bool,
    reason: str,
) -> None:
    result = authenticate(given, from_addresses, mail_from, dkim)

    assert result.authenticated is authenticated
    assert reason in result.reason


def test_dkim_signing_domains_are_read_from_each_signature_header() -> None:
    headers = [
        {"name": "From", "value": "a@firm.example"},
        {"name": "DKIM-Signature", "value": "v=1; a=rsa-sha256; d=Firm.Example; s=sel; b=abc"},
        {"name": "dkim-signature", "value": "v=1; d=\r\n  mailer.example; s=x"},
        {"name": "DKIM-Signature", "value": "v=1; s=no-domain"},
        {"name": "DKIM-Signature", "value": "v=1; d=evil.example; d=firm.example; s=x"},
    ]

    assert dkim_signing_domains(headers) == ["firm.example", "mailer.example", "", ""]


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
