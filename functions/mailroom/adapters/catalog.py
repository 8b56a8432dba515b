"""DynamoDB: the catalogue of messages and files, written by the functions, read by the CLI.

Every read is a GetItem or a Query on the key schema of `mailroom.model`; none is a Scan.
Listings are lazy iterators, newest first: a caller that takes N rows pays for about N rows.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from mailroom import audit
from mailroom.model import (
    FILE_SK_PREFIX,
    INDEXES,
    MESSAGE_SK,
    NEEDS_FILING,
    PIPELINE_FIELDS,
    PREFIXES,
    SIGHTING_PREFIX,
    SORT_KEY,
    STAFF_FIELDS,
    Bounds,
    CaseHold,
    FileRecord,
    Filing,
    MessageRecord,
    aside,
    case_hold_key,
    file_pk_sk,
    file_sort_key,
    message_pk_sk,
    message_sort_key,
    time_shard_keys,
)
from mailroom.ports import FileHeld

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

MAX_PAGE = 1000  # items per Query page when the caller says how many it takes
FILING_RACES = 5  # a message re-filed again and again while the pipeline writes it


def to_ddb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def from_ddb(item: dict[str, Any]) -> dict[str, Any]:
    plain = {k: _deserializer.deserialize(v) for k, v in item.items()}
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in plain.items()}


def query_items(client: DynamoDBClient, args: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a Query, page after page (LastEvaluatedKey), as plain Python values."""
    while True:
        page = client.query(**args)
        for item in page.get("Items", []):
            yield from_ddb(item)
        if "LastEvaluatedKey" not in page:
            return
        args = {**args, "ExclusiveStartKey": page["LastEvaluatedKey"]}


