"""Reading what SES says about a message, without AWS."""

from __future__ import annotations

from mailroom.usecases.intake import ReceivedMail
from tests.conftest import load_event


def ses(event_name: str) -> ReceivedMail:
    record = load_event(event_name)["Records"][0]["ses"]
    return ReceivedMail.from_ses(record["mail"], record["receipt"])


def test_sample_event_is_read_whole() -> None:
    mail = ses("ses-receipt.json")

    assert mail.message_id == "f6m7k0q3cbjq1u2v8d1n4ha5ls2o7r9e0t4pd481"
    assert mail.timestamp == "2026-11-20T09:14:03.512Z"
    assert mail.source == "elodie.martin@partner-avocats.example"
    assert list(mail.recipients) == ["submit+case-42@mailroom.test"]
    assert mail.subject == "Pièces pour le dossier Dupont"  # RFC 2047 in the event, decoded
    assert mail.sender() == ("elodie.martin@partner-avocats.example", "Élodie Martin")
    assert not mail.is_setup_notification


def test_envelope_recipients_win_over_destination_because_of_bcc() -> None:
    mail = ReceivedMail.from_ses(
        {"messageId": "m1", "timestamp": "2026-11-20T09:14:03Z", "destination": ["to@x.example"]},
        {"timestamp": "2026-11-20T09:14:03Z", "recipients": ["bcc-only@mailroom.test"]},
    )

    assert list(mail.recipients) == ["bcc-only@mailroom.test"]
    assert mail.timestamp == "2026-11-20T09:14:03.000Z"  # one shape, so sort keys compare


def test_sender_falls_back_to_the_envelope_and_survives_bad_words() -> None:
    no_from = ReceivedMail.from_ses(
        {"messageId": "m2", "timestamp": "2026-11-20T09:14:03.100Z", "source": "Bounce@X.Example"},
        {"timestamp": "2026-11-20T09:14:03.100Z"},
    )
    broken = ReceivedMail.from_ses(
        {
            "messageId": "m3",
            "timestamp": "2026-11-20T09:14:03.100Z",
            "commonHeaders": {"from": ["=?x-unknown?q?Bad?= <a@b.example>"], "subject": "=?bad"},
        },
        {"timestamp": "2026-11-20T09:14:03.100Z"},
    )

    assert no_from.sender() == ("bounce@x.example", None)
    assert broken.sender() == ("a@b.example", "=?x-unknown?q?Bad?=")
    assert broken.subject == "=?bad"


def test_the_sample_sender_is_authenticated_by_dmarc() -> None:
    mail = ses("ses-receipt.json")

    assert mail.from_addresses() == ["elodie.martin@partner-avocats.example"]
    auth = mail.authentication()
    assert auth.authenticated is True
    assert auth.reason == "dmarc=PASS for partner-avocats.example"


def test_dkim_domains_come_from_the_event_headers_unless_truncated() -> None:
    record = load_event("ses-receipt.json")["Records"][0]["ses"]
    mail, receipt = record["mail"], record["receipt"]
    receipt["dmarcVerdict"] = {"status": "GRAY"}
    receipt["spfVerdict"] = {"status": "GRAY"}
    mail["headers"].append(
        {"name": "DKIM-Signature", "value": "v=1; d=partner-avocats.example; s=s1; b=x"}
    )

    signed = ReceivedMail.from_ses(mail, receipt)
    truncated = ReceivedMail.from_ses({**mail, "headersTruncated": True}, receipt)

    assert list(signed.dkim_domains or ()) == ["partner-avocats.example"]
    assert signed.authentication().reason == "dkim=PASS aligned (d=partner-avocats.example)"
    assert truncated.dkim_domains is None
    assert truncated.authentication().authenticated is False


def test_a_forged_from_is_not_authenticated() -> None:
    """SPF passes, but for the attacker's own MAIL FROM domain; DMARC fails for the From."""
    record = load_event("ses-receipt.json")["Records"][0]["ses"]
    mail, receipt = record["mail"], record["receipt"]
    mail["source"] = "bounce@attacker.example"
    receipt["dmarcVerdict"] = {"status": "FAIL"}
    receipt["dkimVerdict"] = {"status": "GRAY"}

    auth = ReceivedMail.from_ses(mail, receipt).authentication()

    assert auth.authenticated is False
    assert auth.reason == "dmarc=FAIL spf=PASS for attacker.example, not aligned dkim=GRAY"
