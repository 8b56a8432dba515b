"""extract_attachments, driven by the SES events in events/, against moto S3 and DynamoDB."""

from __future__ import annotations

import copy
import email
import email.policy
import hashlib
from typing import Any

import pytest

from mailroom.handlers import extract_attachments
from mailroom.handlers.runtime import runtime
from mailroom.provenance import Provenance
from mailroom.settings import SettingsError
from tests.conftest import SAMPLE_MAIL, load_event
from tests.integration.conftest import BUCKET, Stack

MESSAGE_ID = "f6m7k0q3cbjq1u2v8d1n4ha5ls2o7r9e0t4pd481"
VIRUS_ID = "b2v9q0x4k7n1m3c5z8a6s0d2f4g6h8j0k2l4p6r8"


def sample_attachments(name: str) -> dict[str, bytes]:
    """What the stdlib finds in a sample: the expected bytes, by filename."""
    msg = email.message_from_bytes((SAMPLE_MAIL / name).read_bytes(), policy=email.policy.default)
    found = {}
    for part in msg.walk():
        if part.get_filename():
            found[part.get_filename()] = part.get_payload(decode=True)
    return found


def deliver(stack: Stack, event_name: str, eml: str, context: Any) -> dict[str, Any]:
    event = load_event(event_name)
    message_id = event["Records"][0]["ses"]["mail"]["messageId"]
    stack.s3.put_object(
        Bucket=BUCKET, Key=f"raw/{message_id}", Body=(SAMPLE_MAIL / eml).read_bytes()
    )
    return extract_attachments.handler(event, context)


def test_attachments_land_in_incoming_with_provenance(stack: Stack, context: Any) -> None:
    result = deliver(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context)

    assert result == {"disposition": "CONTINUE"}
    keys = stack.keys("incoming/")
    assert keys == [
        f"incoming/{MESSAGE_ID}/01-Attestation de résidence – Dupont.pdf",
        f"incoming/{MESSAGE_ID}/02-facture-2026-118.pdf",
    ]
    expected = sample_attachments("collaborator-two-pdfs.eml")
    for key, filename in zip(keys, expected, strict=True):
        obj = stack.s3.get_object(Bucket=BUCKET, Key=key)
        body = obj["Body"].read()
        assert body == expected[filename]
        assert obj["ContentType"] == "application/pdf"
        meta = Provenance.from_metadata(obj["Metadata"])
        assert meta is not None
        assert meta.filename == filename
        assert meta.sha256 == hashlib.sha256(body).hexdigest()
        assert meta.sender == "elodie.martin@partner-avocats.example"
        assert meta.sender_name == "Élodie Martin"
        assert meta.message_id == MESSAGE_ID
        assert meta.case == "case-42"
        assert meta.received_at == "2026-11-20T09:14:03.512Z"
        assert all(v.isascii() for v in obj["Metadata"].values())


def test_message_record_says_what_happened(stack: Stack, context: Any) -> None:
    deliver(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context)

    message, files = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None
    assert message.outcome == "extracted"
    assert message.attachment_count == 2
    assert message.raw_key == f"raw/{MESSAGE_ID}"
    assert message.envelope_sender == "elodie.martin@partner-avocats.example"
    assert message.from_address == "elodie.martin@partner-avocats.example"
    assert message.from_name == "Élodie Martin"
    assert message.recipients == ["submit+case-42@mailroom.test"]
    assert message.case == "case-42"
    assert message.subject == "Pièces pour le dossier Dupont"
    assert message.rfc_message_id == "<20261120091400.4821@partner-avocats.example>"
    assert message.verdicts == {
        "spam": "PASS",
        "virus": "PASS",
        "spf": "PASS",
        "dkim": "PASS",
        "dmarc": "PASS",
    }
    assert message.file_ids == stack.keys("incoming/")
    assert files == []  # file records are record_metadata's job, on ObjectCreated


def test_second_delivery_changes_nothing(stack: Stack, context: Any) -> None:
    deliver(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context)
    objects, versions, items = stack.keys(""), stack.versions("incoming/"), stack.items()

    deliver(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context)

    assert stack.keys("") == objects
    assert stack.versions("incoming/") == versions == 2  # no rewrite, so no new ObjectCreated
    assert stack.items() == items


