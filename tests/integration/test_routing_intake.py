"""Routing rules in the extract_attachments function (issue 21), against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mailroom.handlers import extract_attachments, record_metadata
from mailroom.handlers.runtime import runtime
from mailroom.provenance import Provenance
from mailroom.usecases import filing
from mailroom.usecases.recording import ObjectCreated, record_object
from tests.conftest import SAMPLE_MAIL, load_event
from tests.integration.conftest import BUCKET, Stack
from tests.integration.test_record_metadata import s3_event

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


def test_a_re_filed_case_is_staffs_reprocess_duplicates_and_late_records_keep_it(
    rules: None, stack: Stack, context: Any
) -> None:
    """After `mailroom file`, the case is staff's: a file recorded late gets it, and a second
    delivery of the message (reprocess, a duplicate event) and of its files never changes it."""
    message = deliver(stack, context, to="submit@mailroom.test", subject="[case-1] Ref: 2")
    assert (message.case, message.needs_filing) == (None, True)
    first, late = sorted(stack.keys("incoming/"))
    record_metadata.handler(s3_event(first), context)  # recorded before the filing
    done = filing.file_message(stack.catalog, MESSAGE_ID, "case-9", by="clerk@firm.example")
    assert [f.file_id for f in done.files] == [first]
    record_metadata.handler(s3_event(late), context)  # recorded after it: follows it

    again = deliver(stack, context, to="submit@mailroom.test", subject="[case-1] Ref: 2")
    record_metadata.handler(s3_event(first, late), context)  # duplicate events of both files

    stored, files = stack.catalog.get_message(MESSAGE_ID)
    assert stored is not None
    for record in (again, stored):
        assert (record.case, record.needs_filing, record.filed_by, record.filed_at) == (
            "case-9",
            False,
            "clerk@firm.example",
            done.message.filed_at,
        )
    assert list(stack.catalog.messages_needing_filing()) == []
    assert [(f.file_id, f.case) for f in files] == [(first, "case-9"), (late, "case-9")]
    assert sorted(f.file_id for f in stack.catalog.files_of_case("case-9")) == [first, late]


def test_a_file_recorded_while_its_message_is_re_filed_follows_the_filing(
    rules: None, stack: Stack, context: Any
) -> None:
    """The race: the filing lists the message's files before this one lands, and the record is
    written with the case read before the filing. The read after the write catches it."""
    deliver(stack, context, to="submit@mailroom.test", subject="[case-1] Ref: 2")
    [key, *_] = sorted(stack.keys("incoming/"))
    catalog = stack.catalog
    reads = 0
    original = catalog.message_filing

    def file_between_the_reads(message_id: str) -> Any:
        nonlocal reads
        reads += 1
        if reads == 2:  # after the write: staff filed it meanwhile, seeing no file yet
            catalog.file_message(MESSAGE_ID, "case-5", "clerk@firm.example", "2026-12-05T10:00Z")
        return original(message_id)

    catalog.message_filing = file_between_the_reads  # type: ignore[method-assign]
    recorded = record_object(ObjectCreated(key), "incoming/", stack.store, catalog, filings=catalog)
    assert recorded is not None and recorded.case == "case-5"
    stored = catalog.get_file(key)
    assert stored is not None and stored.case == "case-5"
