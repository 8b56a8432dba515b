"""The DynamoDB data model: one table, item collections per message, nine sparse indexes.

    item          pk                 sk              index keys
    message       MSG#<message-id>   MESSAGE         outcome_key, filing_key (needs filing only)
    file          MSG#<message-id>   FILE#<file-id>  sender_key, original_sender_key (verified or
                                                     vouched) or claimed_sender_key, time_key,
                                                     sha256_key, case_key
    audit entry   AUDIT#<kind>#<id>  <at>#<entry-id> time_key AUDIT#<YYYY-MM>, actor_key
                  (CLIENTAUDIT#... when reported by the CLI; mailroom.audit)
    upload        MSG#<upload-id>    UPLOAD#<file-id>  (none: the api's record of who signed an
                                                     upload form, read by record_metadata)

A file's id is its object key; its partition is derived from the key (`incoming/<group>/...`),
so a file is fetched with GetItem and a message with all its files with one Query. Every index
is sparse (only the item type it serves carries its key) and sorts on `sort_key`
(`<received-at>#<id>`), so ranges by date are key conditions and "newest first" is a reverse
Query. Nothing here needs a Scan.

"All files, newest first" reads `by_time`, whose partition key is one of TIME_SHARDS fixed
values (`FILES#0` .. `FILES#3`, from a hash of the file id): a reader queries the few shards and
merges them, so a listing costs a handful of requests whatever the date range spans (a day
partition costs one request per calendar day, even an empty one), and writes still spread over
several keys instead of one hot one (DynamoDB's "write sharding": https://docs.aws.amazon.com/
amazondynamodb/latest/developerguide/bp-partition-key-sharding.html).
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from typing import Any

from mailroom.policy import INDEXED_TRUST, Outcome

MESSAGE_SK = "MESSAGE"
FILE_SK_PREFIX = "FILE#"
PK_PREFIX = "MSG#"

# Index name -> its partition key attribute; all sort on SORT_KEY.
SORT_KEY = "sort_key"
INDEXES: dict[str, str] = {
    "by_sender": "sender_key",  # pattern 2: files from one sender, newest first
    "by_original_sender": "original_sender_key",  # pattern 2: ... or forwarded on their behalf
    "by_time": "time_key",  # pattern 3: all files, newest first, over TIME_SHARDS partitions
    "by_sha256": "sha256_key",  # pattern 5: the same document sent twice
    "by_outcome": "outcome_key",  # pattern 6: messages that failed or were quarantined
    "by_case": "case_key",  # pattern 7: files of one case (plus-addressing)
    "by_filing": "filing_key",  # issue 21: messages that need filing (only those carry it)
    # pattern 2 with --include-claimed: files whose original sender is only claimed (issue 16)
    "by_claimed_sender": "claimed_sender_key",
    # issue 22: audit entries by person (only they carry actor_key; mailroom.audit)
    "by_actor": "actor_key",
}
NEEDS_FILING = "needs_filing"  # the one `filing_key` value


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments: the single definition local mode provisions and infra/ must match."""
    attributes = ["pk", "sk", SORT_KEY, *INDEXES.values()]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": hash_key, "KeyType": "HASH"},
                    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, hash_key in INDEXES.items()
        ],
    }


# Partitions of `by_time`: a listing makes at least this many Queries, so keep it small.
TIME_SHARDS = 4
TIME_KEY_PREFIX = "FILES#"


@dataclass(frozen=True, slots=True)
class Prefixes:
    """The bucket's key prefixes, defined once: the functions' defaults, the CLI, local mode and
    the key functions below read them here (infra/main.tf's locals hold the same values;
    tests/infra checks the applied notification filter and function environment against them).
    """

    raw: str = "raw/"
    incoming: str = "incoming/"
    quarantine: str = "quarantine/"


PREFIXES = Prefixes()


def time_shard_keys() -> list[str]:
    return [f"{TIME_KEY_PREFIX}{n}" for n in range(TIME_SHARDS)]


