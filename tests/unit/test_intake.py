"""Reading what SES says about a message, without AWS."""

from __future__ import annotations

from mailroom.intake import ReceivedMail
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
