"""Issue 22: export jobs' items in the table, and the streaming upload an export is written to.

A job item is `pk = EXPORT#<job id>`, `sk = JOB`: its own item collection, read with GetItem,
carrying no index key (no listing shows it) and expiring with `expires_at` (the table's TTL).
Items are created and updated with UpdateItem only (the api's role puts no items).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mailroom.adapters.catalog import from_ddb, to_ddb
from mailroom.adapters.s3 import S3Store

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

JOB_PK_PREFIX = "EXPORT#"
JOB_SK = "JOB"
KEY_ATTRIBUTES = frozenset({"pk", "sk"})
# S3's part size floor is 5 MiB (every part but the last); 8 MiB parts take a zip up to
# 10,000 parts = 80 GiB, far past what one 15-minute invocation can write.
PART_BYTES = 8 * 1024 * 1024


def job_key(job_id: str) -> dict[str, str]:
    return {"pk": JOB_PK_PREFIX + job_id, "sk": JOB_SK}


def _update(values: Mapping[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    names: dict[str, str] = {}
    vals: dict[str, Any] = {}
    sets: list[str] = []
    removes: list[str] = []
    for i, (name, value) in enumerate(values.items()):
        if name in KEY_ATTRIBUTES:
            continue
        names[f"#a{i}"] = name
        if value is None:
            removes.append(f"#a{i}")
        else:
            vals[f":v{i}"] = value
            sets.append(f"#a{i} = :v{i}")
    expression = ""
    if sets:
        expression += "SET " + ", ".join(sets)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return expression.strip(), names, vals


class ExportJobTable:
    """`ports.ExportJobs` over the stack's table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self.table = table

    def create_job(self, job: dict[str, Any]) -> bool:
        expression, names, values = _update({**job, "type": "export_job"})
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=to_ddb(job_key(job["job_id"])),
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_ddb(values),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        answer = self._ddb.get_item(
            TableName=self.table, Key=to_ddb(job_key(job_id)), ConsistentRead=True
        )
        return from_ddb(answer["Item"]) if "Item" in answer else None

    def update_job(self, job_id: str, values: Mapping[str, Any]) -> None:
        expression, names, vals = _update(values)
        if not expression:
            return
        extra: dict[str, Any] = {"ExpressionAttributeValues": to_ddb(vals)} if vals else {}
        self._ddb.update_item(
            TableName=self.table,
            Key=to_ddb(job_key(job_id)),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            **extra,
        )


class MultipartUpload:
    """`ports.StreamingUpload`: bytes written in order go up in PART_BYTES parts.

    Memory stays at one part; nothing touches the disk. It has `tell` but no `seek`, so
    zipfile writes each entry's sizes after its data (a data descriptor) instead of seeking
    back. `abort` discards the parts (the lifecycle rule aborts any upload left behind).
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        content_type: str,
        part_bytes: int = PART_BYTES,
    ) -> None:
        self._s3, self.bucket, self.key = client, bucket, key
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._written = 0
        self._parts: list[dict[str, Any]] = []
        self._upload_id = client.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType=content_type
        )["UploadId"]

    def write(self, data: bytes) -> int:
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) >= self._part_bytes:
            self._send(bytes(self._buffer[: self._part_bytes]))
            del self._buffer[: self._part_bytes]
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass  # a part goes up once it is whole; the last one at complete()

    def _send(self, body: bytes) -> None:
        number = len(self._parts) + 1
        answer = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def complete(self) -> int:
        if self._buffer or not self._parts:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        self._s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
        )
        return self._written

    def abort(self) -> None:
        self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)


class ExportBucket:
    """`ports.ExportObjects` over the document bucket's exports/ prefix."""

    def __init__(self, store: S3Store) -> None:
        self._store = store

    def open_upload(self, key: str, content_type: str) -> MultipartUpload:
        return MultipartUpload(self._store.client, self._store.bucket, key, content_type)

    def presigned_get(
        self, key: str, expires_in: int, version_id: str | None = None, filename: str | None = None
    ) -> str:
        return self._store.presigned_get(key, expires_in, version_id, filename)
