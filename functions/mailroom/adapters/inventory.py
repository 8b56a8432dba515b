"""What the doctor and reprocessing read: object listings, records in batches, health checks.

Every read is bounded by its input: a listing pages through one prefix once, records are fetched
100 keys per BatchGetItem, messages by outcome come from the `by_outcome` index (no Scan).
Records are returned as plain items so that an outcome this code does not know yet still reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mailroom.adapters.catalog import from_ddb, query_items, to_ddb
from mailroom.adapters.s3 import ObjectNotFound
from mailroom.model import PREFIXES, SORT_KEY, file_pk_sk, message_pk_sk
from mailroom.ports import RuleCheck, StoredObject

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient

BATCH_GET = 100  # BatchGetItem's limit per request
_BACKOFF = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def _missing(exc: ClientError) -> bool:
    """A missing key (404 needs s3:ListBucket; without it S3 says 403, which is raised)."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class ObjectInventory:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def list_objects(self, prefix: str, since: datetime | None = None) -> Iterator[StoredObject]:
        """Every object under `prefix` (one ListObjectsV2 page per 1,000), modified since."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if since is None or obj["LastModified"] >= since:
                    yield StoredObject(obj["Key"], obj["LastModified"], int(obj.get("Size", 0)))

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def version_exists(self, key: str, version_id: str) -> bool:
        """HeadObject of that version: the one read that proves a record's bytes are there."""
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key, VersionId=version_id)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            # A version that is a delete marker answers 405 MethodNotAllowed.
            if _missing(exc) or code in {"NoSuchVersion", "400", "405", "MethodNotAllowed"}:
                return False
            raise
        return True

    def head_bytes(self, key: str, length: int) -> tuple[bytes, datetime]:
        """The first `length` bytes and the object's LastModified (ObjectNotFound if gone)."""
        try:
            response = self._s3.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}"
            )
        except ClientError as exc:
            if _missing(exc):
                raise ObjectNotFound(key) from exc
            raise
        return response["Body"].read(), response["LastModified"]


class RecordInventory:
    def __init__(
        self, client: DynamoDBClient, table: str, incoming_prefix: str = PREFIXES.incoming
    ) -> None:
        self._ddb = client
        self.table = table
        self._incoming_prefix = incoming_prefix

    def message_items(self, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Message records by id; ids without a record are absent from the result."""
        keys = ((mid, message_pk_sk(mid)) for mid in message_ids)
        return {item["message_id"]: item for item in self._batch_get(keys) if "message_id" in item}

    def file_items(self, file_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = ((fid, file_pk_sk(fid, self._incoming_prefix)) for fid in file_ids)
        return {item["file_id"]: item for item in self._batch_get(keys) if "file_id" in item}

    def messages_by_outcome(
        self, outcome: str, since: date | None = None, until: date | None = None
    ) -> Iterator[dict[str, Any]]:
        """Pattern 6 over the `by_outcome` index, newest first, as plain items."""
        condition = "outcome_key = :v"
        values: dict[str, Any] = {":v": outcome}
        if since or until:
            low = since.isoformat() if since else "0000"
            high = (until + timedelta(days=1)).isoformat() if until else "9999"
            condition += f" AND {SORT_KEY} BETWEEN :low AND :high"
            values.update({":low": low, ":high": high})
        args: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_outcome",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_ddb(values),
            "ScanIndexForward": False,
        }
        yield from query_items(self._ddb, args)

    def _batch_get(self, keys: Iterable[tuple[str, dict[str, str]]]) -> Iterator[dict[str, Any]]:
        it = iter(keys)
        while chunk := list(islice(it, BATCH_GET)):
            unique = {(k["pk"], k["sk"]): k for _, k in chunk}
            request: dict[str, Any] = {
                self.table: {"Keys": [to_ddb(k) for k in unique.values()], "ConsistentRead": True}
            }
            for attempt in range(len(_BACKOFF) + 1):
                response = self._ddb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    yield from_ddb(item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                if attempt == len(_BACKOFF):
                    raise RuntimeError("DynamoDB kept keys unprocessed: throttled, try again")
                time.sleep(_BACKOFF[attempt])


# -- local mode's dead-letter file --


def read_dead_letters(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON lines `mailroom local`'s runner writes (function, event, error, attempts, at);
    nothing if the file does not exist; a line that is not a JSON object is passed over."""
    try:
        lines = path.open(encoding="utf-8")
    except FileNotFoundError:
        return
    with lines:
        for line in lines:
            try:
                letter = json.loads(line)
            except ValueError:
                continue
            if isinstance(letter, dict):
                yield letter


# -- health: the receipt rule and the alarm topic --


def active_receipt_rules(client: SESClient) -> RuleCheck:
    response = client.describe_active_receipt_rule_set()
    name = (response.get("Metadata") or {}).get("Name")
    return RuleCheck(name, [dict(rule) for rule in response.get("Rules", [])])


def confirmed_subscriptions(client: SNSClient, topic_arn: str) -> int:
    """Subscriptions of the topic that are confirmed (not PendingConfirmation)."""
    count = 0
    paginator = client.get_paginator("list_subscriptions_by_topic")
    for page in paginator.paginate(TopicArn=topic_arn):
        for sub in page.get("Subscriptions", []):
            arn = sub.get("SubscriptionArn", "")
            if arn.startswith("arn:"):  # "PendingConfirmation" otherwise
                count += 1
    return count
