"""Faults at the adapter boundary: each ends, after Lambda's retry or a reprocess, with every
file recorded exactly once and the right final outcome (issue 7, item 4).

The faults are botocore hooks on the functions' own clients (see `faults.py`); the Lambda
retries are played by `invoke_async`, S3's notification by `Notifications`.
"""

from __future__ import annotations

import email.policy
import json
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mailroom.extract.collect import Collector
from mailroom.handlers import extract_attachments, record_metadata
from mailroom.handlers.runtime import Runtime, runtime
from mailroom.usecases.intake import DeadlineReached
from tests.conftest import load_event
from tests.integration.conftest import BUCKET, Stack
from tests.integration.faults import (
    ClockedContext,
    Fault,
    FileWrites,
    Notifications,
    invoke_async,
    item_sk,
    object_key,
    put_item_outcome,
    put_item_sk,
)

MESSAGE_ID = "fault0000000000000000000000000000000001"
COUNT = 6


def mail_with_attachments(count: int, name_chars: int = 12) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "Élodie Martin <elodie.martin@partner-avocats.example>"
    msg["To"] = "submit@mailroom.test"
    msg["Subject"] = f"{count} documents"
    msg.set_content("See attached.")
    for i in range(count):
        stem = f"{i + 1:04d}-" + "d" * max(0, name_chars - 9)
        msg.add_attachment(
            f"document {i + 1}\n".encode() * 10,
            maintype="application",
            subtype="pdf",
            filename=stem[: name_chars - 4] + ".pdf",
        )
    return msg.as_bytes()


def expected_keys(count: int, name_chars: int = 12) -> list[str]:
    return [
        f"incoming/{MESSAGE_ID}/{i + 1:02d}-"
        + (f"{i + 1:04d}-" + "d" * max(0, name_chars - 9))[: name_chars - 4]
        + ".pdf"
        for i in range(count)
    ]


def ses_event(message_id: str = MESSAGE_ID) -> dict[str, Any]:
    event = load_event("ses-receipt.json")
    event["Records"][0]["ses"]["mail"]["messageId"] = message_id
    return event


@pytest.fixture
def rt(stack: Stack) -> Iterator[Runtime]:
    """The functions' runtime (its clients carry the faults), and the raw message stored."""
    stack.s3.put_object(Bucket=BUCKET, Key=f"raw/{MESSAGE_ID}", Body=mail_with_attachments(COUNT))
    yield runtime()
    runtime.cache_clear()


