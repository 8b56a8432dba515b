"""The events reprocess, redrive and doctor hand to the functions (pure: no AWS).

A rebuilt SES event must read back, through the same parsing the handler uses, as the message
the record describes; the S3 event must give record_metadata the object's real key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event, SESEvent

from mailroom.model import MessageRecord
from mailroom.policy import Outcome, Verdicts
from mailroom.ports import QueuedMessage
from mailroom.usecases.doctor import s3_created_event
from mailroom.usecases.intake import ReceivedMail
from mailroom.usecases.redrive import event_of
from mailroom.usecases.reprocess import event_from_raw, event_from_record
from tests.conftest import SAMPLE_MAIL


def parsed(event: dict[str, object]) -> ReceivedMail:
    (record,) = SESEvent(event).records
    return ReceivedMail.from_ses(record.ses.mail.raw_event, record.ses.receipt.raw_event)


def test_an_event_rebuilt_from_a_record_reads_back_as_that_message() -> None:
    record = MessageRecord(
        message_id="abc123",
        received_at="2026-11-20T09:14:03.512Z",
        raw_key="raw/abc123",
        outcome=Outcome.FAILED,
        envelope_sender="bounce@partner.example",
        from_address="elodie@partner.example",
        from_name="Élodie Martin",
        recipients=["submit+case-42@mailroom.test", "bcc@mailroom.test"],
        case="case-42",
        subject="Pièces, dossier Dupont",
        rfc_message_id="<x@partner.example>",
        verdicts={
            "spam": "PASS",
            "virus": "PASS",
            "spf": "FAIL",
            "dkim": "PASS",
            "dmarc": "PASS",
            "dmarc_policy": "reject",
        },
    )

    mail = parsed(json.loads(json.dumps(event_from_record(record.to_item()))))

    assert mail.message_id == "abc123"
    assert mail.timestamp == "2026-11-20T09:14:03.512Z"
    assert mail.source == "bounce@partner.example"
    assert list(mail.recipients) == record.recipients
    assert mail.sender() == ("elodie@partner.example", "Élodie Martin")
    assert mail.subject == record.subject
    assert mail.rfc_message_id == "<x@partner.example>"
    assert mail.verdicts.as_dict() == record.verdicts
    assert (mail.origin, mail.mailbox) == ("email", None)


def test_an_imported_message_stays_an_import_when_reprocessed() -> None:
    item = {
        "message_id": "imp-1",
        "received_at": "2019-03-01T10:00:00.000Z",
        "raw_key": "raw/imp-1",
        "outcome": "failed",
        "source": "import",
        "mailbox": "/archive/old.mbox",
        "case": "smith",
        "recipients": ["office@firm.example"],
    }

    mail = parsed(event_from_record(item))

    assert (mail.origin, mail.mailbox) == ("import", "/archive/old.mbox")
    # The case survives even though no recipient carries it (the record cut the list).
    assert any("+smith@" in r for r in mail.recipients)


def test_an_event_rebuilt_from_raw_headers_takes_ses_verdicts_first() -> None:
    head = (
        b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: FAIL\r\n"
        b"Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=a@b; dkim=fail; "
        b"dmarc=pass header.from=b\r\nReturn-Path: <a@b.example>\r\n"
        # the sender's own headers follow SES's: a forged verdict there never wins
        b"X-SES-Virus-Verdict: PASS\r\n" + (SAMPLE_MAIL / "collaborator-two-pdfs.eml").read_bytes()
    )

    mail = parsed(event_from_raw("r1", head, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))

    assert mail.verdicts == Verdicts(
        spam="PASS", virus="FAIL", spf="PASS", dkim="FAIL", dmarc="PASS"
    )
    assert mail.timestamp == "2026-01-02T03:04:05.000Z"
    assert mail.source == "a@b.example"
    assert list(mail.recipients) == ["submit+case-42@mailroom.test"]
    assert mail.sender()[0] == "elodie.martin@partner-avocats.example"


def test_the_s3_event_carries_the_key_url_encoded_as_s3_does() -> None:
    key = "incoming/up-1/01-Attestation de résidence + copie.pdf"

    event = S3Event(s3_created_event("bucket", [key], {key: 12}))

    (record,) = event.records
    assert record.s3.get_object.key != key
    assert unquote_plus(record.s3.get_object.key) == key
    assert record.s3.bucket.name == "bucket"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("nope", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"a": 1}', "no Records"),
        ('{"requestContext": {}, "requestPayload": 3}', "requestPayload"),
    ],
)
def test_dead_letters_without_an_event_are_refused(body: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        event_of(QueuedMessage("m", "h", body))
