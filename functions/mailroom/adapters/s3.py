"""S3: stream the raw message in, spool each attachment out, read object metadata.

Memory stays bounded whatever the message size: the raw object is read as a stream, and each
attachment is spooled (in memory while small, then on /tmp) while the extractor hashes it, then
uploaded with the managed transfer, in parts when large. The sha256 has to be known before the
upload starts because it travels in the object's metadata.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import quote

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from mailroom.extract.types import Attachment, AttachmentWriter, PartInfo
from mailroom.naming import attachment_key, safe_name
from mailroom.ports import ObjectHead, ObjectNotFound
from mailroom.probes import TAG_KEY, TAG_VALUE, TAGGING
from mailroom.provenance import MessageContext, Provenance

__all__ = ["ObjectHead", "ObjectNotFound", "S3AttachmentSink", "S3Store", "content_disposition"]

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SPOOL_IN_MEMORY = 4 * 1024 * 1024
# Parts of 8 MiB, two at a time: a 40 MB attachment uploads in 5 parts with ~16 MiB in flight.
TRANSFER = TransferConfig(
    multipart_threshold=16 * 1024 * 1024,
    multipart_chunksize=8 * 1024 * 1024,
    max_concurrency=2,
)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _missing(exc: ClientError) -> bool:
    """A missing key or version (404 needs s3:ListBucket; without it S3 says 403)."""
    return _error_code(exc) in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


def _object_head(key: str, response: Mapping[str, Any], size: int) -> ObjectHead:
    return ObjectHead(
        key=key,
        size=size,
        etag=response["ETag"].strip('"'),
        version_id=response.get("VersionId"),
        content_type=response.get("ContentType"),
        metadata=dict(response.get("Metadata", {})),
        last_modified=response["LastModified"].isoformat(),
    )


class S3Store:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self.client = client  # public for fault injection in tests (botocore event hooks)
        self.bucket = bucket

    def attachment_sink(self, prefix: str, context: MessageContext) -> S3AttachmentSink:
        """Where intake stores one message's attachments (`<prefix><message-id>/<nn>-<name>`)."""
        return S3AttachmentSink(self, prefix, context)

    def open_stream(self, key: str) -> BinaryIO:
        """The object's body as a stream (botocore's StreamingBody reads it on demand)."""
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        return cast(BinaryIO, body)

    def head(self, key: str) -> ObjectHead:
        try:
            response = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                raise ObjectNotFound(key) from exc
            raise
        return _object_head(key, response, response["ContentLength"])

    def peek(self, key: str, length: int) -> tuple[ObjectHead, bytes]:
        """What HEAD says and the first `length` bytes, in one ranged GET."""
        try:
            response = self._s3.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}"
            )
        except ClientError as exc:
            if _error_code(exc) == "InvalidRange":  # an empty object has no first byte
                return self.head(key), b""
            if _missing(exc):
                raise ObjectNotFound(key) from exc
            raise
        # "bytes 0-8191/123456": the object's size is after the slash.
        total = response.get("ContentRange", "").rpartition("/")[2]
        size = int(total) if total.isdigit() else response["ContentLength"]
        return _object_head(key, response, size), response["Body"].read()

    def current(self, key: str) -> tuple[ObjectHead | None, bool]:
        """(the current version's head, False), or (None, True) when its current version is a
        delete marker (staff deleted it), or (None, False) when there is no object."""
        try:
            response = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if not _missing(exc):
                raise
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            return None, str(headers.get("x-amz-delete-marker", "")).lower() == "true"
        return _object_head(key, response, response["ContentLength"]), False

    def replace_metadata(self, key: str, content_type: str, metadata: dict[str, str]) -> None:
        """Rewrite an object's metadata in place (a copy onto itself: no bytes travel)."""
        self._s3.copy_object(
            Bucket=self.bucket,
            Key=key,
            CopySource={"Bucket": self.bucket, "Key": key},
            MetadataDirective="REPLACE",
            ContentType=content_type,
            Metadata=metadata,
        )

    def has_identical(self, key: str, sha256: str) -> bool:
        """True when `key` already holds these bytes (a redelivered event): skip the rewrite."""
        try:
            head = self.head(key)
        except ObjectNotFound:
            return False
        return head.metadata.get("sha256") == sha256

    def download(
        self,
        key: str,
        target: IO[bytes],
        version_id: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Stream an object into `target` (ranged parts, in order when `target` cannot seek)."""
        extra = {"VersionId": version_id} if version_id else {}
        try:
            self._s3.download_fileobj(
                self.bucket, key, target, ExtraArgs=extra, Callback=progress, Config=TRANSFER
            )
        except ClientError as exc:
            if _missing(exc):
                raise ObjectNotFound(key) from exc
            raise

    def iter_object(
        self, key: str, version_id: str | None = None, chunk_size: int = 1024 * 1024
    ) -> Iterator[bytes]:
        """The object's bytes in order, `chunk_size` at a time, from one GET (one thread)."""
        try:
            if version_id:
                answer = self._s3.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)
            else:
                answer = self._s3.get_object(Bucket=self.bucket, Key=key)
            body = answer["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise ObjectNotFound(key) from exc
            raise
        with body:
            yield from body.iter_chunks(chunk_size)

    def presigned_get(
        self, key: str, expires_in: int, version_id: str | None = None, filename: str | None = None
    ) -> str:
        """A GET link anyone holding it can use until it expires; saved under `filename`."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def presigned_post(
        self, key: str, fields: dict[str, str], size: int, expires_in: int
    ) -> dict[str, Any]:
        """A browser form upload of exactly `size` bytes to `key`, with exactly `fields`.

        Every field is also a policy condition, so the form cannot change the type or the
        provenance metadata; `content-length-range` with equal bounds makes S3 refuse any other
        size (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html).
        The key condition is exact: boto3 makes a key ending in `${filename}` a `starts-with`
        condition (and S3 substitutes it), so `$`, `{` and `}` are refused in the key and the
        fields (safe_name never produces them).
        """
        if any(c in text for text in (key, *fields.values()) for c in "${}"):
            raise ValueError("a presigned form's key and fields never hold '$', '{' or '}'")
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", size, size])
        post = self._s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields=dict(fields),
            Conditions=conditions,
            ExpiresIn=expires_in,
        )
        return {"url": post["url"], "fields": dict(post["fields"])}

    def delete_current(self, key: str) -> None:
        """DeleteObject without a version: on a versioned bucket the current version becomes
        noncurrent behind a delete marker, kept until the lifecycle rule expires it."""
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    def versions_of(self, key: str) -> list[str]:
        """Every version id of exactly `key` (ListObjectVersions with the key as prefix, keys
        that only start with it filtered out; delete markers have no bytes to hold)."""
        paginator = self._s3.get_paginator("list_object_versions")
        return [
            str(version["VersionId"])
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key)
            for version in page.get("Versions", [])
            if version["Key"] == key and version.get("VersionId")
        ]

    def lock_enabled(self) -> bool:
        """Whether the bucket has S3 Object Lock (GetObjectLockConfiguration)."""
        try:
            config = self._s3.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            if _error_code(exc) == "ObjectLockConfigurationNotFoundError":
                return False
            raise
        lock = config.get("ObjectLockConfiguration", {})
        return lock.get("ObjectLockEnabled") == "Enabled"

    def set_legal_hold(self, key: str, version_id: str, on: bool) -> None:
        """Put (or remove) the Object Lock legal hold of one version (the bucket must have
        Object Lock enabled: the `object_lock` variable, or local mode)."""
        self._s3.put_object_legal_hold(
            Bucket=self.bucket,
            Key=key,
            VersionId=version_id,
            LegalHold={"Status": "ON" if on else "OFF"},
        )

    def list_keys(self, prefix: str) -> list[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        return [
            obj["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]

    def upload_new(
        self, key: str, body: IO[bytes], size: int, content_type: str, metadata: dict[str, str]
    ) -> None:
        """Like `upload`, but never over an existing object (KeyExists)."""
        upload_new(self, key, body, size=size, content_type=content_type, meta=metadata)

    def upload(
        self,
        key: str,
        body: IO[bytes],
        content_type: str,
        metadata: dict[str, str],
        *,
        tagging: str | None = None,
    ) -> None:
        """`tagging` (`k=v&...`) travels with the PutObject or CreateMultipartUpload, which then
        needs s3:PutObjectTagging as well as s3:PutObject."""
        extra: dict[str, Any] = {"ContentType": content_type, "Metadata": metadata}
        if tagging:
            extra["Tagging"] = tagging
        self._s3.upload_fileobj(body, self.bucket, key, ExtraArgs=extra, Config=TRANSFER)

    def tag_probe(self, key: str) -> None:
        """Tag an existing object (the raw message of a probe) for the probes' lifecycle rule."""
        self._s3.put_object_tagging(
            Bucket=self.bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": TAG_KEY, "Value": TAG_VALUE}]},
        )


# A new upload key is written once: If-None-Match "*" on the PutObject, or on the
# CompleteMultipartUpload of a large file (s3transfer cannot send it), as the bucket policy
# requires under incoming/up- (infra/s3.tf, DenyUploadOverwrites).
SINGLE_PUT_MAX = 64 * 1024 * 1024
UPLOAD_PART = 16 * 1024 * 1024


class KeyExists(Exception):
    """The key already holds an object: a new upload never replaces one."""


def _precondition_failed(exc: ClientError) -> bool:
    return _error_code(exc) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}


