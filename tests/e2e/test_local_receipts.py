"""Receipts through `mailroom local --receipt-policy authenticated` (issue 21): exactly one per
message whatever the deliveries, none to automatic or unauthenticated mail, a rate limit."""

from __future__ import annotations

import email.policy
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_string
from typing import Any

import pytest

from mailroom.cli.local_filing import local_receipts
from mailroom.local.app import LocalMailroom
from mailroom.local.outbox import read_outbox
from mailroom.local.stack import StackConfig

from .conftest import AUTHENTICATED, SUBMIT, mail, run_cli
from .test_smtp_to_cli import send

RATE = 2
STATEMENT_AND_LOGO = (
    ("statement.pdf", "application/pdf", "attachment"),
    ("logo.png", "image/png", "inline"),
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMailroom]:
    state_dir = tmp_path_factory.mktemp("mailroom-receipts")
    receipts = replace(local_receipts("authenticated", (SUBMIT,)), rate_per_hour=RATE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAILROOM_STATE_DIR", str(state_dir))
        config = StackConfig(submission_addresses=(SUBMIT,), receipts=receipts)
        with LocalMailroom(config, smtp_port=0, state_dir=state_dir) as running:
            yield running


def outbox(stack: LocalMailroom, kind: str, message_id: str) -> list[dict[str, Any]]:
    found, _ = read_outbox(stack.outbox.path)
    return [
        e
        for e in found
        if e["kind"] == kind
        and e.get("message_id", e.get("detail", {}).get("message_id")) == message_id
    ]


def settle(stack: LocalMailroom, message_id: str, timeout: float = 20) -> dict[str, Any]:
    """Until the event is in the outbox (its receipt, if any, is written with it)."""
    stack.wait_for_messages([message_id], timeout=60)
    deadline = time.monotonic() + timeout
    while not outbox(stack, "event", message_id):
        assert time.monotonic() < deadline, "no event in the outbox"
        time.sleep(0.2)
    return run_cli(stack, "message", message_id)["message"]


def test_an_authenticated_sender_gets_exactly_one_receipt_even_when_delivered_twice(
    stack: LocalMailroom,
) -> None:
    message_id = send(
        stack,
        mail(
            "Statements [case-42]",
            body="The documents, as promised.",
            attachments=STATEMENT_AND_LOGO,
        ),
    )
    record = settle(stack, message_id)
    (receipt,) = outbox(stack, "receipt", message_id)
    assert receipt["to"] == "ann@acme.example"
    assert record["receipt"].startswith("sent ")

    # The same event delivered again (an EventBridge retry): no second receipt.
    (event,) = outbox(stack, "event", message_id)
    assert stack.endpoint is not None
    stack.endpoint.client("events").put_events(
        Entries=[
            {
                "Source": "mailroom",
                "DetailType": event["detail_type"],
                "Detail": json.dumps(event["detail"]),
                "EventBusName": "mailroom-local-events",
            }
        ]
    )
    deadline = time.monotonic() + 20
    while len(outbox(stack, "event", message_id)) < 2:
        assert time.monotonic() < deadline, "the repeated event never arrived"
        time.sleep(0.2)
    assert len(outbox(stack, "receipt", message_id)) == 1

    sent = message_from_string(receipt["raw"], policy=email.policy.default)
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["In-Reply-To"] == sent["References"] == event["detail"]["rfc_message_id"]
    text = sent.get_body(("plain",)).get_content()
    assert "statement.pdf" in text and "case case-42" in text
    assert "1 inline image(s) and logo(s) set aside" in text
    assert event["detail"]["reference"] in text
    assert "logo.png" not in text
    html = sent.get_body(("html",)).get_content()
    assert 'name="viewport"' in html and "statement.pdf" in html


@pytest.mark.parametrize(
    ("headers", "verdicts", "why"),
    [
        ({"Auto-Submitted": "auto-generated"}, AUTHENTICATED, "automatic mail"),
        ({"Precedence": "bulk"}, AUTHENTICATED, "automatic mail"),
        ({}, None, "sender not authenticated"),
    ],
)
def test_no_receipt_to_automatic_or_unauthenticated_mail(
    stack: LocalMailroom, headers: dict[str, str], verdicts: str | None, why: str
) -> None:
    message_id = send(
        stack,
        mail(f"no receipt {why}", sender="bob@beta.example", verdicts=verdicts, headers=headers),
    )
    record = settle(stack, message_id)
    assert outbox(stack, "receipt", message_id) == []
    assert record["receipt"].startswith(f"none: {why}")


def test_the_rate_limit_holds(stack: LocalMailroom) -> None:
    ids = [send(stack, mail(f"batch {n}", sender="carl@gamma.example")) for n in range(RATE + 1)]
    records = [settle(stack, message_id) for message_id in ids]
    receipts = [r for m in ids for r in outbox(stack, "receipt", m)]
    assert len(receipts) == RATE
    assert sum(r["receipt"].startswith("sent ") for r in records) == RATE
    assert sum(r["receipt"].startswith("none: rate limit") for r in records) == 1
