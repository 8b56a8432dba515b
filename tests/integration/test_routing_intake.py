"""Routing rules in the extract_attachments function (issue 21), against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mailroom.handlers import extract_attachments
from mailroom.handlers.runtime import runtime
from mailroom.provenance import Provenance
from tests.conftest import SAMPLE_MAIL, load_event
from tests.integration.conftest import BUCKET, Stack

MESSAGE_ID = "f6m7k0q3cbjq1u2v8d1n4ha5ls2o7r9e0t4pd481"
RULES = {
    "rules": [
        {
            "name": "partner",
            "sender": "@partner-avocats.example",
            "case": "dupont",
            "labels": ["partner"],
        }
    ]
}


def deliver(stack: Stack, context: Any, *, to: str, subject: str, dmarc: str = "PASS") -> Any:
    event = load_event("ses-receipt.json")
    ses = event["Records"][0]["ses"]
    ses["receipt"]["recipients"] = [to]
    ses["mail"]["commonHeaders"]["subject"] = subject
    for name in ("dmarcVerdict", "spfVerdict", "dkimVerdict"):
        ses["receipt"][name] = {"status": dmarc}
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=f"raw/{MESSAGE_ID}",
        Body=(SAMPLE_MAIL / "collaborator-two-pdfs.eml").read_bytes(),
    )
    extract_attachments.handler(event, context)
    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None
    return message


@pytest.fixture
def rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOM_ROUTING_RULES", json.dumps(RULES))
    runtime.cache_clear()


def test_a_subject_case_tag_files_the_message_and_its_files(
    rules: None, stack: Stack, context: Any
) -> None:
    message = deliver(stack, context, to="submit@mailroom.test", subject="Scans [case-42]")
    assert (message.case, message.needs_filing, message.labels) == ("case-42", False, ["partner"])
    assert message.filing_reason == "subject: subject pattern [case-{id}]"
    for key in stack.keys("incoming/"):
        meta = stack.s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]
        provenance = Provenance.from_metadata(meta)
        assert provenance is not None and provenance.case == "case-42"


def test_two_case_tags_need_filing_and_are_indexed(rules: None, stack: Stack, context: Any) -> None:
    message = deliver(stack, context, to="submit@mailroom.test", subject="[case-1] Ref: 2")
    assert (message.case, message.needs_filing) == (None, True)
    assert [m.message_id for m in stack.catalog.messages_needing_filing()] == [MESSAGE_ID]


def test_sender_rules_ignore_an_unauthenticated_from(
    rules: None, stack: Stack, context: Any
) -> None:
    forged = deliver(stack, context, to="submit@mailroom.test", subject="hi", dmarc="FAIL")
    assert forged.authenticated is False
    assert (forged.case, forged.labels) == (None, [])
    runtime.cache_clear()


def test_an_authenticated_sender_rule_files_it(rules: None, stack: Stack, context: Any) -> None:
    message = deliver(stack, context, to="submit@mailroom.test", subject="hi")
    assert (message.case, message.labels) == ("dupont", ["partner"])
