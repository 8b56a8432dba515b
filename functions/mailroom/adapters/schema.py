"""The table as `mailroom migrate` and `mailroom preflight` see it (ports.SchemaStore).

The version item (model.SCHEMA_ITEM_KEY) also holds a running migration's checkpoint. Scans are
paginated and consistent; updates are UpdateItem SET on existing items only (a record deleted
meanwhile is not recreated as a stub).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mailroom.adapters.catalog import from_ddb, to_ddb
from mailroom.model import SCHEMA_ITEM_KEY
from mailroom.ports import REMOVED

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoSchemaStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self.table = table

    def _schema_item(self) -> dict[str, Any]:
        response = self._ddb.get_item(
            TableName=self.table, Key=to_ddb(SCHEMA_ITEM_KEY), ConsistentRead=True
        )
        return from_ddb(response["Item"]) if "Item" in response else {}

    def stored_version(self) -> int | None:
        version = self._schema_item().get("version")
        return int(version) if version is not None else None

    def has_records(self) -> bool:
        start: dict[str, Any] | None = None
        while True:  # a Scan with Limit stops early; records are found in the first page or two
            args: dict[str, Any] = {"TableName": self.table, "Limit": 25}
            if start:
                args["ExclusiveStartKey"] = start
            response = self._ddb.scan(**args)
            for item in response.get("Items", []):
                if from_ddb(item).get("type") in ("file", "message"):
                    return True
            start = response.get("LastEvaluatedKey")
            if not start:
                return False

    def item_count(self) -> int | None:
        try:
            table = self._ddb.describe_table(TableName=self.table)["Table"]
        except ClientError:
            return None
        count = table.get("ItemCount")
        return int(count) if count is not None else None

    def checkpoint(self) -> dict[str, Any] | None:
        saved = self._schema_item().get("checkpoint")
        return saved if isinstance(saved, dict) else None

    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._ddb.update_item(
            TableName=self.table,
            Key=to_ddb(SCHEMA_ITEM_KEY),
            UpdateExpression="SET #c = :c, #t = :t",
            ExpressionAttributeNames={"#c": "checkpoint", "#t": "type"},
            ExpressionAttributeValues=to_ddb({":c": checkpoint, ":t": "schema"}),
        )

    def set_version(self, version: int) -> None:
        self._ddb.update_item(
            TableName=self.table,
            Key=to_ddb(SCHEMA_ITEM_KEY),
            UpdateExpression="SET #v = :v, #t = :t REMOVE #c",
            ExpressionAttributeNames={"#v": "version", "#t": "type", "#c": "checkpoint"},
            ExpressionAttributeValues=to_ddb({":v": version, ":t": "schema"}),
        )

    def scan_page(
        self, start_key: dict[str, Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        args: dict[str, Any] = {"TableName": self.table, "Limit": limit, "ConsistentRead": True}
        if start_key:
            args["ExclusiveStartKey"] = to_ddb(start_key)
        response = self._ddb.scan(**args)
        items = [from_ddb(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return items, (from_ddb(last) if last else None)

    def set_attributes(self, key: dict[str, str], values: dict[str, Any]) -> bool:
        names = {f"#a{i}": name for i, name in enumerate(values)}
        placeholders = {
            f":v{i}": value for i, value in enumerate(values.values()) if value is not REMOVED
        }
        sets = [f"#a{i} = :v{i}" for i in range(len(values)) if f":v{i}" in placeholders]
        removes = [f"#a{i}" for i in range(len(values)) if f":v{i}" not in placeholders]
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(sets) if sets else "",
                "REMOVE " + ", ".join(removes) if removes else "",
            )
            if part
        )
        extra: dict[str, Any] = {"ExpressionAttributeValues": to_ddb(placeholders)}
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=to_ddb(key),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                **(extra if placeholders else {}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
