"""DynamoDB: the catalogue of messages and files, written by the functions, read by the CLI.

Every read is a GetItem or a Query on the key schema of `mailroom.model`; none is a Scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from mailroom.model import (
    FILE_SK_PREFIX,
    INDEXES,
    MESSAGE_SK,
    SORT_KEY,
    FileRecord,
    MessageRecord,
    file_pk_sk,
    message_pk_sk,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# `list` without --since looks back this far, one day partition at a time, until --limit is met.
DEFAULT_LOOKBACK_DAYS = 366
# Day partitions read at once: a year of mostly empty days costs seconds one Query at a time.
DAY_QUERY_WORKERS = 8


def _to_ddb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def _from_ddb(item: dict[str, Any]) -> dict[str, Any]:
    plain = {k: _deserializer.deserialize(v) for k, v in item.items()}
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in plain.items()}


class Catalog:
    def __init__(self, client: DynamoDBClient, table: str, incoming_prefix: str = "incoming/"):
        self._ddb = client
        self.table = table
        self._incoming_prefix = incoming_prefix

    # -- writes (idempotent: keys are deterministic, a retry overwrites the same item) --

    def put_message(self, record: MessageRecord) -> None:
        self._ddb.put_item(TableName=self.table, Item=_to_ddb(record.to_item()))

    def put_file(self, record: FileRecord) -> None:
        item = record.to_item(self._incoming_prefix)
        self._ddb.put_item(TableName=self.table, Item=_to_ddb(item))

    # -- reads --

    def get_file(self, file_id: str) -> FileRecord | None:
        key = file_pk_sk(file_id, self._incoming_prefix)
        item = self._ddb.get_item(TableName=self.table, Key=_to_ddb(key)).get("Item")
        return FileRecord.from_item(_from_ddb(item)) if item else None

    def get_message(self, message_id: str) -> tuple[MessageRecord | None, list[FileRecord]]:
        """Pattern 4: the message record and its files, one item collection, one Query."""
        pk = message_pk_sk(message_id)["pk"]
        message: MessageRecord | None = None
        files: list[FileRecord] = []
        for item in self._query(None, "pk = :pk", {":pk": pk}, forward=True):
            if item["sk"] == MESSAGE_SK:
                message = MessageRecord.from_item(item)
            elif item["sk"].startswith(FILE_SK_PREFIX):
                files.append(FileRecord.from_item(item))
        return message, files

    def files_by_sender(
        self, sender: str, since: date | None = None, until: date | None = None
    ) -> Iterator[FileRecord]:
        """Pattern 2, newest first."""
        return self._files_in_index("by_sender", sender.lower(), since, until)

    def files_by_case(
        self, case: str, since: date | None = None, until: date | None = None
    ) -> Iterator[FileRecord]:
        """Pattern 7, newest first."""
        return self._files_in_index("by_case", case.lower(), since, until)

    def files_by_sha256(self, sha256: str) -> Iterator[FileRecord]:
        """Pattern 5: every copy of the same bytes, newest first."""
        return self._files_in_index("by_sha256", sha256.lower(), None, None)

    def files_between(
        self,
        since: date | None = None,
        until: date | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[FileRecord]:
        """Pattern 3: all files, newest first, one day partition after the other.

        Days are queried in parallel in windows that grow (recent days usually suffice) and are
        yielded in order; with `limit`, no day is read past what the caller will take.
        """
        # Day partitions are UTC days, so "today" is the UTC one.
        last = until or datetime.now(UTC).date()
        first = since or last - timedelta(days=DEFAULT_LOOKBACK_DAYS)
        days = [last - timedelta(days=n) for n in range((last - first).days + 1)]

        def one_day(day: date) -> list[FileRecord]:
            return list(islice(self._files_in_index("by_day", day.isoformat(), None, None), limit))

        with ThreadPoolExecutor(max_workers=DAY_QUERY_WORKERS) as pool:
            start, window = 0, 1
            while start < len(days):
                for records in pool.map(one_day, days[start : start + window]):
                    yield from records
                start, window = start + window, min(window * 4, DAY_QUERY_WORKERS * 4)

    def messages_by_outcome(
        self, outcome: str, since: date | None = None, until: date | None = None
    ) -> Iterator[MessageRecord]:
        """Pattern 6: messages with one outcome, newest first."""
        for item in self._index_query("by_outcome", outcome, since, until):
            yield MessageRecord.from_item(item)

    # -- plumbing --

    def _files_in_index(
        self, index: str, value: str, since: date | None, until: date | None
    ) -> Iterator[FileRecord]:
        for item in self._index_query(index, value, since, until):
            yield FileRecord.from_item(item)

    def _index_query(
        self, index: str, value: str, since: date | None, until: date | None
    ) -> Iterator[dict[str, Any]]:
        hash_key = INDEXES[index]
        condition = f"{hash_key} = :v"
        values: dict[str, Any] = {":v": value}
        if since or until:
            # sort_key is "<ISO timestamp>#<id>": whole days compare as string prefixes.
            low = since.isoformat() if since else "0000"
            high = (until + timedelta(days=1)).isoformat() if until else "9999"
            condition += f" AND {SORT_KEY} BETWEEN :low AND :high"
            values.update({":low": low, ":high": high})
        return self._query(index, condition, values, forward=False)

    def _query(
        self, index: str | None, condition: str, values: dict[str, Any], *, forward: bool
    ) -> Iterator[dict[str, Any]]:
        args: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _to_ddb(values),
            "ScanIndexForward": forward,
        }
        if index:
            args["IndexName"] = index
        while True:
            page = self._ddb.query(**args)
            for item in page.get("Items", []):
                yield _from_ddb(item)
            if "LastEvaluatedKey" not in page:
                return
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
