"""The Protocols the use cases need, and the plain data that crosses them.

Use cases (`mailroom.usecases`) depend on these, never on boto3 or on `mailroom.adapters`;
the adapters (`adapters.catalog.Catalog`, `adapters.s3.S3Store`, `adapters.inventory`,
`adapters.sqs`, `adapters.lambda_invoke`) satisfy them, and import nothing from the use cases.
Entry points (handlers, the CLI, local mode) build the adapters and hand them in; tests may
pass anything shaped the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, BinaryIO, Protocol

from mailroom.audit import AuditEntry, Target
from mailroom.extract.types import Attachment, AttachmentWriter, PartInfo
from mailroom.model import Bounds, CaseHold, FileRecord, Filing, MessageRecord
from mailroom.provenance import MessageContext

MAX_BATCH = 10  # SQS ReceiveMessage returns at most 10 messages


class ObjectNotFound(LookupError):
    """The object (or the version asked for) does not exist (any more)."""


@dataclass(frozen=True, slots=True)
class ObjectHead:
    key: str
    size: int
    etag: str
    version_id: str | None
    content_type: str | None
    metadata: dict[str, str]
    last_modified: str


# -- intake (extract_attachments) and recording (record_metadata) -----------------------------


class AttachmentSink(Protocol):
    """The extraction engine's sink, remembering the key of every attachment it stored."""

    keys: list[str]

    def open(self, part: PartInfo) -> AttachmentWriter: ...


class MailStore(Protocol):
    """The bucket, as intake uses it: the raw message in, each attachment out."""

    def open_stream(self, key: str) -> BinaryIO: ...

    def attachment_sink(self, prefix: str, context: MessageContext) -> AttachmentSink: ...

    def tag_probe(self, key: str) -> None:
        """Tag an object as a probe's (mailroom.probes.TAGGING): the lifecycle expires it."""
        ...


class MessageWriter(Protocol):
    def put_message(self, record: MessageRecord) -> None: ...


class IntakeObjects(Protocol):
    """The bucket, as recording reads an object under `incoming/`."""

    @property
    def bucket(self) -> str: ...

    def peek(self, key: str, length: int) -> tuple[ObjectHead, bytes]: ...

    def open_stream(self, key: str) -> BinaryIO: ...

    def head(self, key: str) -> ObjectHead: ...


class FileWriter(Protocol):
    def put_file(self, record: FileRecord) -> None: ...

    # Uploads (usecases/upload_recording.py): who signed the form for a key, and a write that
    # never records a second version of a key.
    def get_upload(self, file_id: str) -> str | None: ...

    def put_file_once(self, record: FileRecord) -> bool: ...


class MessageFilings(Protocol):
    """Issue 21: a message's filing by staff, which its file records follow (the catalogue)."""

    def message_filing(self, message_id: str) -> Filing | None: ...

    def set_file_case(self, file_id: str, case: str) -> bool: ...


class SignatureSightings(Protocol):
    """Issue 20: how often an inline image already came from a sender domain (the catalogue)."""

    def signature_sightings(self, domain: str, sha256: str, at: str, limit: int) -> int: ...


class IntakeStore(MailStore, IntakeObjects, Protocol):
    """Both halves of the pipeline in one process (`mailroom import`)."""


class IntakeCatalog(MessageWriter, FileWriter, SignatureSightings, MessageFilings, Protocol):
    pass


class RawStore(Protocol):
    """raw/, as `mailroom import` fills it: each message kept once, by its bytes."""

    def has_identical(self, key: str, sha256: str) -> bool: ...

    def upload(
        self, key: str, body: IO[bytes], content_type: str, metadata: dict[str, str]
    ) -> None: ...


# -- staff queries, downloads, uploads and deletes --------------------------------------------


