"""The message record's lifecycle and the verdict policies, through the handlers, against moto.

A record exists before the work (`processing`) and is finalised after it; it never outgrows
DynamoDB's item limit; the allow-list trusts only an authenticated sender; virus and spam
policies decide what reaches `incoming/` (issue 7 item 2, issue 8 items 2 and 3).
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from typing import Any

import pytest

from mailroom.handlers import extract_attachments, record_metadata
from mailroom.handlers.runtime import runtime
from tests.conftest import ROOT, SAMPLE_MAIL, load_event
from tests.integration.conftest import BUCKET, TABLE, LambdaContext, Stack
from tests.integration.faults import Notifications

MESSAGE_ID = "f6m7k0q3cbjq1u2v8d1n4ha5ls2o7r9e0t4pd481"  # the sample event's
FIXTURES = ROOT / "tests" / "fixtures" / "mail"


def deliver_sample(
    stack: Stack, context: Any, *, receipt: dict[str, Any] | None = None, source: str = ""
) -> None:
    event = load_event("ses-receipt.json")
    ses = event["Records"][0]["ses"]
    ses["receipt"].update(receipt or {})
    if source:
        ses["mail"]["source"] = source
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=f"raw/{MESSAGE_ID}",
        Body=(SAMPLE_MAIL / "collaborator-two-pdfs.eml").read_bytes(),
    )
    extract_attachments.handler(event, context)


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """A new function configuration, as `terraform apply` would set it: a new cold start."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.cache_clear()


def test_the_record_says_processing_while_the_work_is_under_way(stack: Stack, context: Any) -> None:
    seen: list[dict[str, Any]] = []

    def look(**kwargs: Any) -> None:  # at the first upload, read the record as the CLI would
        if not seen:
            message, _ = stack.catalog.get_message(MESSAGE_ID)
            assert message is not None
            seen.append(message.to_item())

    runtime().store.client.meta.events.register("before-call.s3.PutObject", look)
    deliver_sample(stack, context)

    (during,) = seen
    assert during["outcome"] == "processing"
    assert during["raw_key"] == f"raw/{MESSAGE_ID}"
    assert during["from_address"] == "elodie.martin@partner-avocats.example"
    assert during["verdicts"]["dmarc"] == "PASS" and during["authenticated"] is True
    assert "file_ids" not in during
    after, _ = stack.catalog.get_message(MESSAGE_ID)
    assert after is not None and after.outcome == "extracted" and after.file_count == 2


@pytest.mark.parametrize("fixture", ["base64-damaged.eml", "missing-close-boundary.eml"])
def test_malformed_input_is_a_warning_not_a_failure(
    stack: Stack, context: Any, fixture: str
) -> None:
    event = load_event("ses-receipt.json")
    stack.s3.put_object(
        Bucket=BUCKET, Key=f"raw/{MESSAGE_ID}", Body=(FIXTURES / fixture).read_bytes()
    )

    extract_attachments.handler(event, context)  # does not raise

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    assert message.warnings and message.reason is None


class ShortTimeout(LambdaContext):
    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 3_000  # a function configured with a 3 s timeout, at its start


def test_a_short_configured_timeout_still_makes_progress(stack: Stack) -> None:
    """The deadline margin shrinks to a quarter of the time there is, not the whole of it."""
    deliver_sample(stack, ShortTimeout())

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"


