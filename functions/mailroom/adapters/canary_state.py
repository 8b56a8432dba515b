"""The canary's last send (ports.CanaryState): one item of the table, without index keys, so
no listing returns it."""

from __future__ import annotations

from typing import Any

from mailroom.adapters.catalog import from_ddb, to_ddb

CANARY_ITEM_KEY = {"pk": "MAILROOM#CANARY", "sk": "LAST"}


class TableCanaryState:
    def __init__(self, client: Any, table: str) -> None:
        self._ddb = client
        self.table = table

    def last(self) -> tuple[str, str] | None:
        response = self._ddb.get_item(
            TableName=self.table, Key=to_ddb(CANARY_ITEM_KEY), ConsistentRead=True
        )
        item = from_ddb(response["Item"]) if "Item" in response else {}
        if item.get("tag") and item.get("sent_at"):
            return str(item["tag"]), str(item["sent_at"])
        return None

    def save(self, tag: str, sent_at: str) -> None:
        item = {**CANARY_ITEM_KEY, "type": "canary", "tag": tag, "sent_at": sent_at}
        self._ddb.put_item(TableName=self.table, Item=to_ddb(item))