class Catalog:
    def __init__(
        self, client: DynamoDBClient, table: str, incoming_prefix: str = PREFIXES.incoming
    ):
        self._ddb = client
        self.client = client  # public for fault injection in tests (botocore event hooks)
        self.table = table
        self._incoming_prefix = incoming_prefix

    # -- writes (idempotent: keys are deterministic, a retry overwrites the same item) --

    def put_message(self, record: MessageRecord) -> None:
        """Write a message record, keeping a staff member's filing.

        Once staff filed a message (`filed_by`: `mailroom file`, the dashboard), its case is
        theirs: a later write by the pipeline (reprocess, a duplicate event) keeps the case and
        who filed it when, and `record` is updated to say so, so its event and its files carry
        the staff's case. One conditional PutItem when nobody filed it; a refused one returns
        the stored item (no extra read, no extra grant) and is written again on its filing.
        """
        for _ in range(FILING_RACES):
            condition = "attribute_not_exists(filed_by)"
            extra: dict[str, Any] = {}
            if record.filed_by is not None:  # written on the filing it carries, or on none
                condition += " OR (filed_by = :by AND filed_at = :at)"
                extra["ExpressionAttributeValues"] = to_ddb(
                    {":by": record.filed_by, ":at": record.filed_at or ""}
                )
            try:
                self._ddb.put_item(
                    TableName=self.table,
                    Item=to_ddb(record.to_item()),
                    ConditionExpression=condition,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **extra,
                )
                return
            except self._ddb.exceptions.ConditionalCheckFailedException as exc:
                stored = from_ddb(exc.response.get("Item") or {})  # type: ignore[arg-type]
            if stored.get("filed_by"):  # filed by staff (again, since `record` was built)
                record.case = stored.get("case")
                record.filed_by, record.filed_at = stored["filed_by"], stored.get("filed_at")
                record.needs_filing = False
        raise RuntimeError(f"message {record.message_id}: its filing kept changing; not written")

    def message_filing(self, message_id: str) -> Filing | None:
        """How staff filed a message; None when nobody did (or there is no record). A
        consistent read: record_metadata asks it around writing a file record."""
        item = self._ddb.get_item(
            TableName=self.table,
            Key=to_ddb(message_pk_sk(message_id)),
            ConsistentRead=True,
            ProjectionExpression="#case, filed_by, filed_at",
            ExpressionAttributeNames={"#case": "case"},
        ).get("Item")
        plain = from_ddb(item) if item else {}
        if not plain.get("filed_by") or not plain.get("case"):
            return None
        return Filing(str(plain["case"]), str(plain["filed_by"]), str(plain.get("filed_at") or ""))

    def put_file(self, record: FileRecord) -> None:
        """Write the pipeline's fields of a file record, never the fields staff own.

        A first recording is a conditional PutItem. Re-recording an object (a duplicate event,
        `reprocess` applying roles to older mail) is an UpdateItem: it sets what the pipeline
        derives, removes what it no longer derives, and leaves a staff member's delete mark as
        it was (a record without a mark never clears one).
        """
        if not self._create_file(record):
            self._update_file(record)

    def put_file_once(self, record: FileRecord) -> bool:
        """Write a file record unless one exists for another version of the object (uploads:
        a second version of an upload key is never recorded). The same version again (a
        duplicate event) rewrites the pipeline's fields, as `put_file` does. False when the
        condition refused the write."""
        if self._create_file(record):
            return True
        try:
            self._update_file(
                record,
                condition="attribute_not_exists(pk) OR version_id = :version",
                condition_values={":version": record.version_id or ""},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _create_file(self, record: FileRecord) -> bool:
        """PutItem the record if no item has its key; False when one has (nothing written).

        Why not always the UpdateItem: it names every field (about 40 actions), and an update
        that long costs the local emulator 15 times a put (moto re-walks the parsed expression
        and re-sizes the item at every action); on DynamoDB both cost the same write units.
        """
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item=to_ddb(record.to_item(self._incoming_prefix)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _update_file(
        self,
        record: FileRecord,
        condition: str | None = None,
        condition_values: dict[str, Any] | None = None,
    ) -> None:
        item = record.to_item(self._incoming_prefix)
        key = {"pk": item.pop("pk"), "sk": item.pop("sk")}
        # A record that carries a delete mark writes it (a copy of a deleted record); one
        # without never clears an existing mark.
        sets = [name for name in item if record.deleted or name not in STAFF_FIELDS]
        removes = sorted(PIPELINE_FIELDS - set(sets))
        names = {f"#a{i}": name for i, name in enumerate(sets + removes)}
        values = {f":v{i}": item[name] for i, name in enumerate(sets)}
        expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(sets)))
        if removes:
            expression += " REMOVE " + ", ".join(f"#a{len(sets) + j}" for j in range(len(removes)))
        extra: dict[str, Any] = {}
        if condition:
            extra["ConditionExpression"] = condition
            values.update(condition_values or {})
        self._ddb.update_item(
            TableName=self.table,
            Key=to_ddb(key),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_ddb(values),
            **extra,
        )

    def put_upload(self, file_id: str, uploader: str, signed_at: str) -> None:
        """The api's note of who signed the upload form for `file_id` (read by record_metadata:
        S3 sees only the api's role as the requester of a form upload)."""
        # An UpdateItem (the api's role updates items, it puts none), creating the item; the
        # upload id is new and random, so the condition only guards against a reused key.
        self._ddb.update_item(
            TableName=self.table,
            Key=to_ddb(_upload_key(file_id, self._incoming_prefix)),
            UpdateExpression="SET #t = :t, uploader = :u, signed_at = :at",
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeNames={"#t": "type"},
            ExpressionAttributeValues=to_ddb({":t": "upload", ":u": uploader, ":at": signed_at}),
        )

    def get_upload(self, file_id: str) -> str | None:
        """Who signed the upload form for `file_id`, or None when no form was signed for it."""
        key = _upload_key(file_id, self._incoming_prefix)
        item = self._ddb.get_item(TableName=self.table, Key=to_ddb(key), ConsistentRead=True)
        uploader = from_ddb(item["Item"]).get("uploader") if "Item" in item else None
        return str(uploader) if uploader else None

    def mark_deleted(self, file_id: str, by: str, at: str) -> FileRecord | None:
        """Flag a file record deleted (who, when); None when there is no such record.

        An update, not a put: a record_metadata write racing with it cannot be lost, and the
        condition keeps a delete from creating a record out of nothing. The condition also
        refuses a record under legal hold (issue 22): `FileHeld` carries the stored record, so
        the refusal names the hold; a hold placed a moment before the delete still wins.
        """
        key = file_pk_sk(file_id, self._incoming_prefix)
        try:
            response = self._ddb.update_item(
                TableName=self.table,
                Key=to_ddb(key),
                UpdateExpression="SET deleted = :t, deleted_by = :by, deleted_at = :at",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(held) "
                "OR held = :f)",
                ExpressionAttributeValues=to_ddb({":t": True, ":f": False, ":by": by, ":at": at}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as exc:
            stored = exc.response.get("Item")
            if stored:  # the record exists: the hold refused it
                raise FileHeld(FileRecord.from_item(from_ddb(stored))) from None  # type: ignore[arg-type]
            return None
        return FileRecord.from_item(from_ddb(response["Attributes"]))

    # -- legal hold (issue 22): the hold's attributes only, on file records and the case item --

    def mark_held(self, file_id: str, by: str, at: str, reason: str | None) -> FileRecord | None:
        """Mark a file record held (who, when, why); None when there is no such record. A
        record already held keeps its first mark (a retry, or a second hold of its case)."""
        values: dict[str, Any] = {":t": True, ":f": False, ":by": by, ":at": at}
        expression = "SET held = :t, held_by = :by, held_at = :at"
        if reason:
            expression += ", hold_reason = :r"
            values[":r"] = reason
        else:
            expression += " REMOVE hold_reason"
        return self._hold_update(
            file_id,
            expression,
            "attribute_exists(pk) AND (attribute_not_exists(held) OR held = :f)",
            values,
        )

    def unmark_held(self, file_id: str) -> FileRecord | None:
        """Clear a file record's hold; None when there is no such record."""
        return self._hold_update(
            file_id,
            "SET held = :f REMOVE held_by, held_at, hold_reason",
            "attribute_exists(pk)",
            {":f": False},
        )

    def _hold_update(
        self, file_id: str, expression: str, condition: str, values: dict[str, Any]
    ) -> FileRecord | None:
        try:
            response = self._ddb.update_item(
                TableName=self.table,
                Key=to_ddb(file_pk_sk(file_id, self._incoming_prefix)),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=to_ddb(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as exc:
            stored = exc.response.get("Item")  # already held: as it is
            return FileRecord.from_item(from_ddb(stored)) if stored else None  # type: ignore[arg-type]
        return FileRecord.from_item(from_ddb(response["Attributes"]))

    def case_hold(self, case: str) -> CaseHold | None:
        """The legal hold on `case`, or None (a consistent read: record_metadata asks it)."""
        item = self._ddb.get_item(
            TableName=self.table, Key=to_ddb(case_hold_key(case)), ConsistentRead=True
        ).get("Item")
        plain = from_ddb(item) if item else {}
        if not plain.get("held"):
            return None
        return CaseHold(
            case.lower(),
            str(plain.get("held_by") or ""),
            str(plain.get("held_at") or ""),
            str(plain["hold_reason"]) if plain.get("hold_reason") else None,
        )

    def put_case_hold(self, hold: CaseHold) -> CaseHold:
        """Record the hold on a case (an UpdateItem: the admin's policy names the hold's
        attributes only); a case already held keeps its first hold, which is returned."""
        values: dict[str, Any] = {":t": True, ":f": False, ":by": hold.by, ":at": hold.at}
        expression = "SET held = :t, held_by = :by, held_at = :at"
        if hold.reason:
            expression += ", hold_reason = :r"
            values[":r"] = hold.reason
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=to_ddb(case_hold_key(hold.case)),
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(held) OR held = :f",
                ExpressionAttributeValues=to_ddb(values),
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return self.case_hold(hold.case) or hold
        return hold

    def release_case_hold(self, case: str) -> None:
        """The case is no longer held (the item stays, `held` false: nothing to delete)."""
        self._ddb.update_item(
            TableName=self.table,
            Key=to_ddb(case_hold_key(case)),
            UpdateExpression="SET held = :f REMOVE held_by, held_at, hold_reason",
            ExpressionAttributeValues=to_ddb({":f": False}),
        )

    def message_raw_key(self, message_id: str) -> str | None:
        """The raw object a message record points at (None: no record, or none kept)."""
        item = self._ddb.get_item(
            TableName=self.table,
            Key=to_ddb(message_pk_sk(message_id)),
            ProjectionExpression="raw_key",
        ).get("Item")
        raw = from_ddb(item).get("raw_key") if item else None
        return str(raw) if raw else None

    # -- filing (issue 21): only the fields staff own change; the pipeline's stay --

    def file_message(self, message_id: str, case: str, by: str, at: str) -> MessageRecord | None:
        """File a message under `case` (who, when); it leaves `by_filing`. None: no record."""
        try:
            response = self._ddb.update_item(
                TableName=self.table,
                Key=to_ddb(message_pk_sk(message_id)),
                UpdateExpression="SET #case = :c, filed_by = :by, filed_at = :at, "
                "needs_filing = :f REMOVE filing_key",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#case": "case"},
                ExpressionAttributeValues=to_ddb({":c": case, ":by": by, ":at": at, ":f": False}),
                ReturnValues="ALL_NEW",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        return MessageRecord.from_item(from_ddb(response["Attributes"]))

    def set_file_case(self, file_id: str, case: str) -> bool:
        """A file's case and its `by_case` key; False when the record does not exist."""
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=to_ddb(file_pk_sk(file_id, self._incoming_prefix)),
                UpdateExpression="SET #case = :c, case_key = :c",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#case": "case"},
                ExpressionAttributeValues=to_ddb({":c": case}),
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def messages_needing_filing(
        self, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[MessageRecord]:
        """Messages flagged `needs_filing`, newest first: the sparse `by_filing` index."""
        for item in self._index_query("by_filing", NEEDS_FILING, bounds or Bounds(), page_size):
            yield MessageRecord.from_item(item)

    # -- reads --

    def get_file(self, file_id: str) -> FileRecord | None:
        key = file_pk_sk(file_id, self._incoming_prefix)
        item = self._ddb.get_item(TableName=self.table, Key=to_ddb(key)).get("Item")
        return FileRecord.from_item(from_ddb(item)) if item else None

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

    def files_from(
        self,
        address: str,
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
        include_claimed: bool = False,
        include_all: bool = False,
    ) -> Iterator[tuple[FileRecord, str]]:
        """Pattern 2: files sent by `address` or forwarded on its behalf, newest first.

        Two indexes (`by_sender`, `by_original_sender`) merged: each file once, with the role
        that matched (`sender`, or `original_sender` when the address is the client behind a
        forward). Documents only, unless `include_all` (their set-aside partitions too).
        `by_original_sender` holds only verified and vouched original senders;
        `include_claimed` merges `by_claimed_sender` too (the record's level says which).
        """
        value, bounds = address.strip().lower(), bounds or Bounds()
        as_sender = (
            (r, "sender")
            for r in self._files_all("by_sender", value, bounds, page_size, include_all)
        )
        as_original = (
            (r, "original_sender")
            for r in self._files_all("by_original_sender", value, bounds, page_size, include_all)
        )
        streams = [as_sender, as_original]
        if include_claimed:
            streams.append(
                (r, "original_sender")
                for r in self._files_all("by_claimed_sender", value, bounds, page_size, include_all)
            )
        seen: set[str] = set()
        for record, role in heapq.merge(
            *streams, key=lambda pair: file_sort_key(pair[0]), reverse=True
        ):
            if record.file_id not in seen:
                seen.add(record.file_id)
                yield record, role

    def files_of_case(
        self,
        case: str,
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
        include_all: bool = False,
    ) -> Iterator[FileRecord]:
        return self._files_all("by_case", case.lower(), bounds or Bounds(), page_size, include_all)

    def files_by_sha256(self, sha256: str) -> Iterator[FileRecord]:
        """Pattern 5: every copy of the same bytes, newest first."""
        return self._files("by_sha256", sha256.lower(), Bounds())

    def files_newest_first(
        self,
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
        include_all: bool = False,
    ) -> Iterator[FileRecord]:
        """Pattern 3: the TIME_SHARDS partitions of `by_time`, merged newest first.

        One Query per shard to start, then one more page only where the caller reads on: the
        cost follows the rows taken, never the days the range spans. Documents only, unless
        `include_all`: then the set-aside shards (inline images, trackers, ...) are merged in.
        """
        bounds = bounds or Bounds()
        keys = time_shard_keys()
        if include_all:
            keys += [aside(key) for key in keys]
        shards = [self._files("by_time", key, bounds, page_size) for key in keys]
        return heapq.merge(*shards, key=file_sort_key, reverse=True)

    def signature_sightings(self, domain: str, sha256: str, at: str, limit: int) -> int:
        """How many times (at most `limit`) these bytes came inline from `domain` before `at`
        (`<received-at>#<file-id>`), and this sighting recorded (idempotent: its key is `at`).

        One item per sighting under `SIGHT#<domain>#<sha256>`, outside every index: the count
        is a Query of at most `limit` keys, whatever the logo's history.
        """
        pk = f"{SIGHTING_PREFIX}{domain.lower()}#{sha256.lower()}"
        response = self._ddb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk < :at",
            ExpressionAttributeValues=to_ddb({":pk": pk, ":at": at}),
            Select="COUNT",
            Limit=max(limit, 1),
        )
        # UpdateItem creates the item (record_metadata's role has no PutItem); the same
        # sighting again rewrites it.
        self._ddb.update_item(
            TableName=self.table,
            Key=to_ddb({"pk": pk, "sk": at}),
            UpdateExpression="SET #t = :t",
            ExpressionAttributeNames={"#t": "type"},
            ExpressionAttributeValues=to_ddb({":t": "sighting"}),
        )
        return min(int(response.get("Count", 0)), limit)

    def messages_by_outcome(
        self, outcome: str, since: date | None = None, until: date | None = None
    ) -> Iterator[MessageRecord]:
        """Pattern 6: messages with one outcome, newest first."""
        return self.messages_with(outcome, Bounds.of(since, until))

    def messages_with(
        self, outcome: str, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[MessageRecord]:
        for item in self._index_query("by_outcome", outcome, bounds or Bounds(), page_size):
            yield MessageRecord.from_item(item)

    def messages_newest_first(
        self,
        outcomes: Iterable[str],
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[MessageRecord]:
        """Every message, newest first: the outcome partitions (a handful) merged."""
        streams = [self.messages_with(o, bounds, page_size=page_size) for o in outcomes]
        return heapq.merge(*streams, key=message_sort_key, reverse=True)

    # -- plumbing --

    def _files_all(
        self, index: str, value: str, bounds: Bounds, page_size: int | None, include_all: bool
    ) -> Iterator[FileRecord]:
        documents = self._files(index, value, bounds, page_size)
        if not include_all:
            return documents
        others = self._files(index, aside(value), bounds, page_size)
        return heapq.merge(documents, others, key=file_sort_key, reverse=True)

    def _files(
        self, index: str, value: str, bounds: Bounds, page_size: int | None = None
    ) -> Iterator[FileRecord]:
        for item in self._index_query(index, value, bounds, page_size):
            if item.get("type", "file") != "file":
                continue  # issue 22: an item posing in a files index (a reported audit entry)
            yield FileRecord.from_item(item)

    def _index_query(
        self, index: str, value: str, bounds: Bounds, page_size: int | None
    ) -> Iterator[dict[str, Any]]:
        hash_key = INDEXES[index]
        condition = f"{hash_key} = :v"
        values: dict[str, Any] = {":v": value}
        if bounds.low is not None or bounds.high is not None:
            condition += f" AND {SORT_KEY} BETWEEN :low AND :high"
            values.update({":low": bounds.low or "0000", ":high": bounds.high or "9999"})
        for item in self._query(index, condition, values, forward=False, page_size=page_size):
            # `high` may be a cursor (the last key already returned): strictly before it.
            if bounds.exclusive_high and item[SORT_KEY] >= (bounds.high or ""):
                continue
            yield item

    def _query(
        self,
        index: str | None,
        condition: str,
        values: dict[str, Any],
        *,
        forward: bool,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        args: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_ddb(values),
            "ScanIndexForward": forward,
        }
        if index:
            args["IndexName"] = index
        if page_size:
            # A page a little larger than what the caller takes: one request usually suffices.
            args["Limit"] = min(page_size + 1, MAX_PAGE)
        return query_items(self._ddb, args)


UPLOAD_SK_PREFIX = "UPLOAD#"


def _upload_key(file_id: str, incoming_prefix: str) -> dict[str, str]:
    """The upload item sits in the upload's own item collection, beside its file records."""
    return {"pk": file_pk_sk(file_id, incoming_prefix)["pk"], "sk": UPLOAD_SK_PREFIX + file_id}


class AuditTrail:
    """The audit trail's items (mailroom.audit): PutItem with attribute_not_exists, and Query.

    Nothing here updates or deletes an entry: a repeat of a deduplicated entry (same key) is
    refused by the condition and reported as False; DynamoDB's TTL (`expires_at`) removes an
    entry after the retention period.
    """

    def __init__(self, client: DynamoDBClient, table: str, retention_days: int) -> None:
        self._ddb = client
        self.client = client
        self.table = table
        self.retention_days = retention_days

    def append(self, entry: audit.AuditEntry) -> bool:
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item=to_ddb(audit.to_item(entry, self.retention_days)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def entries_of(
        self, targets: Sequence[audit.Target], bounds: Bounds | None = None
    ) -> Iterator[audit.AuditEntry]:
        streams = [
            self._entries(None, "pk", partition, bounds or Bounds())
            for target in targets
            for partition in audit.partitions_of(target)
        ]
        return heapq.merge(*streams, key=lambda e: e.sort_key, reverse=True)

    def entries_by(self, actor: str, bounds: Bounds | None = None) -> Iterator[audit.AuditEntry]:
        return self._entries(audit.ACTOR_INDEX, audit.ACTOR_KEY, actor, bounds or Bounds())

    def entries_in(
        self, months: Sequence[str], bounds: Bounds | None = None
    ) -> Iterator[audit.AuditEntry]:
        for month in months:  # newest first: the months follow each other, no merge needed
            yield from self._entries("by_time", "time_key", month, bounds or Bounds())

    def _entries(
        self, index: str | None, hash_key: str, value: str, bounds: Bounds
    ) -> Iterator[audit.AuditEntry]:
        range_key = SORT_KEY if index else "sk"
        condition = f"{hash_key} = :v"
        values: dict[str, Any] = {":v": value}
        if bounds.low is not None or bounds.high is not None:
            condition += f" AND {range_key} BETWEEN :low AND :high"
            values.update({":low": bounds.low or "0000", ":high": bounds.high or "9999"})
        args: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_ddb(values),
            "ScanIndexForward": False,
        }
        if index:
            args["IndexName"] = index
        for item in query_items(self._ddb, args):
            if item.get("type") != audit.ITEM_TYPE:
                continue  # the by_time index also holds files under other keys; never these
            if bounds.exclusive_high and item[range_key] >= (bounds.high or ""):
                continue
            yield audit.from_item(item)
