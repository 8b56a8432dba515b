"""EventBridge: outcome events onto the stack's own bus (PutEvents)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class PublishRefused(Exception):
    """PutEvents answered, but did not accept the entry (its error code and message)."""


class EventBridgeBus:
    def __init__(self, client: Any, bus_name: str) -> None:  # boto3 "events": no stubs locked
        self.client = client
        self.bus_name = bus_name

    def publish(self, source: str, detail_type: str, detail: Mapping[str, Any]) -> None:
        response = self.client.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, separators=(",", ":"), default=str),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            entry = (response.get("Entries") or [{}])[0]
            raise PublishRefused(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
