"""Probes (issue 18) through both functions against moto: a recognised smoke message is recorded
as a probe (hidden from the default listings, expiring, its objects tagged); the same message
without DKIM/DMARC PASS, or from another domain, is ordinary mail, and the log says why."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from mailroom.handlers import extract_attachments, record_metadata
from mailroom.model import TTL_ATTRIBUTE
from mailroom.probes import ROLE, TAG_KEY, TAG_VALUE, expires_at
from mailroom.usecases.reprocess import event_from_record
from mailroom.usecases.smoke import Probe, message_of
from tests.conftest import load_event
from tests.integration.conftest import BUCKET, Stack
from tests.integration.test_record_metadata import s3_event

OWN = "mailroom.test"


@pytest.fixture
def own_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOM_MAIL_DOMAIN", OWN)
    monkeypatch.setenv("MAILROOM_PROBE_EXPIRY_DAYS", "3")


def deliver(
    stack: Stack, context: Any, message_id: str, sender: str, verdict: str, signer: str = OWN
) -> list[str]:
    """A smoke message from `sender`, DKIM-signed by `signer`, as SES stores it and invokes the
    extractor; then the record function for what was written. The incoming keys."""
    probe = Probe("small", f"submit@{OWN}", f"smoke-{message_id}.pdf", b"%PDF-1.7\n" * 50, None)
    raw = message_of(probe, sender, message_id)
    stack.s3.put_object(Bucket=BUCKET, Key=f"raw/{message_id}", Body=raw)
    event = copy.deepcopy(load_event("ses-receipt.json"))
    ses = event["Records"][0]["ses"]
    mail, receipt = ses["mail"], ses["receipt"]
    mail.update(messageId=message_id, source=sender, destination=[probe.recipient])
    mail["headers"] = [
        {"name": "DKIM-Signature", "value": f"v=1; a=rsa-sha256; d={signer}; s=ses; b="},
        {"name": "From", "value": sender},
        {"name": "To", "value": probe.recipient},
        {"name": "X-Mailroom-Probe", "value": f"smoke {message_id}"},
    ]
    mail["commonHeaders"] = {"from": [sender], "to": [probe.recipient], "subject": "smoke"}
    receipt["recipients"] = [probe.recipient]
    for name in ("dkimVerdict", "dmarcVerdict"):
        receipt[name] = {"status": verdict}
    extract_attachments.handler(event, context)
    keys = [k for k in stack.keys("incoming/") if f"/{message_id}/" in f"/{k}"]
    record_metadata.handler(s3_event(*keys), context)
    return keys


def tags(stack: Stack, key: str) -> dict[str, str]:
    found = stack.s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in found}


def test_a_recognised_probe_is_hidden_tagged_and_expires(
    stack: Stack, context: Any, own_domain: None
) -> None:
    [key] = deliver(stack, context, "probe-1", f"smoke@{OWN}", "PASS")

    message, [file] = stack.catalog.get_message("probe-1")
    assert message is not None and str(message.outcome) == "extracted"
    expiry = expires_at(message.received_at, 3)
    assert (message.probe, message.expires_at) == ("smoke", expiry)
    assert (file.probe, file.role, file.expires_at) == ("smoke", ROLE, expiry)
    assert file.role_reason == "smoke probe"
    items = {i["sk"]["S"]: i for i in stack.items() if i["pk"]["S"] == "MSG#probe-1"}
    assert items["MESSAGE"][TTL_ATTRIBUTE] == {"N": str(expiry)}  # a Number: DynamoDB's TTL
    assert items[f"FILE#{key}"][TTL_ATTRIBUTE] == {"N": str(expiry)}
    assert items["MESSAGE"]["outcome_key"] == {"S": "aside#extracted"}

    # The objects the lifecycle rule expires: the attachment and the raw message.
    assert tags(stack, key) == {TAG_KEY: TAG_VALUE}
    assert tags(stack, "raw/probe-1") == {TAG_KEY: TAG_VALUE}

    # Hidden from every default listing; found with --all (include_all), with its role.
    assert list(stack.catalog.files_newest_first()) == []
    assert list(stack.catalog.files_from(f"smoke@{OWN}")) == []
    assert list(stack.catalog.messages_with("extracted")) == []
    assert [r.file_id for r in stack.catalog.files_newest_first(include_all=True)] == [key]
    assert [r.role for r, _ in stack.catalog.files_from(f"smoke@{OWN}", include_all=True)] == [ROLE]


@pytest.mark.parametrize(
    ("sender", "verdict", "signer", "why"),
    [
        (f"smoke@{OWN}", "GRAY", OWN, "not authenticated (DKIM GRAY, DMARC GRAY)"),
        (f"smoke@{OWN}.evil.example", "PASS", f"{OWN}.evil.example", "is not the stack's own"),
        (f"smoke@{OWN}", "PASS", "amazonses.com", f"no DKIM signature with d={OWN}"),
    ],
)
def test_a_marker_without_the_own_authenticated_domain_is_ordinary_mail(
    stack: Stack,
    context: Any,
    own_domain: None,
    caplog: pytest.LogCaptureFixture,
    sender: str,
    verdict: str,
    signer: str,
    why: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="mailroom.usecases.intake")
    [key] = deliver(stack, context, "forged-1", sender, verdict, signer)

    message, [file] = stack.catalog.get_message("forged-1")
    assert message is not None and message.probe is None and message.expires_at is None
    assert (file.probe, file.role, file.expires_at) == (None, "document", None)
    assert tags(stack, key) == {} and tags(stack, "raw/forged-1") == {}
    assert [r.file_id for r in stack.catalog.files_newest_first()] == [key]  # staff see it
    [line] = [r for r in caplog.records if r.getMessage() == "probe marker ignored: ordinary mail"]
    assert why in line.__dict__["reason"]


def test_a_reprocessed_probe_stays_a_probe(stack: Stack, context: Any, own_domain: None) -> None:
    """`mailroom reprocess` rebuilds the SES event from the record: the marker comes back and is
    checked again against the recorded From and verdicts, so the files stay hidden."""
    [key] = deliver(stack, context, "probe-2", f"smoke@{OWN}", "PASS")
    message, _ = stack.catalog.get_message("probe-2")
    assert message is not None

    extract_attachments.handler(event_from_record(message.to_item()), context)
    record_metadata.handler(s3_event(key), context)

    again, [file] = stack.catalog.get_message("probe-2")
    assert again is not None and (again.probe, again.expires_at) == ("smoke", message.expires_at)
    assert (file.probe, file.role) == ("smoke", ROLE)
    assert list(stack.catalog.files_newest_first()) == []