def test_virus_fail_is_quarantined_never_incoming(stack: Stack, context: Any) -> None:
    deliver(stack, "ses-receipt-virus.json", "virus-eicar.eml", context)

    assert stack.keys("incoming/") == []
    assert stack.keys("quarantine/") == [f"quarantine/{VIRUS_ID}/01-invoice.com"]
    message, _ = stack.catalog.get_message(VIRUS_ID)
    assert message is not None
    assert message.outcome == "quarantined"
    assert message.reason == "virus verdict FAIL"
    assert message.verdicts["virus"] == "FAIL"
    assert message.verdicts["dmarc_policy"] == "reject"
    assert stack.keys("raw/") == [f"raw/{VIRUS_ID}"]


def test_sender_outside_allow_list_is_rejected_and_raw_kept(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_ALLOWED_SENDER_DOMAINS", "firm.example,clients.example")
    runtime.cache_clear()

    deliver(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context)

    assert stack.keys("incoming/") == []
    assert stack.keys("raw/") == [f"raw/{MESSAGE_ID}"]
    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None
    assert message.outcome == "rejected"
    assert message.reason == "sender domain partner-avocats.example not allowed"


def test_message_without_attachments_is_recorded(stack: Stack, context: Any) -> None:
    event = load_event("ses-receipt.json")
    event["Records"][0]["ses"]["mail"]["messageId"] = "noattach0000000000000000000000000000001"
    stack.s3.put_object(
        Bucket=BUCKET,
        Key="raw/noattach0000000000000000000000000000001",
        Body=(SAMPLE_MAIL / "no-attachment.eml").read_bytes(),
    )
    extract_attachments.handler(event, context)

    message, _ = stack.catalog.get_message("noattach0000000000000000000000000000001")
    assert message is not None
    assert message.outcome == "no_attachments"
    assert stack.keys("incoming/") == []


def test_setup_notification_is_skipped(stack: Stack, context: Any) -> None:
    event = load_event("ses-receipt.json")
    event["Records"][0]["ses"]["mail"]["messageId"] = "AMAZON_SES_SETUP_NOTIFICATION"

    extract_attachments.handler(event, context)

    assert stack.items() == []
    assert stack.keys("incoming/") == []


def test_missing_raw_object_is_recorded_failed_and_raised(stack: Stack, context: Any) -> None:
    event = load_event("ses-receipt.json")  # no raw object was stored for it

    with pytest.raises(Exception, match="NoSuchKey"):
        extract_attachments.handler(event, context)

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None
    assert message.outcome == "failed"
    assert message.reason is not None and "NoSuchKey" in message.reason


def test_event_without_subject_from_or_dkim_is_accepted(stack: Stack, context: Any) -> None:
    """The shapes the powertools parser model rejects: no Subject, Bcc-only, no dkimVerdict."""
    event = copy.deepcopy(load_event("ses-receipt.json"))
    ses = event["Records"][0]["ses"]
    del ses["mail"]["commonHeaders"]["subject"]
    del ses["mail"]["commonHeaders"]["from"]
    ses["mail"]["destination"] = []
    del ses["receipt"]["dkimVerdict"]
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=f"raw/{MESSAGE_ID}",
        Body=(SAMPLE_MAIL / "collaborator-two-pdfs.eml").read_bytes(),
    )

    extract_attachments.handler(event, context)

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None
    assert message.outcome == "extracted"
    assert message.from_address == "elodie.martin@partner-avocats.example"  # from the MIME
    assert message.subject == "Pièces pour le dossier Dupont"
    assert message.verdicts["dkim"] == "GRAY"


def test_missing_configuration_fails_at_cold_start_naming_it(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILROOM_BUCKET")
    monkeypatch.delenv("MAILROOM_TABLE")
    runtime.cache_clear()

    with pytest.raises(SettingsError, match="MAILROOM_BUCKET, MAILROOM_TABLE"):
        extract_attachments.handler(load_event("ses-receipt.json"), context)


def test_a_cap_becomes_a_warning_on_the_record_and_the_raw_message_stays(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_MAX_PARTS", "2")  # the sample has four MIME parts
    runtime.cache_clear()

    deliver(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context)

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None
    assert message.outcome in {"extracted", "no_attachments"}  # what came before the cap
    assert any("more than 2 MIME parts" in w for w in message.warnings)
    assert message.attachment_count == len(stack.keys("incoming/")) < 2
    assert stack.keys("raw/") == [f"raw/{MESSAGE_ID}"]
