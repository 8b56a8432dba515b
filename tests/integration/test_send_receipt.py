"""The send_receipt function (issue 21) against moto DynamoDB and SES: one receipt per message
when its EventBridge event is delivered twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ses.models import ses_backends

from mailroom.handlers import send_receipt
from mailroom.handlers.runtime import receipt_runtime
from mailroom.model import table_definition
from tests.integration.conftest import TABLE, LambdaContext

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Message Recorded",
    "source": "mailroom",
    "account": "123456789012",
    "time": "2026-12-05T10:00:00Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {
        "event_id": "m1/recorded",
        "message_id": "m1",
        "reference": "m1",
        "case": "case-42",
        "sender": {
            "address": "ann@acme.example",
            "authenticated": True,
            "envelope": "ann@acme.example",
        },
        "recipients": ["submit@docs.example.com"],
        "rfc_message_id": "<x@acme.example>",
        "documents": [
            {"name": "a.pdf", "size": 10, "sha256_12": "0123456789ab", "case": "case-42"}
        ],
        "document_count": 1,
        "set_aside": {"inline_images": 0, "signatures": 0},
    },
}


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch, fake_aws_env: None) -> Iterator[Any]:
    monkeypatch.setenv("MAILROOM_TABLE", TABLE)
    monkeypatch.setenv("MAILROOM_RECEIPT_POLICY", "authenticated")
    monkeypatch.setenv("MAILROOM_RECEIPT_FROM", "receipts@docs.example.com")
    receipt_runtime.cache_clear()
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(TABLE))
        client = boto3.client("ses")
        client.verify_domain_identity(Domain="docs.example.com")
        yield client
    receipt_runtime.cache_clear()


def test_an_event_delivered_twice_sends_one_receipt(ses: Any) -> None:
    first = send_receipt.handler(EVENT, LambdaContext())
    second = send_receipt.handler(EVENT, LambdaContext())
    assert first == {"sent": True, "reason": "sent"}
    assert second["sent"] is False and "already claimed" in second["reason"]
    # moto counts the To header and the destination apart: its list of messages says one
    [sent] = ses_backends["123456789012"]["eu-west-1"].sent_messages
    assert sent.source == "receipts@docs.example.com"
    assert "Auto-Submitted: auto-replied" in sent.raw_data
