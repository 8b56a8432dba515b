"""Issue 21 through `mailroom local`: filing by subject, needs_filing and re-filing, outcome
events in the outbox (one per message, stable ids, the documented shape)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailroom.local.app import LocalMailroom
from mailroom.local.outbox import read_outbox
from mailroom.local.stack import StackConfig
from mailroom.routing import load_rules

from .conftest import AUTHENTICATED, SUBMIT, mail, run_cli
from .test_smtp_to_cli import send

RULES = '{"rules": [{"name": "acme", "sender": "@acme.example", "labels": ["client"]}]}'
EVENT_KEYS = {
    "event_id",
    "schema_version",
    "message_id",
    "reference",
    "received_at",
    "outcome",
    "case",
    "labels",
    "needs_filing",
    "sender",
    "rfc_message_id",
    "subject",
    "recipients",
    "reason",
    "documents",
    "document_count",
    "documents_truncated",
    "set_aside",
    "file_count",
    "notes",
    "link",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMailroom]:
    state_dir = tmp_path_factory.mktemp("mailroom-filing")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAILROOM_STATE_DIR", str(state_dir))
        config = StackConfig(submission_addresses=(SUBMIT,), routing=load_rules(RULES))
        with LocalMailroom(config, smtp_port=0, state_dir=state_dir) as running:
            yield running


def events_for(stack: LocalMailroom, message_id: str, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found, _ = read_outbox(stack.outbox.path)
        mine = [
            e for e in found if e["kind"] == "event" and e["detail"]["message_id"] == message_id
        ]
        if mine or time.monotonic() > deadline:
            return mine
        time.sleep(0.2)


def test_a_subject_case_tag_files_under_that_case(stack: LocalMailroom) -> None:
    message_id = send(stack, mail("Scans for [case-42]"))
    (outcome,) = stack.wait_for_messages([message_id], timeout=60)
    assert outcome.record is not None
    assert (outcome.record.case, outcome.record.labels) == ("case-42", ["client"])
    assert [f.case for f in outcome.files] == ["case-42"]
    listed = run_cli(stack, "list", "--case", "case-42")
    assert [f["message_id"] for f in listed] == [message_id]


def test_two_case_tags_need_filing_and_refiling_records_who_and_when(
    stack: LocalMailroom,
) -> None:
    message_id = send(stack, mail("[case-1] and Case #2"))
    (outcome,) = stack.wait_for_messages([message_id], timeout=60)
    assert outcome.record is not None
    assert (outcome.record.case, outcome.record.needs_filing) == (None, True)
    flagged = run_cli(stack, "messages", "--needs-filing")
    assert [m["message_id"] for m in flagged] == [message_id]

    filed = run_cli(stack, "file", message_id, "--case", "case-2", "--by", "ann@firm.example")
    assert (filed["message"]["case"], filed["message"]["filed_by"]) == (
        "case-2",
        "ann@firm.example",
    )
    assert filed["message"]["filed_at"] and filed["previous_case"] is None
    shown = run_cli(stack, "message", message_id)
    assert shown["message"]["needs_filing"] is False
    assert [f["case"] for f in shown["files"]] == ["case-2"]
    assert run_cli(stack, "messages", "--needs-filing") == []


def test_events_arrive_in_the_outbox_one_per_message_with_stable_ids(
    stack: LocalMailroom,
) -> None:
    recorded = send(stack, mail("Ref: 77 payslips"))
    flagged = send(stack, mail("[case-8] [case-9]"))
    quarantined = send(stack, mail("infected", verdicts="virus=FAIL; " + AUTHENTICATED))
    stack.wait_for_messages([recorded, flagged, quarantined], timeout=60)
    kinds = {}
    for message_id in (recorded, flagged, quarantined):
        (event,) = events_for(stack, message_id)
        assert set(event["detail"]) >= EVENT_KEYS
        kinds[message_id] = (event["detail_type"], event["id"])
        assert event["source"] == "mailroom"
    assert kinds[recorded] == ("Message Recorded", f"{recorded}/recorded")
    assert kinds[flagged] == ("Message Needs Filing", f"{flagged}/needs-filing")
    assert kinds[quarantined] == ("Message Quarantined", f"{quarantined}/quarantined")
    (event,) = events_for(stack, recorded)
    detail = event["detail"]
    assert detail["case"] == "case-77" and detail["labels"] == ["client"]
    (document,) = detail["documents"]
    assert document["name"] == "scan.pdf" and len(document["sha256_12"]) == 12
    assert detail["sender"] == {
        "address": "ann@acme.example",
        "authenticated": True,
        "envelope": "ann@acme.example",
    }
    (held,) = events_for(stack, quarantined)
    assert held["detail"]["documents"] == [] and held["detail"]["held"]["count"] == 1


def test_outbox_command_shows_the_events(stack: LocalMailroom, tmp_path: Path) -> None:
    message_id = send(stack, mail("[case-5] outbox"))
    stack.wait_for_messages([message_id], timeout=60)
    assert events_for(stack, message_id)
    shown = run_cli(stack, "outbox")
    assert any(e.get("id") == f"{message_id}/recorded" for e in shown)


def test_the_local_bus_targets_only_what_the_emulator_delivers(stack: LocalMailroom) -> None:
    """moto delivers bus events to SQS; it raises inside PutEvents for a Lambda or SNS target
    and does not call API destinations. Local mode's bus has its outbox queue and nothing else
    (receipts and webhooks are local mode's own: local/outbox.py)."""
    assert stack.endpoint is not None
    events = stack.endpoint.client("events")
    bus = stack.config.settings.event_bus
    rules = events.list_rules(EventBusName=bus)["Rules"]
    targets = [
        target["Arn"]
        for rule in rules
        for target in events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    ]
    assert len(rules) == 1 and [arn.split(":")[2] for arn in targets] == ["sqs"]