def test_a_forged_from_is_rejected_and_the_raw_message_kept(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From: the allowed domain; SPF passes, but for the forger's own MAIL FROM domain."""
    configure(monkeypatch, MAILROOM_ALLOWED_SENDER_DOMAINS="partner-avocats.example")

    deliver_sample(
        stack,
        context,
        receipt={"dmarcVerdict": {"status": "FAIL"}, "dkimVerdict": {"status": "FAIL"}},
        source="bounce@forger.example",
    )

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "rejected"
    assert message.authenticated is False
    assert message.reason == (
        "sender not authenticated: dmarc=FAIL spf=PASS for forger.example, not aligned dkim=FAIL"
    )
    assert stack.keys("incoming/") == [] and stack.keys("quarantine/") == []
    assert stack.keys("raw/") == [f"raw/{MESSAGE_ID}"]


def test_an_authenticated_sender_is_admitted_and_its_files_say_so(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, MAILROOM_ALLOWED_SENDER_DOMAINS="partner-avocats.example")

    deliver_sample(stack, context)  # the sample: DMARC PASS for partner-avocats.example
    Notifications(stack).deliver(record_metadata.handler)

    message, files = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    assert (message.authenticated, message.auth_reason) == (
        True,
        "dmarc=PASS for partner-avocats.example",
    )
    assert len(files) == 2
    assert {(f.authenticated, f.auth_reason) for f in files} == {
        (True, "dmarc=PASS for partner-avocats.example")
    }


def test_without_an_allow_list_an_unauthenticated_sender_is_delivered_and_marked(
    stack: Stack, context: Any
) -> None:
    deliver_sample(stack, context, receipt={"dmarcVerdict": {"status": "GRAY"}}, source="x@y.test")
    Notifications(stack).deliver(record_metadata.handler)

    message, files = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    assert message.authenticated is False
    assert {f.authenticated for f in files} == {False}


@pytest.mark.parametrize(
    ("virus", "policy", "prefix", "outcome"),
    [
        ("GRAY", "strict", "quarantine/", "quarantined"),
        ("PROCESSING_FAILED", "strict", "quarantine/", "quarantined"),
        ("GRAY", "fail_only", "incoming/", "extracted"),
        ("PASS", "strict", "incoming/", "extracted"),
    ],
)
def test_virus_policy_decides_what_reaches_incoming(
    stack: Stack,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    virus: str,
    policy: str,
    prefix: str,
    outcome: str,
) -> None:
    configure(monkeypatch, MAILROOM_VIRUS_POLICY=policy)

    deliver_sample(stack, context, receipt={"virusVerdict": {"status": virus}})

    other = "incoming/" if prefix == "quarantine/" else "quarantine/"
    assert len(stack.keys(prefix)) == 2 and stack.keys(other) == []
    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == outcome
    if outcome == "quarantined":
        assert message.reason == f"virus verdict {virus} (strict)"


def test_spam_is_tagged_on_message_and_files_by_default(stack: Stack, context: Any) -> None:
    deliver_sample(stack, context, receipt={"spamVerdict": {"status": "FAIL"}})
    Notifications(stack).deliver(record_metadata.handler)

    message, files = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    assert message.suspected_spam is True
    assert len(files) == 2 and all(f.suspected_spam for f in files)


@pytest.mark.parametrize(
    ("policy", "outcome", "tagged"),
    [("record", "extracted", False), ("quarantine", "quarantined", True)],
)
def test_spam_policy_record_or_quarantine(
    stack: Stack,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
    outcome: str,
    tagged: bool,
) -> None:
    configure(monkeypatch, MAILROOM_SPAM_POLICY=policy)

    deliver_sample(stack, context, receipt={"spamVerdict": {"status": "FAIL"}})

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None
    assert (message.outcome, message.suspected_spam) == (outcome, tagged)
    assert message.verdicts["spam"] == "FAIL"


@pytest.mark.slow
def test_2000_attachments_with_long_names_end_with_a_final_record(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before file_ids was bounded, this item was ~600 KB and DynamoDB refused it."""
    configure(monkeypatch, MAILROOM_MAX_PARTS="5000")
    count = 2000
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "elodie.martin@partner-avocats.example"
    msg["To"] = "submit@mailroom.test"
    msg["Subject"] = "everything"
    msg.set_content("All of it.")
    for i in range(count):
        name = f"{i:04d}-" + "n" * 241 + ".pdf"  # 250 characters
        msg.add_attachment(b"%d" % i, maintype="application", subtype="pdf", filename=name)
    event = load_event("ses-receipt.json")
    stack.s3.put_object(Bucket=BUCKET, Key=f"raw/{MESSAGE_ID}", Body=msg.as_bytes())

    extract_attachments.handler(event, context)

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    assert (message.attachment_count, message.file_count) == (count, count)
    assert message.file_ids_truncated and len(message.file_ids) == 100
    assert len(stack.keys("incoming/")) == count
    item = stack.ddb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"MSG#{MESSAGE_ID}"}, "sk": {"S": "MESSAGE"}}
    )["Item"]
    assert len(str(item).encode()) < 400_000