def upload_new(
    store: S3Store, key: str, body: IO[bytes], *, size: int, content_type: str, meta: dict[str, str]
) -> None:
    """Write `key` only if it does not exist yet; KeyExists otherwise."""
    s3, bucket = store.client, store.bucket
    try:
        if size <= SINGLE_PUT_MAX:
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body.read(),
                ContentType=content_type,
                Metadata=meta,
                IfNoneMatch="*",
            )
            return
        upload = s3.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType=content_type, Metadata=meta
        )
        upload_id = upload["UploadId"]
        try:
            parts = []
            number = 1
            while chunk := body.read(UPLOAD_PART):
                part = s3.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                )
                parts.append({"ETag": part["ETag"], "PartNumber": number})
                number += 1
            s3.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                IfNoneMatch="*",
            )
        except BaseException:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
    except ClientError as exc:
        if _precondition_failed(exc):
            raise KeyExists(key) from exc
        raise


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback name, and the real one as RFC 5987 UTF-8, both made safe."""
    name = safe_name(filename)
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    fallback = fallback.replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class S3AttachmentSink:
    """The extractor's sink: each attachment becomes `<prefix><message-id>/<nn>-<safe-name>`."""

    def __init__(self, store: S3Store, prefix: str, context: MessageContext) -> None:
        self._store = store
        self._prefix = prefix
        self._context = context
        self.keys: list[str] = []

    def open(self, part: PartInfo) -> AttachmentWriter:
        key = attachment_key(self._prefix, self._context.message_id, part.index, part.safe_name)
        return _SpooledUpload(self, key)

    def _commit(self, key: str, spool: IO[bytes], attachment: Attachment) -> None:
        ctx = self._context
        provenance = Provenance(
            source=ctx.source,
            message_id=ctx.message_id,
            received_at=ctx.received_at,
            filename=attachment.filename,
            sha256=attachment.sha256,
            content_type=attachment.content_type,
            sender=ctx.sender,
            sender_name=ctx.sender_name,
            original_sender=attachment.original_sender,
            original_sender_via=attachment.original_sender_via,
            original_sender_level=attachment.original_sender_level,
            case=ctx.case,
            part=attachment.part,
            inline=attachment.inline,
            authenticated=ctx.authenticated,
            auth_reason=ctx.auth_reason,
            suspected_spam=ctx.suspected_spam,
            mailbox=ctx.mailbox,
            role=attachment.role,
            role_reason=attachment.role_reason,
            parent=attachment.parent,
            probe=ctx.probe,
            expires_at=ctx.expires_at,
            released_by=ctx.release[0] if ctx.release else None,
            released_at=ctx.release[1] if ctx.release else None,
            release_reason=ctx.release[2] if ctx.release else None,
        )
        # A retried or duplicated event finds the same bytes there: rewriting would add a
        # version and a second ObjectCreated event (a second file record write) for them.
        # The same bytes with other provenance (`reprocess` of mail recorded before roles):
        # the metadata alone is replaced, so the file is recorded again with what changed.
        # A key whose current version staff deleted stays deleted.
        metadata = provenance.to_metadata()
        content_type = attachment.content_type or "application/octet-stream"
        head, deleted = self._store.current(key)
        if deleted:
            pass
        elif head is None or head.metadata.get("sha256") != attachment.sha256:
            spool.seek(0)
            # A probe's file carries the tag the lifecycle rule expires (infra/s3.tf).
            tagging = TAGGING if ctx.probe is not None else None
            self._store.upload(key, spool, content_type, metadata, tagging=tagging)
        elif head.metadata != metadata:
            self._store.replace_metadata(key, content_type, metadata)
        self.keys.append(key)  # only once the object is there


class _SpooledUpload:
    def __init__(self, sink: S3AttachmentSink, key: str) -> None:
        self._sink = sink
        self._key = key
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

    def write(self, chunk: bytes) -> None:
        self._spool.write(chunk)

    def commit(self, attachment: Attachment) -> None:
        try:
            self._sink._commit(self._key, self._spool, attachment)
        finally:
            self._spool.close()

    def abort(self) -> None:
        self._spool.close()