def time_key_of(file_id: str) -> str:
    """The `by_time` partition of a file: stable (a retry rewrites the same item in place)."""
    return f"{TIME_KEY_PREFIX}{zlib.crc32(file_id.encode()) % TIME_SHARDS}"


def group_of(file_id: str, incoming_prefix: str = PREFIXES.incoming) -> str:
    """The message (or upload) a file belongs to: the folder right under `incoming/`."""
    rest = file_id.removeprefix(incoming_prefix)
    group, sep, _ = rest.partition("/")
    return group if sep and group else rest


def file_pk_sk(file_id: str, incoming_prefix: str = PREFIXES.incoming) -> dict[str, str]:
    return {"pk": PK_PREFIX + group_of(file_id, incoming_prefix), "sk": FILE_SK_PREFIX + file_id}


def message_pk_sk(message_id: str) -> dict[str, str]:
    return {"pk": PK_PREFIX + message_id, "sk": MESSAGE_SK}


def day_of(timestamp: str) -> str:
    return timestamp[:10]


@dataclass(frozen=True, slots=True)
class Bounds:
    """A range of `sort_key` (`<received-at ISO 8601 UTC>#<id>`), both ends inclusive.

    `exclusive_high` makes `high` a strict bound: a paging cursor (the last key returned) or a
    cut-off time (`--older-than`).
    """

    low: str | None = None
    high: str | None = None
    exclusive_high: bool = False

    @classmethod
    def of(cls, since: date | None, until: date | None, before: str | None = None) -> Bounds:
        """Whole UTC days `since`..`until` (inclusive), then strictly before `before` if given."""
        low = since.isoformat() if since else None
        # "2026-11-30" sorts after every key of 2026-11-29 and before those of the 30th.
        high = (until + timedelta(days=1)).isoformat() if until else None
        if before is not None and (high is None or before < high):
            return cls(low, before, exclusive_high=True)
        return cls(low, high)


def file_sort_key(record: FileRecord) -> str:
    return f"{record.received_at}#{record.file_id}"


def message_sort_key(record: MessageRecord) -> str:
    return f"{record.received_at}#{record.message_id}"


# Only documents carry the default listings' index keys (issue 20): every other role's keys
# are prefixed, in the same indexes, so a default listing reads documents only and costs the
# rows it returns; `--all` queries the prefixed partitions too and merges them.
DOCUMENT = "document"
ASIDE_PREFIX = "aside#"
ASIDE_KEYS = ("time_key", "sender_key", "original_sender_key", "claimed_sender_key", "case_key")


def set_aside(item: dict[str, Any]) -> None:
    for name in ASIDE_KEYS:
        if name in item:
            item[name] = ASIDE_PREFIX + str(item[name])


def aside(key: str) -> str:
    """The partition value a non-document file has where a document has `key`."""
    return ASIDE_PREFIX + key


# Signature logos: one item per inline image seen, `SIGHT#<domain>#<sha256>` / `<sort key>`.
SIGHTING_PREFIX = "SIGHT#"

MAX_LINKS = 20
MAX_LINK_CHARS = 1000
MAX_EXCERPT_CHARS = 600

# Records keep items far below DynamoDB's 400 KB whatever the message holds: every list is cut
# (with a flag, and a count where the length matters) and every free-text value is bounded.
# Worst case, all in 4-byte UTF-8: file ids 100 x 1 KB (S3 keys are at most 1024 bytes),
# recipients 50 x 1.3 KB, warnings 50 x 1.2 KB, subject 2 KB, a dozen other strings at 4 KB:
# about 280 KB. `test_model` builds that item and measures it.
MAX_SUBJECT = 512
MAX_RECIPIENTS = 50
MAX_RECIPIENT_CHARS = 320  # an SMTP path is at most 256 octets (RFC 5321 4.5.3.1.3)
MAX_WARNINGS = 50
MAX_WARNING_CHARS = 300
MAX_FILE_IDS = 100  # the files themselves are one Query away (pattern 4), never cut
MAX_TEXT_CHARS = 1000  # any other free-text value (addresses, names, reasons, ids)
MAX_VERDICT_CHARS = 32


