"""Redrive: hand each event in a function's dead-letter queue back to that function.

A Lambda dead-letter queue holds the original event as the message body, unmodified, with the
failure in message attributes (RequestID, ErrorCode, ErrorMessage):
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
An on-failure destination instead holds an invocation record whose `requestPayload` is the
event; both shapes are accepted. Each event goes back by an asynchronous invoke (same code,
same role as the first attempt) and its message is deleted only after Lambda accepted it, so a
redrive can be interrupted and run again: nothing is lost, and the functions are idempotent,
so an event handed back twice does no harm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mailroom.ports import MAX_BATCH, Invoker, Queue, QueuedMessage
from mailroom.usecases.roles import Role, needs

# Long enough to hand a batch of ten back to Lambda; a crash leaves them visible again after it.
VISIBILITY_SECONDS = 60


@dataclass(slots=True)
class RedriveResult:
    function: str  # the function's role: extract_attachments or record_metadata
    function_name: str  # the deployed function
    queue_url: str
    depth: int  # what the queue reported before we started
    seen: int = 0
    redriven: int = 0
    dry_run: bool = False
    failures: list[dict[str, str]] = field(default_factory=list)  # message id, reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "function_name": self.function_name,
            "queue_url": self.queue_url,
            "depth": self.depth,
            "seen": self.seen,
            "redriven": self.redriven,
            "dry_run": self.dry_run,
            "failures": self.failures,
        }


def event_of(message: QueuedMessage) -> dict[str, Any]:
    """The Lambda event a dead-letter message carries; ValueError if it carries none."""
    try:
        body = json.loads(message.body)
    except ValueError as exc:
        raise ValueError("body is not JSON") from exc
    if not isinstance(body, dict):
        raise ValueError("body is not a JSON object")
    # An on-failure destination's invocation record wraps the event.
    if "requestPayload" in body and "requestContext" in body:
        payload = body["requestPayload"]
        if not isinstance(payload, dict):
            raise ValueError("requestPayload is not a JSON object")
        return payload
    if not isinstance(body.get("Records"), list):
        raise ValueError("no Records: not an S3 or SES event")
    return body


@needs(Role.ADMIN)
def redrive(
    function: str,
    function_name: str,
    queue: Queue,
    invoker: Invoker,
    *,
    dry_run: bool = False,
    limit: int | None = None,
) -> RedriveResult:
    """Move up to `limit` messages (default: the depth found at the start) back through Lambda.

    Bounded by the depth at the start, so events that fail again and return to the queue while
    we work are not redriven in a loop; run it again for those.
    """
    depth = queue.depth()
    result = RedriveResult(function, function_name, queue.url, depth, dry_run=dry_run)
    budget = limit if limit is not None else max(depth, MAX_BATCH)
    held: list[QueuedMessage] = []  # received but kept: released at the end, so seen only once
    try:
        while result.seen < budget:
            batch = queue.receive(min(MAX_BATCH, budget - result.seen), VISIBILITY_SECONDS)
            if not batch:
                break
            for message in batch:
                result.seen += 1
                try:
                    event = event_of(message)
                except ValueError as exc:
                    result.failures.append({"message_id": message.message_id, "reason": str(exc)})
                    held.append(message)
                    continue
                if dry_run:
                    held.append(message)
                    continue
                try:
                    invoker.invoke_async(function_name, event)
                except Exception as exc:  # kept in the queue; reported, and the run goes on
                    reason = f"{type(exc).__name__}: {exc}"[:300]
                    result.failures.append({"message_id": message.message_id, "reason": reason})
                    held.append(message)
                    continue
                queue.delete(message)
                result.redriven += 1
    finally:
        for message in held:
            queue.release(message)
    return result
