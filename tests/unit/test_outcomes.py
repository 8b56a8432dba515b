"""Outcome events (issue 21): kinds, stable ids, bounded size, retried publishing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from mailroom.extract.types import Attachment
from mailroom.model import MessageRecord
from mailroom.policy import Outcome
from mailroom.usecases.outcomes import (
    MAX_DETAIL_BYTES,
    MAX_EVENT_FILES,
    OutcomePublisher,
    PublishFailed,
    notifies,
    outcome_event,
    publish,
)


def record(outcome: Outcome = Outcome.EXTRACTED, **values: Any) -> MessageRecord:
    return MessageRecord("m1", "2026-12-05T10:00:00.000Z", "raw/m1", outcome, **values)


def attachment(n: int, **values: Any) -> Attachment:
    return Attachment(
        index=n,
        filename=f"doc-{n}.pdf" + "x" * 300,
        safe_name=f"doc-{n}.pdf",
        content_type="application/pdf",
        part=str(n),
        size=1000 + n,
        sha256=f"{n:012x}" + "f" * 52,
        **values,
    )


@pytest.mark.parametrize(
    ("values", "kind", "slug"),
    [
        ({}, "Message Recorded", "recorded"),
        ({"needs_filing": True}, "Message Needs Filing", "needs-filing"),
        ({"outcome": Outcome.QUARANTINED}, "Message Quarantined", "quarantined"),
        ({"outcome": Outcome.REJECTED}, "Message Rejected", "rejected"),
        ({"outcome": Outcome.FAILED}, "Message Failed", "failed"),
        ({"outcome": Outcome.NO_ATTACHMENTS}, "Message Recorded", "recorded"),
    ],
)
def test_each_outcome_has_its_kind_and_a_stable_id(
    values: dict[str, Any], kind: str, slug: str
) -> None:
    outcome = values.pop("outcome", Outcome.EXTRACTED)
    first = outcome_event(record(outcome, **values))
    again = outcome_event(record(outcome, **values))
    assert (first.detail_type, first.event_id) == (kind, f"m1/{slug}")
    assert first == again


def test_thousands_of_files_are_counted_and_linked_not_listed() -> None:
    many = [attachment(n) for n in range(1, 5001)]
    inline = [attachment(9000, inline=True), attachment(9001, signature=True)]
    event = outcome_event(record(file_count=5002, case="case-1"), many + inline)
    detail = event.detail
    assert len(detail["documents"]) == MAX_EVENT_FILES
    assert (detail["document_count"], detail["documents_truncated"]) == (5000, True)
    assert detail["set_aside"] == {"inline_images": 1, "signatures": 1}
    assert detail["link"]["api"] == "/messages/m1"
    assert detail["documents"][0]["sha256_12"] == "0" * 11 + "1"
    assert detail["documents"][0]["case"] == "case-1"
    assert len(json.dumps(detail).encode()) < MAX_DETAIL_BYTES


def test_a_quarantined_message_lists_nothing_held() -> None:
    event = outcome_event(
        record(Outcome.QUARANTINED, reason="virus verdict FAIL", file_count=1), [attachment(1)]
    )
    assert event.detail["documents"] == []
    assert event.detail["held"] == {"count": 1, "reason": "virus verdict FAIL"}


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[str, str, Mapping[str, Any]]] = []

    def publish(self, source: str, detail_type: str, detail: Mapping[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("throttled")
        self.sent.append((source, detail_type, detail))


def test_a_failed_publish_is_retried_then_raised() -> None:
    flaky, sleeps = Flaky(2), []
    publish(flaky, outcome_event(record()), sleep=sleeps.append)
    assert len(flaky.sent) == 1 and len(sleeps) == 2
    with pytest.raises(PublishFailed, match="m1/recorded"):
        publish(Flaky(99), outcome_event(record()), sleep=lambda _: None)


def test_an_event_that_cannot_be_published_never_fails_the_message() -> None:
    down = Flaky(99)
    publisher = OutcomePublisher(down, sleep=lambda _: None)
    publisher.final(record(), ())  # does not raise: the record is final and kept
    assert down.sent == [] and publisher.published == []
    assert [e.event_id for e in publisher.failed] == ["m1/recorded"]


def test_only_messages_that_notify_publish_an_event() -> None:
    assert notifies(record()) and not notifies(record(source="import"))
    # the stack's own smoke and canary mail tells no one: no event, so no receipt either
    assert not notifies(record(probe="smoke")) and not notifies(record(probe="canary"))
    up = Flaky(0)
    publisher = OutcomePublisher(up, sleep=lambda _: None)
    publisher.final(record(source="import"), ())
    publisher.final(record(probe="smoke"), ())
    publisher.final(record(), ())
    assert [detail["event_id"] for _, _, detail in up.sent] == ["m1/recorded"]