class FileCatalog(Protocol):
    """Reads of the catalogue (`mailroom.model`'s access patterns), every listing newest first."""

    def get_file(self, file_id: str) -> FileRecord | None: ...

    def get_message(self, message_id: str) -> tuple[MessageRecord | None, list[FileRecord]]: ...

    def files_from(
        self,
        address: str,
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
        include_claimed: bool = False,
        include_all: bool = False,
    ) -> Iterator[tuple[FileRecord, str]]: ...

    def files_of_case(
        self,
        case: str,
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
        include_all: bool = False,
    ) -> Iterator[FileRecord]: ...

    def files_by_sha256(self, sha256: str) -> Iterator[FileRecord]: ...

    def files_newest_first(
        self,
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
        include_all: bool = False,
    ) -> Iterator[FileRecord]: ...

    def messages_with(
        self, outcome: str, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[MessageRecord]: ...

    def messages_newest_first(
        self,
        outcomes: Iterable[str],
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[MessageRecord]: ...


class ObjectStore(Protocol):
    """The bucket, as uploads and downloads use it."""

    @property
    def bucket(self) -> str: ...

    def upload(
        self, key: str, body: IO[bytes], content_type: str, metadata: dict[str, str]
    ) -> None: ...

    def upload_new(
        self, key: str, body: IO[bytes], size: int, content_type: str, metadata: dict[str, str]
    ) -> None:
        """Write a key that must not exist yet (If-None-Match); raise if it does."""
        ...

    def download(
        self,
        key: str,
        target: IO[bytes],
        version_id: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None: ...

    def presigned_get(
        self, key: str, expires_in: int, version_id: str | None = None, filename: str | None = None
    ) -> str: ...


class FileRemover(Protocol):
    """What a delete needs: the record read, and marked deleted (who, when)."""

    def get_file(self, file_id: str) -> FileRecord | None: ...

    def mark_deleted(self, file_id: str, by: str, at: str) -> FileRecord | None: ...


class ObjectRemover(Protocol):
    """The bucket, as a delete uses it: the current version goes, older versions stay."""

    def delete_current(self, key: str) -> None: ...


# -- legal hold (issue 22) ----------------------------------------------------------------------


class FileHeld(Exception):
    """A delete refused by the catalogue: the file record is under legal hold (`record` names
    the hold: who, when, why)."""

    def __init__(self, record: FileRecord) -> None:
        super().__init__(record.file_id)
        self.record = record


class HoldCatalog(Protocol):
    """What a legal hold needs of the catalogue: the case's files (by_case, Query only), the
    messages' raw objects, the case's hold item, and the hold's attributes on file records."""

    def files_of_case(
        self,
        case: str,
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
        include_all: bool = False,
    ) -> Iterator[FileRecord]: ...

    def message_raw_key(self, message_id: str) -> str | None: ...

    def get_message(self, message_id: str) -> tuple[MessageRecord | None, list[FileRecord]]: ...

    def case_hold(self, case: str) -> CaseHold | None: ...

    def put_case_hold(self, hold: CaseHold) -> CaseHold: ...

    def release_case_hold(self, case: str) -> None: ...

    def mark_held(
        self, file_id: str, by: str, at: str, reason: str | None
    ) -> FileRecord | None: ...

    def unmark_held(self, file_id: str) -> FileRecord | None: ...


class CaseHolds(Protocol):
    """What recording a file needs to follow a case's hold."""

    def case_hold(self, case: str) -> CaseHold | None: ...

    def message_raw_key(self, message_id: str) -> str | None: ...

    def mark_held(
        self, file_id: str, by: str, at: str, reason: str | None
    ) -> FileRecord | None: ...


class LegalHolds(Protocol):
    """S3 Object Lock legal holds, version by version."""

    def versions_of(self, key: str) -> list[str]: ...  # every version id of exactly `key`

    def lock_enabled(self) -> bool: ...  # the bucket has S3 Object Lock

    def set_legal_hold(self, key: str, version_id: str, on: bool) -> None: ...


class UploadSigner(Protocol):
    """The bucket, as the API's uploads use it: a browser posts the bytes to S3 itself."""

    @property
    def bucket(self) -> str: ...

    def presigned_post(
        self,
        key: str,
        fields: dict[str, str],
        size: int,
        expires_in: int,
    ) -> dict[str, Any]: ...


# -- recovery and import: Lambda, SQS, S3 listings, plain DynamoDB items ----------------------


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


class RawObjects(Protocol):
    def exists(self, key: str) -> bool: ...

    def head_bytes(self, key: str, length: int) -> tuple[bytes, datetime]: ...


class Objects(Protocol):
    def list_objects(
        self, prefix: str, since: datetime | None = None
    ) -> Iterator[StoredObject]: ...
    def exists(self, key: str) -> bool: ...
    def head_bytes(self, key: str, length: int) -> tuple[bytes, datetime]: ...


# -- filing (issue 21): messages that need filing, and staff re-filing -------------------------


class NeedsFilingReader(Protocol):
    def messages_needing_filing(
        self, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[MessageRecord]: ...


class MessageFiler(Protocol):
    """What re-filing needs: the message with its files, and updates of their case."""

    def get_message(self, message_id: str) -> tuple[MessageRecord | None, list[FileRecord]]: ...

    def file_message(
        self, message_id: str, case: str, by: str, at: str
    ) -> MessageRecord | None: ...

    def set_file_case(self, file_id: str, case: str) -> bool: ...


# -- outcome events (issue 21) -----------------------------------------------------------------


class EventPublisher(Protocol):
    """The bus (EventBridge PutEvents) or local mode's outbox; raises unless it was accepted."""

    def publish(self, source: str, detail_type: str, detail: Mapping[str, Any]) -> None: ...


class OutcomeSink(Protocol):
    """Told once a message's record is final (`usecases.outcomes.OutcomePublisher`)."""

    def final(self, record: MessageRecord, attachments: Sequence[Attachment]) -> None: ...


# -- receipts (issue 21) -----------------------------------------------------------------------


class ReceiptLedger(Protocol):
    """The catalogue, as receipts use it: one claim per message, a per-sender hourly count."""

    def claim_receipt(self, message_id: str, to: str, at: str) -> bool: ...

    def release_receipt(self, message_id: str) -> None: ...

    def take_rate(self, address: str, window: str, limit: int) -> bool: ...

    def note_receipt(self, message_id: str, status: str) -> None: ...


class Mailer(Protocol):
    """SES SendRawEmail, or local mode's outbox; returns the provider's message id."""

    def send_raw(self, source: str, to: str, raw: bytes) -> str: ...


class UploadLedger(Protocol):
    """The table, as the api's uploads use it: who signed the form for a key (record_metadata
    takes a form upload's uploader from there, never from what the browser sent)."""

    def put_upload(self, file_id: str, uploader: str, signed_at: str) -> None: ...


# -- deployment: `mailroom migrate` and `mailroom preflight` (usecases/migrate.py, preflight.py;
# adapters/schema.py, preflight_aws.py, dns.py) --


class Removed:
    """A value for `SchemaStore.set_attributes`: remove the attribute (a stale index key)."""

    def __repr__(self) -> str:
        return "REMOVED"


REMOVED = Removed()


class SchemaStore(Protocol):
    """The table as a migration sees it: its version item, a paginated Scan, UpdateItem SET."""

    def stored_version(self) -> int | None: ...
    def has_records(self) -> bool: ...
    def item_count(self) -> int | None: ...
    def checkpoint(self) -> dict[str, Any] | None: ...
    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None: ...
    def set_version(self, version: int) -> None: ...
    def scan_page(
        self, start_key: dict[str, Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def set_attributes(self, key: dict[str, str], values: dict[str, Any]) -> bool:
        """SET each value (REMOVE those that are REMOVED) on an existing item; False if gone."""
        ...


class ReceivingUnavailable(Exception):
    """SES answered that it does not receive mail in this region."""


class LookupFailed(Exception):
    """The DNS lookup itself failed (no answer, timeout): distinct from "no MX"."""


class MailSetup(Protocol):
    def active_rule_set(self) -> str | None: ...  # raises ReceivingUnavailable
    def rule_set_exists(self, name: str) -> bool: ...
    def domain_status(self, domain: str) -> str | None: ...  # "Success", "Pending", ... or None


class Resolver(Protocol):
    def mx(self, domain: str) -> list[tuple[int, str]]: ...  # raises LookupFailed


class Concurrency(Protocol):
    def account(self) -> tuple[int, int]: ...  # (ConcurrentExecutions, Unreserved...)
    def reserved(self, function_name: str) -> int | None: ...


class Subscribers(Protocol):
    def confirmed(self, topic_arn: str) -> int: ...


class MailSender(Protocol):
    """Sends one raw message into the stack's real path (SESv2 SendEmail, or the SMTP door)."""

    def send(self, raw: bytes, sender: str, recipient: str) -> None: ...


class HttpProbe(Protocol):
    def get(self, url: str) -> tuple[int, dict[str, str]]: ...  # status, headers (lower-case)


class CanaryState(Protocol):
    """The last canary sent: its tag and when (one item of the table, never listed)."""

    def last(self) -> tuple[str, str] | None: ...  # (tag, sent_at ISO 8601 UTC)
    def save(self, tag: str, sent_at: str) -> None: ...


# -- case exports (issue 22) --------------------------------------------------------------------


class ObjectReader(Protocol):
    """An object's bytes, streamed in order from one request (bounded memory, no threads)."""

    def iter_object(
        self, key: str, version_id: str | None = None, chunk_size: int = 1024 * 1024
    ) -> Iterator[bytes]: ...


class ExportSigner(Protocol):
    """An asymmetric key the stack's staff can sign with (KMS Sign); its public half is shared."""

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes:
        """The key's ECDSA_SHA_256 signature (DER) of `message` (at most 4096 bytes)."""
        ...

    def public_key_pem(self) -> bytes: ...


class ExportJobs(Protocol):
    """Issue 22: the export jobs' items (one per job, expiring with the export)."""

    def create_job(self, job: dict[str, Any]) -> bool:
        """Write a new job item; False (nothing written) when the job id is taken."""
        ...

    def get_job(self, job_id: str) -> dict[str, Any] | None: ...

    def update_job(self, job_id: str, values: Mapping[str, Any]) -> None: ...


class StreamingUpload(Protocol):
    """An object written front to back (an S3 multipart upload): bounded memory, not seekable."""

    def write(self, data: bytes) -> int: ...

    def tell(self) -> int: ...

    def flush(self) -> None: ...

    def complete(self) -> int:
        """Finish the object; its size in bytes."""
        ...

    def abort(self) -> None: ...


class ExportObjects(Protocol):
    """Where export zips are written, and the short-lived link that fetches one."""

    def open_upload(self, key: str, content_type: str) -> StreamingUpload: ...

    def presigned_get(
        self, key: str, expires_in: int, version_id: str | None = None, filename: str | None = None
    ) -> str: ...


# -- the audit trail (issue 22; mailroom.audit, usecases/audit.py) ---------------------------


class AuditLog(Protocol):
    """The trail: entries appended once (never updated or deleted), read back by Query only,
    each listing newest first and lazy (a caller that takes N entries pays for about N)."""

    def append(self, entry: AuditEntry) -> bool:
        """Write `entry` unless one with its key exists; False when one did (deduplicated)."""
        ...

    def entries_of(
        self, targets: Sequence[Target], bounds: Bounds | None = None
    ) -> Iterator[AuditEntry]:
        """Entries about any of `targets` (server and client partitions), merged."""
        ...

    def entries_by(self, actor: str, bounds: Bounds | None = None) -> Iterator[AuditEntry]:
        """Entries naming `actor` as who acted (the `by_actor` index)."""
        ...

    def entries_in(
        self, months: Sequence[str], bounds: Bounds | None = None
    ) -> Iterator[AuditEntry]:
        """Entries of the month partitions `months` (newest month first), within `bounds`."""
        ...
