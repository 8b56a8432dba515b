"""The ports of the recovery and import use cases: what they need from Lambda, SQS, S3,
DynamoDB, SES and SNS, as Protocols and plain data. Adapters implement them
(adapters/lambda_invoke.py, sqs.py, inventory.py); tests can hand in anything that fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

MAX_BATCH = 10  # SQS ReceiveMessage returns at most 10 messages


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One message received from a dead-letter queue."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)  # RequestID, ErrorMessage, ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    last_modified: datetime
    size: int


@dataclass(frozen=True, slots=True)
class RuleCheck:
    active_rule_set: str | None  # the account's active rule set in this region, if any
    rules: list[dict[str, Any]]  # its rules as SES describes them


class Invoker(Protocol):
    """Hands an event to a deployed function asynchronously; raises unless it was accepted."""

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> None: ...


class Queue(Protocol):
    url: str

    def depth(self) -> int: ...
    def receive(self, max_messages: int, visibility_timeout: int) -> list[QueuedMessage]: ...
    def delete(self, message: QueuedMessage) -> None: ...
    def release(self, message: QueuedMessage) -> None: ...


class Records(Protocol):
    """Message and file records as plain items (an outcome this code does not know still reads)."""

    def message_items(self, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...
    def file_items(self, file_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...
    def messages_by_outcome(
        self, outcome: str, since: date | None = None, until: date | None = None
    ) -> Iterator[dict[str, Any]]: ...


class Objects(Protocol):
    def list_objects(
        self, prefix: str, since: datetime | None = None
    ) -> Iterator[StoredObject]: ...
    def exists(self, key: str) -> bool: ...
    def head_bytes(self, key: str, length: int) -> tuple[bytes, datetime]: ...
