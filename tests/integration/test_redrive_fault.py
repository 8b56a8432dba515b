"""Fault: record_metadata fails until its events land in the DLQ; `mailroom redrive` recovers.

The fault is injected at the adapter boundary, with a botocore hook that throttles DynamoDB
PutItem and UpdateItem for file records (as an exhausted table would); nothing in mailroom is
mocked. Lambda's asynchronous runtime (three attempts, then the dead-letter queue) is played by
the stand-in in tests/cli/ops_lambda.py, so the real handlers run and the real CLI command
redrives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.handlers
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from mailroom.cli.main import cli
from mailroom.handlers import extract_attachments, record_metadata
from mailroom.usecases.doctor import s3_created_event
from tests.cli.ops_lambda import Function, LambdaStandIn, lambda_stand_in
from tests.conftest import SAMPLE_MAIL, load_event
from tests.integration.conftest import BUCKET, Stack

EXTRACT = "mailroom-test-extract"
RECORD = "mailroom-test-record"


class ThrottleFileRecords:
    """before-call.dynamodb.PutItem/UpdateItem: refuse file record writes while `on`."""

    def __init__(self) -> None:
        self.on = False
        self.refused = 0

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params["body"])
        item = body.get("Key") or body.get("Item") or {}
        if self.on and item.get("sk", {}).get("S", "").startswith("FILE#"):
            self.refused += 1
            raise ClientError(
                {
                    "Error": {
                        "Code": "ProvisionedThroughputExceededException",
                        "Message": "injected",
                    }
                },
                "PutItem",
            )


@pytest.fixture
def fault() -> Iterator[ThrottleFileRecords]:
    hook = ThrottleFileRecords()
    saved = list(botocore.handlers.BUILTIN_HANDLERS)
    for operation in ("PutItem", "UpdateItem"):
        botocore.handlers.BUILTIN_HANDLERS.append((f"before-call.dynamodb.{operation}", hook))
    # Hooks are installed when a session is created: the functions' clients get a new one.
    boto3.setup_default_session()
    try:
        yield hook
    finally:
        botocore.handlers.BUILTIN_HANDLERS[:] = saved


def file_items(stack: Stack) -> list[dict[str, Any]]:
    return [i for i in stack.items() if i["sk"]["S"].startswith("FILE#")]


def dlq_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_file_records_refused_until_dead_lettered_then_redriven_exactly_once(
    stack: Stack,
    fault: ThrottleFileRecords,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqs = boto3.client("sqs")
    extract_dlq = sqs.create_queue(QueueName="extract-dlq")["QueueUrl"]
    record_dlq = sqs.create_queue(QueueName="record-dlq")["QueueUrl"]
    monkeypatch.setenv("MAILROOM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MAILROOM_RECORD_FUNCTION_NAME", RECORD)
    monkeypatch.setenv("MAILROOM_RECORD_DLQ_URL", record_dlq)
    monkeypatch.chdir(tmp_path)
    lam = LambdaStandIn(
        {
            EXTRACT: Function(extract_attachments.handler, extract_dlq),
            RECORD: Function(record_metadata.handler, record_dlq),
        },
        sqs=sqs,
    )
    event = load_event("ses-receipt.json")
    message_id = event["Records"][0]["ses"]["mail"]["messageId"]
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=f"raw/{message_id}",
        Body=(SAMPLE_MAIL / "collaborator-two-pdfs.eml").read_bytes(),
    )

    with lambda_stand_in(lam):
        # GIVEN the message extracted, and DynamoDB refusing every file record
        lam.queued.append((EXTRACT, event))
        lam.drain()
        keys = stack.keys("incoming/")
        assert len(keys) == 2
        fault.on = True
        # the bucket notification: one event per object, delivered (at least) once
        for key in keys:
            lam.queued.append((RECORD, s3_created_event(BUCKET, [key], {})))
        lam.drain()

        # THEN every attempt failed, and both events wait in record_metadata's DLQ
        assert fault.refused == 6  # 2 events x 3 attempts
        assert file_items(stack) == []
        assert dlq_depth(sqs, record_dlq) == 2

        # AND the doctor says so, and what to run
        sick = CliRunner().invoke(cli, ["doctor", "--grace", "0", "--json"])
        assert sick.exit_code == 1
        found = {f["check"]: f for f in json.loads(sick.stdout)["findings"]}
        assert found["dlq_record_metadata"]["count"] == 2
        assert found["dlq_record_metadata"]["fix"] == "mailroom redrive --function record_metadata"
        assert found["incoming_without_record"]["items"] == keys

        # WHEN the table recovers and an operator redrives
        fault.on = False
        result = CliRunner().invoke(cli, ["redrive", "--function", "record_metadata"])
        assert result.exit_code == 0, result.output
        assert "2 of 2 event(s) redriven" in result.output
        lam.drain()

        # THEN each attachment is recorded exactly once, and the queue is empty
        files = file_items(stack)
        assert sorted(i["file_id"]["S"] for i in files) == keys
        assert {i["message_id"]["S"] for i in files} == {message_id}
        assert dlq_depth(sqs, record_dlq) == 0
        message = stack.catalog.get_message(message_id)[0]
        assert message is not None and str(message.outcome) == "extracted"

        healthy = CliRunner().invoke(cli, ["doctor", "--grace", "0", "--json"])
        assert healthy.exit_code == 0, healthy.output
        found = {f["check"]: f["status"] for f in json.loads(healthy.stdout)["findings"]}
        assert found["dlq_record_metadata"] == found["incoming_without_record"] == "ok"

        # AND a second redrive finds nothing and changes nothing
        before = stack.items()
        again = CliRunner().invoke(cli, ["redrive", "--function", "record_metadata"])
        assert again.exit_code == 0, again.output
        assert "0 of 0 event(s)" in again.output
        assert lam.queued == []
        assert stack.items() == before
