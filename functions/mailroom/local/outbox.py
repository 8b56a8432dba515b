"""Local mode's outbox (issue 21): what the stack sends, kept in the state dir instead of sent.

The functions publish outcome events on the stack's own bus as on AWS. The emulator (moto)
delivers a bus's events to SQS targets, not to SNS ones, and calls API destinations only in a
limited way, so local mode routes the bus to an SQS queue (a rule matching source `mailroom`)
and a drainer thread moves what arrives into `outbox.jsonl`, one JSON object a line:

    {"kind": "event", "at": ..., "id": "<message-id>/recorded", "detail_type": ..., "detail": {...}}
    {"kind": "receipt", "at": ..., "id": ..., "to": ..., "subject": ..., "raw": "<the MIME text>"}

Each drained event is handed to `on_event` (local mode's receipts), whose entries follow the
event's; an error there leaves the message on the queue to be retried, as Lambda would.
`mailroom outbox` and `mailroom watch` read the file (`read_outbox`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from mailroom.local.emulator import Endpoint
from mailroom.local.outbox_file import OUTBOX_FILE, Outbox, read_outbox

logger = logging.getLogger(__name__)

__all__ = ["OUTBOX_FILE", "Drainer", "Outbox", "bus_name", "provision_events", "read_outbox"]

SOURCE = "mailroom"
POLL_S = 0.2


def bus_name(name_prefix: str) -> str:
    return f"{name_prefix}-events"


def provision_events(endpoint: Endpoint, name_prefix: str) -> str:
    """The stack's bus, and a rule from it to the outbox queue; returns the queue's URL."""
    events, sqs = endpoint.client("events"), endpoint.client("sqs")
    bus = bus_name(name_prefix)
    events.create_event_bus(Name=bus)
    url = sqs.create_queue(QueueName=f"{name_prefix}-outbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=f"{name_prefix}-outbox",
        EventBusName=bus,
        EventPattern=json.dumps({"source": [SOURCE]}),
        State="ENABLED",
    )
    events.put_targets(
        Rule=f"{name_prefix}-outbox", EventBusName=bus, Targets=[{"Id": "outbox", "Arn": arn}]
    )
    return str(url)


class Drainer:
    """Moves events from the outbox queue into the outbox file (a daemon thread)."""

    def __init__(
        self,
        endpoint: Endpoint,
        queue_url: str,
        outbox: Outbox,
        on_event: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
    ) -> None:
        self._sqs = endpoint.client("sqs")
        self._url = queue_url
        self.outbox = outbox
        self._on_event = on_event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mailroom-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def drain_once(self) -> int:
        """Receive one batch; returns how many were moved."""
        messages = self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=10, VisibilityTimeout=30
        ).get("Messages", [])
        moved = 0
        for message in messages:
            try:
                event = json.loads(message["Body"])
                detail = event.get("detail") or {}
                # What the event causes (a receipt) first: if that fails, nothing is written
                # and the message is received again, as Lambda retries.
                follow = self._on_event(event) if self._on_event is not None else []
                self.outbox.append(
                    {
                        "kind": "event",
                        "id": detail.get("event_id"),
                        "detail_type": event.get("detail-type"),
                        "source": event.get("source"),
                        "detail": detail,
                    }
                )
                for entry in follow:
                    self.outbox.append(entry)
            except Exception:  # left on the queue: received again after the visibility timeout
                logger.exception("outbox event not handled; it stays on the queue")
                continue
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
        return moved

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.drain_once():
                    continue
            except Exception:  # the emulator stopping under us
                logger.debug("outbox drain failed", exc_info=True)
            self._stop.wait(POLL_S)
