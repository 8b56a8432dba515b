"""Issue 22: release from quarantine, through the use case and the extract function (moto).

The use case builds the event and hands it to an Invoker; here the Invoker keeps it, and the
test hands it to the extract handler as Lambda would (the local stack does that for real in
tests/e2e/test_local_release.py). Then the objects under incoming/ are recorded as
record_metadata would, and the records are read back.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from mailroom.adapters.catalog import AuditTrail
from mailroom.audit import Action, Target
from mailroom.handlers import extract_attachments
from mailroom.handlers.runtime import runtime
from mailroom.release import EVENT_KEY
from mailroom.usecases import release, reprocess
from mailroom.usecases.audit import DEFAULT_RETENTION_DAYS
from mailroom.usecases.errors import InvalidInput
from mailroom.usecases.recording import ObjectCreated, record_object
from tests.conftest import SAMPLE_MAIL, load_event
from tests.integration.conftest import BUCKET, TABLE, Stack

MESSAGE_ID = "f6m7k0q3cbjq1u2v8d1n4ha5ls2o7r9e0t4pd481"
VIRUS_ID = "b2v9q0x4k7n1m3c5z8a6s0d2f4g6h8j0k2l4p6r8"
FUNCTION = "mailroom-test-extract-attachments"
AT = datetime(2026, 12, 5, 18, 0, 0, 123000, tzinfo=UTC)


class KeptInvoker:
    """The Invoker port, keeping what it was handed (the Lambda queue of this test)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> None:
        self.events.append((function, copy.deepcopy(dict(event))))


def receive(stack: Stack, event_name: str, eml: str, context: Any, **verdicts: str) -> str:
    event = load_event(event_name)
    mail = event["Records"][0]["ses"]["mail"]
    for name, status in verdicts.items():
        event["Records"][0]["ses"]["receipt"][f"{name}Verdict"] = {"status": status}
    stack.s3.put_object(
        Bucket=BUCKET, Key=f"raw/{mail['messageId']}", Body=(SAMPLE_MAIL / eml).read_bytes()
    )
    extract_attachments.handler(event, context)
    return str(mail["messageId"])


def record_incoming(stack: Stack) -> None:
    for key in stack.keys("incoming/"):
        record_object(ObjectCreated(key), "incoming/", stack.store, stack.catalog)