def failed_metrics(stdout: str) -> int:
    """MessagesFailed counted in the EMF lines powertools printed."""
    lines = (json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"'))
    return sum(int(sum(line.get("MessagesFailed", [0]))) for line in lines)


def assert_each_file_recorded_once(stack: Stack, writes: FileWrites, keys: list[str]) -> None:
    assert stack.keys("incoming/") == keys
    for key in keys:  # one version each: one ObjectCreated, so one record_metadata run
        versions = stack.s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
        assert len(versions) == 1, key
    assert dict(writes.counts) == dict.fromkeys(keys, 1)
    _, files = stack.catalog.get_message(MESSAGE_ID)
    assert sorted(f.file_id for f in files) == keys


def test_s3_put_failing_on_the_kth_attachment(stack: Stack, rt: Runtime, context: Any) -> None:
    keys = expected_keys(COUNT)
    writes, notifications = FileWrites(rt.catalog.client), Notifications(stack)
    # The third upload fails (after botocore's own retries).
    fault = Fault(
        rt.store.client,
        "s3.PutObject",
        500,
        "InternalError",
        match=lambda request: object_key(request) == keys[2],
    )

    with pytest.raises(ClientError, match="InternalError"):
        extract_attachments.handler(ses_event(), context)
    notifications.deliver(record_metadata.handler)

    failed, _ = stack.catalog.get_message(MESSAGE_ID)
    assert failed is not None and failed.outcome == "failed"
    assert failed.reason is not None and failed.reason.startswith("ClientError:")
    assert failed.file_ids == keys[:2] and failed.file_count == 2
    assert fault.injected == 1

    # Lambda's retry: S3 has recovered; the first two are skipped as identical bytes.
    extract_attachments.handler(ses_event(), context)
    notifications.deliver(record_metadata.handler)

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    assert message.file_ids == keys and message.attachment_count == COUNT
    assert_each_file_recorded_once(stack, writes, keys)


def test_dynamodb_throttling_on_the_file_record(stack: Stack, rt: Runtime, context: Any) -> None:
    keys = expected_keys(COUNT)
    writes, notifications = FileWrites(rt.catalog.client), Notifications(stack)
    extract_attachments.handler(ses_event(), context)
    # Throttled beyond botocore's retries, twice: Lambda's second retry gets it through.
    fault = Fault(
        rt.catalog.client,
        "dynamodb.PutItem",
        400,
        "ProvisionedThroughputExceededException",
        match=lambda request: item_sk(request) == "FILE#" + keys[3],
        times=2,
    )

    failures = notifications.deliver(record_metadata.handler)

    assert fault.injected == 2
    assert failures == {**dict.fromkeys(keys, 0), keys[3]: 2}  # two failed tries, that one
    assert_each_file_recorded_once(stack, writes, keys)
    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"


def test_deadline_reached_mid_message(stack: Stack, rt: Runtime) -> None:
    keys = expected_keys(COUNT)
    writes, notifications = FileWrites(rt.catalog.client), Notifications(stack)
    # 300 s per invocation, and every upload "takes" 90 s: after three there are 30 s left (more
    # than the 20 s margin), after four none, so the fifth never starts.
    first = ClockedContext(rt.store.client, budget_ms=300_000, per_put_ms=90_000)

    with pytest.raises(DeadlineReached):
        extract_attachments.handler(ses_event(), first)
    first.close()
    notifications.deliver(record_metadata.handler)

    stopped, _ = stack.catalog.get_message(MESSAGE_ID)
    assert stopped is not None
    assert (stopped.outcome, stopped.reason) == ("failed", "deadline")
    assert stopped.file_ids == keys[:4]

    # Lambda's retry gets a fresh 300 s: four are skipped (no upload), two are written.
    second = ClockedContext(rt.store.client, budget_ms=300_000, per_put_ms=90_000)
    extract_attachments.handler(ses_event(), second)
    second.close()
    notifications.deliver(record_metadata.handler)

    assert second.puts == 2
    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted" and message.reason is None
    assert message.file_ids == keys
    assert_each_file_recorded_once(stack, writes, keys)


def test_an_engine_bug_fails_the_message_and_a_reprocess_recovers_it(
    stack: Stack,
    rt: Runtime,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = expected_keys(COUNT)
    writes, notifications = FileWrites(rt.catalog.client), Notifications(stack)
    real_unique = Collector.unique
    calls = {"n": 0}

    def buggy_unique(self: Collector, name: str) -> str:
        calls["n"] += 1
        if calls["n"] % COUNT == 3:  # the third attachment of every run
            raise RuntimeError("forced engine bug")
        return real_unique(self, name)

    monkeypatch.setattr(Collector, "unique", buggy_unique)

    errors = invoke_async(extract_attachments.handler, ses_event(), context)
    notifications.deliver(record_metadata.handler)

    assert [type(e) for e in errors] == [RuntimeError] * 3  # every retry fails: dead-lettered
    failed, _ = stack.catalog.get_message(MESSAGE_ID)
    assert failed is not None and failed.outcome == "failed"
    assert failed.reason == "RuntimeError: forced engine bug"
    assert not failed.warnings  # a bug is not a warning about the input
    assert failed_metrics(capsys.readouterr().out) == 3

    # The bug is fixed; the operator reprocesses the message (the same event, from raw/).
    monkeypatch.setattr(Collector, "unique", real_unique)
    extract_attachments.handler(ses_event(), context)
    notifications.deliver(record_metadata.handler)

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    assert_each_file_recorded_once(stack, writes, keys)


def test_a_failing_final_write_is_retried_then_left_processing(
    stack: Stack, rt: Runtime, context: Any
) -> None:
    keys = expected_keys(COUNT)
    writes, notifications = FileWrites(rt.catalog.client), Notifications(stack)

    def final(request: Any) -> bool:
        return put_item_sk(request) == "MESSAGE" and put_item_outcome(request) == "extracted"

    # A short outage: the write's own backoff outlasts it within the invocation.
    brief = Fault(rt.catalog.client, "dynamodb.PutItem", 500, "InternalServerError", final, 3)
    extract_attachments.handler(ses_event(), context)
    brief.remove()
    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert brief.injected == 3 and message is not None and message.outcome == "extracted"

    # A long one: every attempt fails. The record written before the work stays `processing`
    # for the doctor, and the error goes to Lambda for a retry.
    long = Fault(rt.catalog.client, "dynamodb.PutItem", 500, "InternalServerError", final, 100)
    with pytest.raises(ClientError, match="InternalServerError"):
        extract_attachments.handler(ses_event(), context)
    stuck, _ = stack.catalog.get_message(MESSAGE_ID)
    assert stuck is not None and stuck.outcome == "processing"
    assert stuck.verdicts["dmarc"] == "PASS" and stuck.raw_key == f"raw/{MESSAGE_ID}"
    assert long.injected == 4  # the write's own attempts

    long.remove()
    extract_attachments.handler(ses_event(), context)  # Lambda's retry
    notifications.deliver(record_metadata.handler)
    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    assert_each_file_recorded_once(stack, writes, keys)


def test_an_outcome_event_the_bus_refuses_is_counted_and_never_fails_the_message(
    stack: Stack,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The bus the function was configured with does not exist: every PutEvents is refused.
    monkeypatch.setenv("MAILROOM_EVENT_BUS", "no-such-bus")
    stack.s3.put_object(Bucket=BUCKET, Key=f"raw/{MESSAGE_ID}", Body=mail_with_attachments(2))

    extract_attachments.handler(ses_event(), context)  # does not raise: nothing to retry

    message, _ = stack.catalog.get_message(MESSAGE_ID)
    assert message is not None and message.outcome == "extracted"
    # What the -event-publish-failures alarm (infra/monitoring.tf) watches: EMF, service dimension.
    metrics = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"') and "EventPublishFailures" in line
    ]
    assert [m["EventPublishFailures"] for m in metrics] == [[1.0]]
    [directive] = metrics[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "mailroom" and directive["Dimensions"] == [["service"]]
    assert metrics[0]["service"] == "mailroom"
