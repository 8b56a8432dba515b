"""Outcome events (issue 21): every final outcome of a message, published after its record is
final (EventBridge on AWS, the outbox in local mode). Receipts and notifications consume these
events, never the extractor's internals.

One event per message and outcome, with a stable `event_id` (`<message-id>/<kind>`) that a
consumer deduplicates on: a retried invocation publishes the same id again. The detail is
bounded whatever the message holds: at most MAX_EVENT_FILES documents are listed (name, size,
first 12 hex of sha256, case), the rest are counted and linked (`mailroom message <id>`,
`GET /messages/<id>`). Inline images and signatures are set aside: counted, not listed.
The schema, with an example of each kind, is in docs/ARCHITECTURE.md ("Outcome events").
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mailroom.extract.types import Attachment
from mailroom.model import MessageRecord, is_probe
from mailroom.policy import Outcome, bounded
from mailroom.ports import EventPublisher

logger = logging.getLogger(__name__)

SOURCE = "mailroom"
SCHEMA_VERSION = "1"
RECORDED = "Message Recorded"
NEEDS_FILING = "Message Needs Filing"
QUARANTINED = "Message Quarantined"
REJECTED = "Message Rejected"
FAILED = "Message Failed"
DETAIL_TYPES = (RECORDED, NEEDS_FILING, QUARANTINED, REJECTED, FAILED)
MAX_EVENT_FILES = 50  # documents listed; the rest counted and linked
MAX_NAME_CHARS = 200
MAX_NOTES = 5
MAX_DETAIL_BYTES = 64 * 1024  # far below EventBridge's 256 KB per entry
PUBLISH_ATTEMPTS = 4
PUBLISH_BACKOFF_S = 0.2


class PublishFailed(Exception):
    """The event could not be published after every attempt; the record is final and kept."""


@dataclass(frozen=True, slots=True)
class OutcomeEvent:
    detail_type: str
    detail: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.detail["event_id"])


def detail_type_of(record: MessageRecord) -> str:
    outcome = str(record.outcome)
    if outcome == Outcome.QUARANTINED:
        return QUARANTINED
    if outcome == Outcome.REJECTED:
        return REJECTED
    if outcome == Outcome.FAILED:
        return FAILED
    return NEEDS_FILING if record.needs_filing else RECORDED


def _file(item: Attachment, case: str | None) -> dict[str, Any]:
    return {
        "name": bounded(item.filename, MAX_NAME_CHARS),
        "size": item.size,
        "sha256_12": item.sha256[:12],
        "case": case,
    }


def outcome_event(record: MessageRecord, attachments: Sequence[Attachment] = ()) -> OutcomeEvent:
    """The event of a final record (with what extraction wrote, when it ran)."""
    kind = detail_type_of(record)
    documents = [a for a in attachments if not a.inline and not a.signature]
    inline = sum(1 for a in attachments if a.inline and not a.signature)
    signatures = sum(1 for a in attachments if a.signature)
    listed = documents[:MAX_EVENT_FILES]
    detail: dict[str, Any] = {
        "event_id": f"{record.message_id}/{slug(kind)}",
        "schema_version": SCHEMA_VERSION,
        "message_id": record.message_id,
        "reference": reference_of(record.message_id),
        "received_at": record.received_at,
        "outcome": str(record.outcome),
        "case": record.case,
        "labels": list(record.labels),
        "needs_filing": record.needs_filing,
        "sender": {
            "address": record.from_address,
            "authenticated": bool(record.authenticated),
            "envelope": record.envelope_sender,
        },
        "rfc_message_id": bounded(record.rfc_message_id, 998),
        "subject": bounded(record.subject, MAX_NAME_CHARS),
        "recipients": list(record.recipients[:10]),
        "reason": bounded(record.reason, 300),
        "automatic": record.automatic,
        "documents": [_file(a, record.case) for a in listed],
        "document_count": len(documents),
        "documents_truncated": len(documents) > len(listed),
        "set_aside": {"inline_images": inline, "signatures": signatures},
        "file_count": record.file_count,
        "notes": [bounded(w, 300) for w in record.warnings[:MAX_NOTES]],
        "link": {
            "cli": f"mailroom message {record.message_id}",
            "api": "/messages/" + record.message_id,
        },
    }
    if str(record.outcome) == Outcome.QUARANTINED:
        # held back, never served: counted, the names not repeated to anyone
        detail["held"] = {"count": record.file_count, "reason": bounded(record.reason, 300)}
        detail["documents"], detail["document_count"] = [], 0
    return OutcomeEvent(kind, detail)


def slug(detail_type: str) -> str:
    """`Message Needs Filing` -> `needs-filing`: the kind part of an event id."""
    return detail_type.removeprefix("Message ").lower().replace(" ", "-")


def reference_of(message_id: str) -> str:
    """The reference a receipt quotes: the message id, which staff look up as it is
    (`mailroom message <id>`, GET /messages/<id>, the dashboard)."""
    return message_id


def publish(
    publisher: EventPublisher,
    event: OutcomeEvent,
    *,
    attempts: int = PUBLISH_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Publish with retries (backoff and jitter); PublishFailed once every attempt failed."""
    delay = PUBLISH_BACKOFF_S
    for attempt in range(1, attempts + 1):
        try:
            publisher.publish(SOURCE, event.detail_type, event.detail)
            return
        except Exception as exc:
            logger.warning(
                "outcome event publish failed",
                extra={"attempt": attempt, "event_id": event.event_id, "error": str(exc)[:300]},
            )
            if attempt == attempts:
                raise PublishFailed(f"{event.event_id}: {exc}") from exc
            sleep(delay * (1 + random.random()))  # noqa: S311 - jitter, not security
            delay *= 2


def notifies(record: MessageRecord) -> bool:
    """Whether a message's outcome is told to anyone: its event, and so its receipt and every
    subscriber (receipts, notify_email, the webhook, local mode's outbox all consume the event).
    The one place that decides it: a message that must stay silent is filtered here. An
    imported mailbox (`mailroom import`: old mail, staff's own action) tells no one, and neither
    does the stack's own smoke or canary mail (a probe: `model.is_probe`).
    """
    return record.source != "import" and not is_probe(record)


class OutcomePublisher:
    """What intake calls once a record is final: build the event, publish it (retried).

    Never raises: the record is what matters. An event that could not be published after
    every attempt is logged and kept in `failed` (the handler counts it as the
    `EventPublishFailures` metric); the message keeps its outcome.
    """

    def __init__(
        self, publisher: EventPublisher, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._publisher = publisher
        self._sleep = sleep
        self.published: list[OutcomeEvent] = []
        self.failed: list[OutcomeEvent] = []

    def final(self, record: MessageRecord, attachments: Sequence[Attachment]) -> None:
        if not notifies(record):
            return
        event = outcome_event(record, attachments)
        try:
            publish(self._publisher, event, sleep=self._sleep)
        except PublishFailed:
            logger.exception("outcome event not published", extra={"event_id": event.event_id})
            self.failed.append(event)
            return
        self.published.append(event)