@dataclass(slots=True)
class MessageRecord:
    message_id: str  # the SES message id, also the raw object's name
    received_at: str  # ISO 8601 UTC, from SES
    raw_key: str
    outcome: Outcome
    envelope_sender: str | None = None  # mail.source (the MAIL FROM)
    from_address: str | None = None
    from_name: str | None = None
    recipients: list[str] = field(default_factory=list)  # receipt.recipients (envelope; has Bcc)
    recipients_truncated: bool = False  # set when the item keeps only the first MAX_RECIPIENTS
    case: str | None = None
    subject: str | None = None
    rfc_message_id: str | None = None
    verdicts: dict[str, str] = field(default_factory=dict)
    attachment_count: int = 0
    file_ids: list[str] = field(default_factory=list)
    original_sender: str | None = None
    original_sender_via: str | None = None
    # verified, vouched or claimed (mailroom.policy.Trust); None with an original sender: claimed
    original_sender_level: str | None = None
    original_sender_check: str | None = None  # the DKIM result, or why it was not checked
    reason: str | None = None  # why rejected, quarantined or failed
    warnings: list[str] = field(default_factory=list)
    warnings_truncated: bool = False  # set when the item keeps only the first MAX_WARNINGS
    file_count: int = 0  # files written (len of file_ids before the cut)
    file_ids_truncated: bool = False  # set when the item keeps only the first MAX_FILE_IDS
    authenticated: bool | None = None  # the From domain is vouched for by SES's verdicts
    auth_reason: str | None = None  # which verdict vouched for it, or why none did
    suspected_spam: bool = False  # spam FAIL under spam_policy `tag` (or `quarantine`)
    source: str | None = None  # None for mail from SES; "import" for `mailroom import`
    mailbox: str | None = None  # the imported mailbox's path
    # Filing (issue 21, mailroom.routing): labels from the rules; needs_filing when rules of one
    # level disagreed; filed_by/filed_at when staff re-filed it.
    labels: list[str] = field(default_factory=list)
    needs_filing: bool = False
    filing_reason: str | None = None
    filed_by: str | None = None
    filed_at: str | None = None
    automatic: str | None = None  # why it is automatic mail (RFC 3834): never answered
    receipt: str | None = None  # "sent <when>" or why none was sent (usecases.receipts)
    # Issue 20: the message's context, as the extractor read it (staff see links, never fetched).
    excerpt: str | None = None
    links: list[str] = field(default_factory=list)
    # Issue 18: "smoke" or "canary" for the stack's own authenticated probe (mailroom.probes),
    # None for real mail; a probe's records expire (TTL_ATTRIBUTE, epoch seconds).
    probe: str | None = None
    expires_at: int | None = None
    # Issue 22: released from quarantine by staff (mailroom.release), by whom, when and why.
    released_by: str | None = None
    released_at: str | None = None
    release_reason: str | None = None
    release_allow_virus: bool = False

    def to_item(self) -> dict[str, Any]:
        item = _compact(asdict(self))
        if not self.release_allow_virus:
            item.pop("release_allow_virus", None)
        if self.needs_filing:
            item["filing_key"] = NEEDS_FILING
        for name, value in item.items():
            if isinstance(value, str):
                item[name] = _cut(value, MAX_TEXT_CHARS)
        item["outcome"] = str(self.outcome)
        item["recipients"] = [
            _cut(r, MAX_RECIPIENT_CHARS) for r in self.recipients[:MAX_RECIPIENTS]
        ]
        item["recipients_truncated"] = len(self.recipients) > MAX_RECIPIENTS
        item["warnings"] = [_cut(w, MAX_WARNING_CHARS) for w in self.warnings[:MAX_WARNINGS]]
        item["warnings_truncated"] = self.warnings_truncated or len(self.warnings) > MAX_WARNINGS
        if not item["warnings"]:
            del item["warnings"]
        item["file_count"] = max(self.file_count, len(self.file_ids))
        item["file_ids"] = self.file_ids[:MAX_FILE_IDS]
        item["file_ids_truncated"] = self.file_ids_truncated or len(self.file_ids) > MAX_FILE_IDS
        if not item["file_ids"]:
            del item["file_ids"]
        item["verdicts"] = {
            _cut(k, MAX_VERDICT_CHARS): _cut(str(v), MAX_VERDICT_CHARS)
            for k, v in list(self.verdicts.items())[:8]
        }
        if self.subject is not None:
            item["subject"] = _cut(self.subject, MAX_SUBJECT)
        if self.excerpt:
            item["excerpt"] = _cut(self.excerpt, MAX_EXCERPT_CHARS)
        if self.links:
            item["links"] = [_cut(link, MAX_LINK_CHARS) for link in self.links[:MAX_LINKS]]
        item.update(message_pk_sk(self.message_id))
        item["type"] = "message"
        item["outcome_key"] = str(self.outcome)
        if self.probe is not None:
            # Set aside like a non-document file: no message listing shows a probe.
            item["outcome_key"] = aside(str(self.outcome))
        item[SORT_KEY] = f"{self.received_at}#{self.message_id}"
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> MessageRecord:
        values = _known(cls, item)
        values["outcome"] = Outcome(values["outcome"])
        values["attachment_count"] = int(values.get("attachment_count", 0))
        values["file_count"] = int(values.get("file_count", len(values.get("file_ids", []))))
        if values.get("expires_at") is not None:
            values["expires_at"] = int(values["expires_at"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Filing:
    """A staff member's filing of a message (issue 21): from then on its case is theirs, and the
    pipeline's writes (reprocess, duplicate events, late file records) follow it."""

    case: str
    by: str
    at: str


@dataclass(slots=True)
class FileRecord:
    file_id: str  # the object key
    filename: str  # the original name, decoded
    safe_name: str
    size: int
    sha256: str
    received_at: str
    source: str  # "email", "upload" or "import"
    message_id: str  # the SES message id, or the upload's id
    content_type: str | None = None  # as declared by the sender
    detected_type: str | None = None  # as sniffed from the bytes
    sender: str | None = None
    sender_name: str | None = None
    original_sender: str | None = None
    original_sender_via: str | None = None
    # verified, vouched or claimed (mailroom.policy.Trust); None with an original sender: claimed
    original_sender_level: str | None = None
    case: str | None = None
    inline: bool = False
    part: str | None = None
    etag: str | None = None
    version_id: str | None = None
    bucket: str | None = None
    authenticated: bool | None = None  # from the message: the sender is vouched for by SES
    auth_reason: str | None = None
    suspected_spam: bool = False
    mailbox: str | None = None  # source "import": the mailbox's path
    # Removed by staff (`mailroom delete`, DELETE /files/{id}): the object's current version is
    # deleted (versioning keeps it), the record stays, hidden from listings unless asked for.
    deleted: bool = False
    deleted_by: str | None = None
    deleted_at: str | None = None
    # Uploads (source "upload"): who made the request, from what the uploader cannot write (the
    # api's upload item, or the S3 event's requester), never from object metadata; and when the
    # sender was named by that uploader (`mailroom upload --sender`), never authenticated.
    uploaded_by: str | None = None
    sender_named_by: str | None = None
    # Issue 20: what the file is to staff (mailroom.extract.roles) and why; a member of an
    # archive or .msg names the container by its index within the same message (its key starts
    # `<nn>-`); an image's size as its header says.
    role: str = "document"
    role_reason: str | None = None
    parent_index: int | None = None
    width: int | None = None
    height: int | None = None
    # Issue 18: as on the message record (role "probe", set aside; the record expires).
    probe: str | None = None
    expires_at: int | None = None
    # Issue 22: a file of a message released from quarantine (from its object's provenance).
    released_by: str | None = None
    released_at: str | None = None
    release_reason: str | None = None
    # Issue 22: under legal hold (`mailroom hold --case`): every version of the object carries
    # an S3 Object Lock legal hold, and a delete is refused while `held` is true (staff own it).
    held: bool = False
    held_by: str | None = None
    held_at: str | None = None
    hold_reason: str | None = None

    def to_item(self, incoming_prefix: str = PREFIXES.incoming) -> dict[str, Any]:
        item = _compact(asdict(self))
        item.update(file_pk_sk(self.file_id, incoming_prefix))
        item["type"] = "file"
        item[SORT_KEY] = f"{self.received_at}#{self.file_id}"
        item["time_key"] = time_key_of(self.file_id)
        item["sha256_key"] = self.sha256
        if self.sender:
            item["sender_key"] = self.sender.lower()
        # The client behind a forward is found too; once is enough when it is the sender. Only a
        # verified or vouched one is: a claimed one has its own index (--include-claimed).
        if self.original_sender and self.original_sender.lower() != item.get("sender_key"):
            if self.original_sender_level in INDEXED_TRUST:
                item["original_sender_key"] = self.original_sender.lower()
            else:
                item["claimed_sender_key"] = self.original_sender.lower()
        if self.case:
            item["case_key"] = self.case
        if self.role != DOCUMENT:
            set_aside(item)
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> FileRecord:
        values = _known(cls, item)
        values["size"] = int(values["size"])
        if values.get("expires_at") is not None:
            values["expires_at"] = int(values["expires_at"])
        return cls(**values)


# Issue 18: the DynamoDB TTL attribute (infra/dynamodb.tf), set on a probe's records only.
TTL_ATTRIBUTE = "expires_at"


def is_probe(record: MessageRecord | FileRecord) -> bool:
    """A record of the stack's own smoke or canary mail (mailroom.probes): it is hidden from
    listings, expires, and must never produce a receipt or an event to staff."""
    return record.probe is not None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    # DynamoDB stores no empty strings in key attributes and we store no None at all.
    return {k: v for k, v in values.items() if v is not None and v not in ("", [])}


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _known(cls: type, item: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in item.items() if k in names}


# -- schema version: which index keys the items carry (usecases/migrate.py registers a step per
# change; `mailroom migrate` runs them, `mailroom preflight` compares). One item holds it; it
# carries no index key, so no listing ever returns it.
# 2: by_time and by_original_sender replaced by_day; 3: original senders indexed by trust level
# (claimed ones under by_claimed_sender only)
SCHEMA_VERSION = 3
SCHEMA_ITEM_KEY = {"pk": "MAILROOM#SCHEMA", "sk": "VERSION"}

# Issue 22: a legal hold's mark on a file record, and the attributes a hold may write.
HOLD_FIELDS = ("held", "held_by", "held_at", "hold_reason")

# A case under legal hold: one item, outside every index, read when a file of the case is
# recorded (so files that arrive later are held too). `CASE#<case>` / `HOLD`.
CASE_HOLD_PREFIX = "CASE#"
CASE_HOLD_SK = "HOLD"


def case_hold_key(case: str) -> dict[str, str]:
    return {"pk": CASE_HOLD_PREFIX + case.lower(), "sk": CASE_HOLD_SK}


@dataclass(frozen=True, slots=True)
class CaseHold:
    """Who put a case under legal hold, when and why."""

    case: str
    by: str
    at: str
    reason: str | None = None


# A file record has owners (DESIGN, third round): staff own the delete mark; the pipeline owns
# everything it derives, index keys included. Re-recording writes only the pipeline's fields.
STAFF_FIELDS = frozenset({"deleted", "deleted_by", "deleted_at", *HOLD_FIELDS})
PIPELINE_FIELDS = (
    frozenset(f.name for f in fields(FileRecord)) | frozenset(INDEXES.values()) | {"type", SORT_KEY}
) - STAFF_FIELDS
