"""Receipts (issue 21): who gets one (RFC 3834), the settings, and the claim (moto DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mailroom.adapters.receipts import ReceiptBook
from mailroom.model import table_definition
from mailroom.receipts import (
    ReceiptPolicy,
    ReceiptSettings,
    ReceiptSettingsError,
    automatic_reason,
    recipient_of,
)
from mailroom.usecases.receipts import answer_event

ON = ReceiptSettings(
    ReceiptPolicy.AUTHENTICATED, "receipts@docs.example", own_domains=frozenset({"docs.example"})
)
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def detail(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": "m1",
        "reference": "MR-ABC",
        "sender": {
            "address": "ann@acme.example",
            "authenticated": True,
            "envelope": "ann@acme.example",
        },
        "recipients": ["submit@docs.example"],
        "documents": [{"name": "a.pdf", "size": 2048, "sha256_12": "0123456789ab", "case": None}],
        "document_count": 1,
        "set_aside": {"inline_images": 0, "signatures": 0},
        "rfc_message_id": "<x@acme.example>",
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Auto-Submitted", "auto-generated")], "Auto-Submitted: auto-generated"),
        ([("Auto-Submitted", "auto-replied; owner=x")], "Auto-Submitted: auto-replied; owner=x"),
        ([("Auto-Submitted", "no")], None),
        ([("Precedence", "Bulk")], "Precedence: bulk"),
        ([("Precedence", "junk")], "Precedence: junk"),
        ([("Precedence", "first-class")], None),
        ([("List-Id", "<list.example>")], "List-Id"),
        ([("Subject", "hello")], None),
    ],
)
def test_automatic_mail_is_recognised(headers: list[tuple[str, str]], expected: str | None) -> None:
    assert automatic_reason(headers) == expected


@pytest.mark.parametrize(
    ("sender", "settings", "why"),
    [
        ({"envelope": None}, ON, "null return path"),
        ({"envelope": "MAILER-DAEMON@acme.example"}, ON, "system address"),
        ({"envelope": "postmaster@acme.example"}, ON, "system address"),
        ({"envelope": "x@docs.example", "address": "x@docs.example"}, ON, "our own"),
        ({"envelope": "ann@mailer.example"}, ON, "not in the From's domain"),
        ({"authenticated": False}, ON, "not authenticated"),
        ({}, ReceiptSettings(), "receipts are off"),
    ],
)
def test_who_gets_no_receipt(sender: dict[str, Any], settings: ReceiptSettings, why: str) -> None:
    base = detail()["sender"]
    to, reason = recipient_of(detail(sender={**base, **sender}), settings)
    assert to is None and why in reason


def test_who_gets_one() -> None:
    assert recipient_of(detail(), ON) == ("ann@acme.example", "ok")
    # a subdomain return path of the From's domain (mail.acme.example) is in its domain
    sender = {**detail()["sender"], "envelope": "ann@mail.acme.example"}
    assert recipient_of(detail(sender=sender), ON)[0] == "ann@mail.acme.example"
    # under `all`, an unauthenticated sender too (still in the From's domain)
    loose = ReceiptSettings(ReceiptPolicy.ALL, "receipts@docs.example")
    unauth = {**detail()["sender"], "authenticated": False}
    assert recipient_of(detail(sender=unauth), loose)[0] == "ann@acme.example"
    assert recipient_of(detail(automatic="List-Id"), loose)[0] is None


def test_settings_are_validated() -> None:
    with pytest.raises(ReceiptSettingsError) as caught:
        ReceiptSettings.from_env(
            {"MAILROOM_RECEIPT_POLICY": "authenticated", "MAILROOM_RECEIPT_RATE_PER_HOUR": "0"}
        )
    assert "MAILROOM_RECEIPT_FROM is required" in str(caught.value)
    assert "1..1000" in str(caught.value)
    good = ReceiptSettings.from_env(
        {"MAILROOM_RECEIPT_POLICY": "all", "MAILROOM_RECEIPT_FROM": "r@docs.example"}
    )
    assert ReceiptSettings.from_env(good.to_env()) == good
    assert ReceiptSettings.from_env({}).policy is ReceiptPolicy.OFF


class Mailer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[str, str, bytes]] = []

    def send_raw(self, source: str, to: str, raw: bytes) -> str:
        if self.fail:
            raise ConnectionError("SES throttled")
        self.sent.append((source, to, raw))
        return f"id-{len(self.sent)}"


@pytest.fixture
def book(fake_aws_env: None) -> Iterator[ReceiptBook]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        ddb.create_table(**table_definition("t"))
        yield ReceiptBook(ddb, "t")


def test_a_failed_send_releases_the_claim_so_the_retry_sends_exactly_one(
    book: ReceiptBook,
) -> None:
    with pytest.raises(ConnectionError):
        answer_event("Message Recorded", detail(), ON, book, Mailer(fail=True), now=NOW)
    mailer = Mailer()
    first = answer_event("Message Recorded", detail(), ON, book, mailer, now=NOW)
    again = answer_event("Message Recorded", detail(), ON, book, mailer, now=NOW)
    assert (first.sent, again.sent, again.reason) == (
        True,
        False,
        "already claimed (a repeated delivery)",
    )
    assert len(mailer.sent) == 1
    assert mailer.sent[0][:2] == ("receipts@docs.example", "ann@acme.example")


def test_no_receipt_for_rejected_or_failed(book: ReceiptBook) -> None:
    mailer = Mailer()
    for kind in ("Message Rejected", "Message Failed"):
        assert not answer_event(kind, detail(), ON, book, mailer, now=NOW).sent
    assert mailer.sent == []