@pytest.fixture
def spam_quarantine(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> Stack:
    monkeypatch.setenv("MAILROOM_SPAM_POLICY", "quarantine")
    runtime.cache_clear()
    return stack


def test_a_spam_quarantined_message_is_released_into_incoming_and_recorded(
    spam_quarantine: Stack, context: Any
) -> None:
    stack = spam_quarantine
    mid = receive(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context, spam="FAIL")
    held = release.quarantine(stack.catalog)
    assert [(m.message_id, m.reason) for m in held.messages] == [(mid, "spam verdict FAIL")]
    assert held.messages[0].verdicts["spam"] == "FAIL"
    assert stack.keys("incoming/") == [] and len(stack.keys("quarantine/")) == 2

    invoker = KeptInvoker()
    queued = release.release_message(
        stack.catalog,
        invoker,
        FUNCTION,
        mid,
        by="staff@firm.example",
        reason="  a client  ",
        now=AT,
    )
    assert queued.release.reason == "a client"
    [(function, event)] = invoker.events
    assert function == FUNCTION
    assert event["Records"][0]["ses"]["mail"][EVENT_KEY] == {
        "by": "staff@firm.example",
        "at": "2026-12-05T18:00:00.123Z",
        "reason": "a client",
        "allow_virus": False,
    }
    extract_attachments.handler(copy.deepcopy(event), context)
    record_incoming(stack)

    message, files = stack.catalog.get_message(mid)
    assert message is not None and message.outcome == "released"
    assert (message.released_by, message.released_at, message.release_reason) == (
        "staff@firm.example",
        "2026-12-05T18:00:00.123Z",
        "a client",
    )
    assert message.reason == "spam verdict FAIL"  # why it had been held stays on the record
    assert sorted(f.file_id for f in files) == stack.keys("incoming/")
    assert len(files) == 2
    for record in files:
        assert record.released_by == "staff@firm.example"
        assert record.released_at == "2026-12-05T18:00:00.123Z"
        assert record.release_reason == "a client"
    assert release.quarantine(stack.catalog).messages == []
    # One audit entry, written by the function, naming the actor and the reason.
    trail = AuditTrail(stack.ddb, TABLE, DEFAULT_RETENTION_DAYS)
    [entry] = list(trail.entries_of([Target.message(mid)]))
    assert (entry.action, entry.actor, entry.origin) == (
        Action.RELEASE,
        "staff@firm.example",
        "function",
    )
    assert str(entry.reported_by) == "server"
    assert entry.details["reason"] == "a client"
    assert entry.details["allow_virus"] is False
    assert entry.at == "2026-12-05T18:00:00.123Z"

    # The same event again (Lambda's at-least-once delivery): the same keys, no new version,
    # the same records.
    objects, versions, items = stack.keys(""), stack.versions("incoming/"), stack.items()
    extract_attachments.handler(copy.deepcopy(event), context)
    record_incoming(stack)
    assert stack.keys("") == objects
    assert stack.versions("incoming/") == versions == 2
    assert stack.items() == items  # the audit entry included: still one
    assert len(list(trail.entries_of([Target.message(mid)]))) == 1

    # A second release is refused, naming the first.
    with pytest.raises(InvalidInput, match=r"already released by staff@firm\.example"):
        release.release_message(stack.catalog, invoker, FUNCTION, mid, by="x", reason="again")

    # Reprocessing a released message keeps the release (event rebuilt from the record).
    item = stack.catalog.get_message(mid)[0]
    assert item is not None
    again = reprocess.event_from_record(item.to_item())
    assert again["Records"][0]["ses"]["mail"][EVENT_KEY]["by"] == "staff@firm.example"


def test_a_virus_fail_is_refused_without_allow_virus_and_released_with_it(
    stack: Stack, context: Any
) -> None:
    mid = receive(stack, "ses-receipt-virus.json", "virus-eicar.eml", context)
    assert mid == VIRUS_ID
    invoker = KeptInvoker()
    with pytest.raises(InvalidInput, match=r"virus verdict is FAIL.*--allow-virus") as refused:
        release.release_message(stack.catalog, invoker, FUNCTION, mid, by="a", reason="sure")
    assert refused.value.field == "allow_virus"
    assert invoker.events == []

    # The event is the boundary: the same release forged without the flag, straight to the
    # function, is refused there too, and nothing changes.
    item = stack.catalog.get_message(mid)[0]
    assert item is not None
    forged = reprocess.event_from_record(item.to_item())
    forged["Records"][0]["ses"]["mail"][EVENT_KEY] = {
        "by": "someone",
        "at": "2026-12-05T18:00:00.000Z",
        "reason": "trust me",
        "allow_virus": False,
    }
    items = stack.items()
    assert extract_attachments.handler(forged, context) == {"disposition": "CONTINUE"}
    assert stack.items() == items
    assert stack.keys("incoming/") == []

    release.release_message(
        stack.catalog,
        invoker,
        FUNCTION,
        mid,
        by="admin",
        reason="known test file",
        allow_virus=True,
    )
    [(_, event)] = invoker.events
    extract_attachments.handler(event, context)
    message, _ = stack.catalog.get_message(mid)
    assert message is not None and message.outcome == "released"
    assert message.release_allow_virus is True
    assert stack.keys("incoming/") == [f"incoming/{VIRUS_ID}/01-invoice.com"]
    trail = AuditTrail(stack.ddb, TABLE, DEFAULT_RETENTION_DAYS)
    [entry] = list(trail.entries_of([Target.message(mid)]))  # none for the refused one
    assert (entry.actor, entry.details["allow_virus"], entry.details["virus"]) == (
        "admin",
        True,
        "FAIL",
    )


def test_the_runtime_keeps_entries_as_long_as_the_settings_say(stack: Stack) -> None:
    """audit_retention_days reaches the functions (MAILROOM_AUDIT_RETENTION_DAYS -> Settings);
    unset, the audit core's default."""
    assert runtime().settings.audit_retention_days == DEFAULT_RETENTION_DAYS
    assert runtime().audit is not None
    assert runtime().audit.retention_days == DEFAULT_RETENTION_DAYS


@pytest.mark.parametrize(
    ("decision", "problem"),  # problem: what the function's log says (not asserted: logs)
    [
        ({"by": "a", "at": "2026-12-05T18:00:00.000Z", "reason": ""}, "empty"),
        ({"by": "a", "at": "2026-12-05T18:00:00.000Z", "reason": "x\u202ey"}, "control"),
        ({"by": "a", "at": "2026-12-05T18:00:00.000Z", "reason": "r" * 501}, "longer"),
        ({"by": "", "at": "2026-12-05T18:00:00.000Z", "reason": "r"}, "empty"),
        ({"by": "a", "at": "yesterday", "reason": "r"}, "ISO"),
        ({"by": "a", "at": "2026-12-05T18:00:00.000Z", "reason": "r", "allow_virus": 1}, "true"),
        ("release it", "object"),
    ],
)
def test_a_malformed_release_changes_nothing(
    spam_quarantine: Stack, context: Any, decision: Any, problem: str
) -> None:
    stack = spam_quarantine
    mid = receive(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context, spam="FAIL")
    item = stack.catalog.get_message(mid)[0]
    assert item is not None
    event = reprocess.event_from_record(item.to_item())
    event["Records"][0]["ses"]["mail"][EVENT_KEY] = decision
    items = stack.items()
    extract_attachments.handler(event, context)
    assert stack.items() == items
    assert stack.keys("incoming/") == []


def test_only_a_quarantined_message_is_released(stack: Stack, context: Any) -> None:
    mid = receive(stack, "ses-receipt.json", "collaborator-two-pdfs.eml", context)
    with pytest.raises(InvalidInput, match="is extracted, not quarantined"):
        release.release_message(stack.catalog, KeptInvoker(), FUNCTION, mid, by="a", reason="r")
    assert mid == MESSAGE_ID
