"""Doctor: reconcile raw messages, records and objects, and check the stack's health.

Every check says what is wrong, how many, the first few ids, and the command that repairs it.
`fix` repairs what can be repaired with the deployed functions (never with the caller's
credentials): messages are reprocessed through extract_attachments, objects without a file
record are handed to record_metadata with the S3 event the bucket notification would send.

Reads are linear in what is stored: one listing of `raw/` and one of `incoming/`, records in
batches of 100, messages by outcome from the index, bounded by `since` where the index allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from mailroom.ports import (
    Invoker,
    Objects,
    Queue,
    Records,
    RuleCheck,
    StoredObject,
)
from mailroom.usecases.intake import SETUP_NOTIFICATION_ID
from mailroom.usecases.reprocess import Target, reprocess
from mailroom.usecases.roles import Role, needs

SHOWN = 20  # ids printed per finding; the count is always whole
S3_EVENT_BATCH = 25  # object keys per synthetic S3 event handed to record_metadata
KNOWN_OUTCOMES = (
    "processing",
    "extracted",
    "no_attachments",
    "quarantined",
    "rejected",
    "failed",
    "released",
)

OK, PROBLEM, SKIPPED, INFO = "ok", "problem", "skipped", "info"
PENDING = "pending"  # not judged yet: younger than the grace


@dataclass(slots=True)
class Finding:
    check: str
    status: str  # ok, problem, skipped (not configured), info
    summary: str
    count: int = 0
    items: list[str] = field(default_factory=list)  # the first SHOWN ids
    fix: str | None = None  # what to run

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "summary": self.summary,
            "count": self.count,
            "items": self.items,
            "fix": self.fix,
        }


@dataclass(slots=True)
class Stack:
    """What the doctor looks at; None where a name is not configured (that check is skipped)."""

    bucket: str
    raw_prefix: str
    incoming_prefix: str
    objects: Objects
    records: Records
    queues: Mapping[str, Queue | None]  # function role -> its dead-letter queue
    extract_function: str | None = None
    record_function: str | None = None
    rule_set_name: str | None = None
    rules: Callable[[], RuleCheck] | None = None
    alarm_topic_arn: str | None = None
    subscribers: Callable[[], int] | None = None
    # Does this version of this key exist? (None: versions are not compared)
    version_exists: Callable[[str, str], bool] | None = None
    # Local mode's dead-letter file (`mailroom local`): its entries, and where it is.
    dead_letters: Callable[[], Iterable[Mapping[str, Any]]] | None = None
    dead_letter_file: str | None = None


@dataclass(slots=True)
class Report:
    findings: list[Finding]
    fixed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(f.status == PROBLEM for f in self.findings)

    @property
    def settled(self) -> bool:
        """Everything was judged: nothing was younger than the grace."""
        return not any(f.status == PENDING for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "settled": self.settled,
            "findings": [f.as_dict() for f in self.findings],
            "fixed": self.fixed,
        }


def _finding(
    check: str, ids: list[str], ok: str, bad: str, fix: str | None, *, pending: int = 0
) -> Finding:
    """`pending`: how many objects this check left alone because they are younger than the
    grace; never passed over in silence."""
    young = f"pending ({pending}, younger than the grace)"
    if not ids:
        if pending:
            return Finding(check, PENDING, f"{young}: {ok} among the older ones", pending)
        return Finding(check, OK, ok)
    summary = bad.format(n=len(ids)) + (f"; {young}" if pending else "")
    return Finding(check, PROBLEM, summary, len(ids), ids[:SHOWN], fix)


@needs(Role.ADMIN)
def examine(
    stack: Stack,
    *,
    since: date | None = None,
    now: datetime | None = None,
    grace: timedelta = timedelta(minutes=5),
    stuck_after: timedelta = timedelta(minutes=15),
    fix: bool = False,
    invoker: Invoker | None = None,
) -> Report:
    now = now or datetime.now(UTC)
    since_at = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    settled = now - grace  # younger objects may simply not be recorded yet

    raw = list(stack.objects.list_objects(stack.raw_prefix))
    incoming = list(stack.objects.list_objects(stack.incoming_prefix))
    raw_keys = {o.key for o in raw}
    incoming_keys = {o.key for o in incoming}

    def in_range(objects: list[StoredObject]) -> list[StoredObject]:
        return [o for o in objects if since_at is None or o.last_modified >= since_at]

    def recent(objects: list[StoredObject]) -> list[StoredObject]:
        return [o for o in in_range(objects) if o.last_modified <= settled]

    def young(objects: list[StoredObject]) -> int:
        return sum(1 for o in in_range(objects) if o.last_modified > settled)

    def is_message(o: StoredObject) -> bool:
        mid = o.key[len(stack.raw_prefix) :]
        return "/" not in mid and mid not in ("", SETUP_NOTIFICATION_ID)

    # 1. raw messages without a message record
    raw_ids = {o.key[len(stack.raw_prefix) :]: o for o in recent(raw) if is_message(o)}
    raw_pending = young([o for o in raw if is_message(o)])
    known = stack.records.message_items(raw_ids)
    unrecorded = sorted(mid for mid in raw_ids if mid not in known)

    # 2. every message record in range (by outcome, from the index): stuck, failed, gone
    stuck: list[dict[str, Any]] = []
    failed: list[str] = []
    raw_gone: list[str] = []
    claimed_files: list[str] = []
    stuck_before = _iso(now - stuck_after)
    for outcome in KNOWN_OUTCOMES:
        for item in stack.records.messages_by_outcome(outcome, since):
            mid = str(item["message_id"])
            if outcome == "processing" and str(item.get("received_at", "")) <= stuck_before:
                stuck.append(item)
            if outcome == "failed":
                failed.append(mid)
            if str(item.get("raw_key") or stack.raw_prefix + mid) not in raw_keys:
                raw_gone.append(mid)
            claimed_files.extend(
                f
                for f in item.get("file_ids") or []
                if f.startswith(stack.incoming_prefix) and f not in incoming_keys
            )

    # 3. objects under incoming/ without a file record
    candidates = [o.key for o in recent(incoming) if not o.key.endswith("/")]
    incoming_pending = young([o for o in incoming if not o.key.endswith("/")])
    recorded = stack.records.file_items(candidates)
    unrecorded_files = sorted(k for k in candidates if k not in recorded)
    sizes = {o.key: o.size for o in incoming}

    # 4. file records whose object is gone, or whose recorded version is (a key rewritten or
    #    restored under new version ids leaves the record pointing at nothing)
    files_gone = sorted(stack.records.file_items(claimed_files))
    if stack.version_exists is not None:
        exists = stack.version_exists
        files_gone = sorted(
            {
                *files_gone,
                *(
                    key
                    for key, item in recorded.items()
                    if item.get("version_id") and not exists(key, str(item["version_id"]))
                ),
            }
        )

    # 5. local mode's dead-letter file: events that are still not accounted for
    letters = _dead_letter_findings(stack, recorded_ids=set(recorded))

    findings = [
        _finding(
            "raw_without_record",
            unrecorded,
            "every raw message has a message record",
            "{n} raw message(s) without a message record",
            "mailroom reprocess " + " ".join(unrecorded[:SHOWN]) if unrecorded else None,
            pending=raw_pending,
        ),
        _finding(
            "stuck_processing",
            [str(i["message_id"]) for i in stuck],
            f"no message left in `processing` longer than {_human(stuck_after)}",
            f"{{n}} message(s) in `processing` for more than {_human(stuck_after)}",
            "mailroom reprocess --outcome processing",
        ),
        _finding(
            "incoming_without_record",
            unrecorded_files,
            "every object under incoming/ has a file record",
            "{n} object(s) under incoming/ without a file record",
            "mailroom doctor --fix",
            pending=incoming_pending,
        ),
        _finding(
            "raw_object_gone",
            sorted(raw_gone),
            "every message record's raw object exists",
            "{n} message record(s) whose raw object is gone",
            "restore the raw object's previous version: see docs/OPERATIONS.md",
        ),
        _finding(
            "file_object_gone",
            files_gone,
            "every file record's object exists"
            + (" in its recorded version" if stack.version_exists else ""),
            "{n} file record(s) whose object (or recorded version) is gone",
            "mailroom reprocess MESSAGE_ID (re-extracts from raw/): see docs/OPERATIONS.md",
        ),
    ]
    if failed:
        findings.append(
            Finding(
                "failed_messages",
                INFO,
                f"{len(failed)} message(s) ended `failed`: mailroom messages --outcome failed",
                len(failed),
                failed[:SHOWN],
                "mailroom reprocess --outcome failed (once the cause is fixed)",
            )
        )
    findings.extend(_queue_findings(stack))
    findings.extend(letters.findings)
    findings.append(_rule_finding(stack))
    findings.append(_topic_finding(stack))

    report = Report(findings)
    if fix:
        if invoker is None:
            raise ValueError("fix needs an invoker")
        # Dead letters still unaccounted for are repaired the same way (once each).
        stuck_ids = {str(i["message_id"]) for i in stuck}
        lettered = [
            item
            for mid, item in letters.messages.items()
            if mid not in stuck_ids and mid not in unrecorded and item is not None
        ]
        _fix(
            stack,
            report,
            invoker,
            unrecorded=[
                *unrecorded,
                *(m for m, i in letters.messages.items() if i is None and m not in unrecorded),
            ],
            stuck=[*stuck, *lettered],
            unrecorded_files=sorted({*unrecorded_files, *letters.files}),
            sizes=sizes,
        )
    return report


def _fix(
    stack: Stack,
    report: Report,
    invoker: Invoker,
    *,
    unrecorded: list[str],
    stuck: list[dict[str, Any]],
    unrecorded_files: list[str],
    sizes: Mapping[str, int],
) -> None:
    if unrecorded or stuck:
        if not stack.extract_function:
            report.fixed.append({"action": "reprocess", "error": "extract function not known"})
        else:
            targets = [Target(m, stack.raw_prefix + m, None) for m in unrecorded] + [
                Target(
                    str(i["message_id"]),
                    str(i.get("raw_key") or stack.raw_prefix + str(i["message_id"])),
                    i,
                )
                for i in stuck
            ]
            result = reprocess(targets, stack.extract_function, stack.objects, invoker)
            report.fixed.append({"action": "reprocess", **result.as_dict()})
    if unrecorded_files:
        if not stack.record_function:
            report.fixed.append({"action": "record", "error": "record function not known"})
        else:
            keys = iter(unrecorded_files)
            queued = 0
            while batch := list(islice(keys, S3_EVENT_BATCH)):
                invoker.invoke_async(
                    stack.record_function, s3_created_event(stack.bucket, batch, sizes)
                )
                queued += len(batch)
            report.fixed.append(
                {"action": "record", "function_name": stack.record_function, "queued": queued}
            )


def s3_created_event(bucket: str, keys: Iterable[str], sizes: Mapping[str, int]) -> dict[str, Any]:
    """What the bucket notification sends for these objects (keys URL-encoded, as S3 does)."""
    now = _iso(datetime.now(UTC))
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventTime": now,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "mailroom-doctor",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": sizes.get(key, 0)},
                },
            }
            for key in keys
        ]
    }


@dataclass(slots=True)
class _Letters:
    findings: list[Finding] = field(default_factory=list)
    # extract events still unaccounted for: message id -> its record (None: none yet)
    messages: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # record events still unaccounted for


def _dead_letter_findings(stack: Stack, recorded_ids: set[str]) -> _Letters:
    """Each dead letter is judged by the state it should have produced: an extract event is
    accounted for once its message has a final record, a record event once its object has a
    file record (or is gone). The file is read once (linear in its size)."""
    out = _Letters()
    check = "dead_letter_file"
    if stack.dead_letters is None:
        return out
    messages: dict[str, str] = {}  # message id -> error
    files: dict[str, str] = {}
    others = 0
    for letter in stack.dead_letters():
        event = letter.get("event")
        records = event.get("Records") if isinstance(event, Mapping) else None
        found = False
        for record in records if isinstance(records, list) else []:
            if not isinstance(record, Mapping):
                continue
            mail = (record.get("ses") or {}).get("mail") or {}
            key = ((record.get("s3") or {}).get("object") or {}).get("key")
            if mail.get("messageId"):
                messages[str(mail["messageId"])] = str(letter.get("error", ""))
                found = True
            elif isinstance(key, str):
                files[unquote_plus(key)] = str(letter.get("error", ""))
                found = True
        others += not found
    items = stack.records.message_items(messages)
    open_messages = sorted(
        m for m in messages if m not in items or items[m].get("outcome") == "processing"
    )
    file_keys = [k for k in files if k.startswith(stack.incoming_prefix)]
    with_record = set(stack.records.file_items(k for k in file_keys if k not in recorded_ids))
    open_files = sorted(
        k
        for k in file_keys
        if k not in recorded_ids and k not in with_record and stack.objects.exists(k)
    )
    where = stack.dead_letter_file or "the dead-letter file"
    unresolved = [*open_messages, *open_files]
    if unresolved:
        out.findings.append(
            Finding(
                check,
                PROBLEM,
                f"{len(unresolved)} dead-lettered event(s) in {where} not accounted for yet "
                f"({len(open_messages)} message(s) without a final record, {len(open_files)} "
                "object(s) without a file record)",
                len(unresolved),
                unresolved[:SHOWN],
                "mailroom doctor --fix",
            )
        )
    elif messages or files:
        out.findings.append(
            Finding(
                check,
                OK,
                f"the {len(messages) + len(files)} event(s) dead-lettered in {where} are all "
                "accounted for since",
            )
        )
    else:
        out.findings.append(Finding(check, OK, f"no dead-lettered event in {where}"))
    if others:
        out.findings.append(
            Finding(
                "dead_letter_file_other",
                INFO,
                f"{others} dead-lettered event(s) of other functions in {where}",
                others,
            )
        )
    out.messages = {m: items.get(m) for m in open_messages}
    out.files = open_files
    return out


def _queue_findings(stack: Stack) -> list[Finding]:
    findings = []
    for function, queue in stack.queues.items():
        check = f"dlq_{function}"
        if queue is None:
            findings.append(
                Finding(check, SKIPPED, f"{function} dead-letter queue URL not configured")
            )
            continue
        depth = queue.depth()
        if depth:
            findings.append(
                Finding(
                    check,
                    PROBLEM,
                    f"{depth} event(s) wait in the {function} dead-letter queue",
                    depth,
                    [queue.url],
                    f"mailroom redrive --function {function}",
                )
            )
        else:
            findings.append(Finding(check, OK, f"the {function} dead-letter queue is empty"))
    return findings


def _rule_finding(stack: Stack) -> Finding:
    check = "receipt_rule"
    if stack.rules is None or not stack.rule_set_name:
        return Finding(check, SKIPPED, "receipt rule set name not configured")
    found = stack.rules()
    activate = (
        f"check `mailroom preflight`, then activate it: "
        f"aws ses set-active-receipt-rule-set --rule-set-name {stack.rule_set_name}"
    )
    if found.active_rule_set != stack.rule_set_name:
        active = found.active_rule_set or "none"
        return Finding(
            check,
            PROBLEM,
            f"rule set {stack.rule_set_name} is not active (active: {active}): no mail arrives",
            1,
            [stack.rule_set_name],
            activate,
        )
    for rule in found.rules:
        if rule.get("Enabled", True) and _rule_stores_then_extracts(rule, stack):
            return Finding(
                check,
                OK,
                f"rule set {stack.rule_set_name} is active; rule {rule.get('Name')} stores to "
                f"s3://{stack.bucket}/{stack.raw_prefix} then invokes the extract function",
            )
    return Finding(
        check,
        PROBLEM,
        f"active rule set {stack.rule_set_name} holds no enabled rule that stores to "
        f"s3://{stack.bucket}/{stack.raw_prefix} and then invokes the extract function",
        1,
        [stack.rule_set_name],
        "terraform apply (the rule is defined in infra/ses.tf)",
    )


def _rule_stores_then_extracts(rule: Mapping[str, Any], stack: Stack) -> bool:
    stored = False
    for action in rule.get("Actions", []):
        s3 = action.get("S3Action")
        if s3 and s3.get("BucketName") == stack.bucket:
            stored = (s3.get("ObjectKeyPrefix") or "") == stack.raw_prefix
        invoke = action.get("LambdaAction")
        if invoke and stored:
            arn = str(invoke.get("FunctionArn", ""))
            name = stack.extract_function or ""
            if not name or arn == name or arn.endswith(f":function:{name}"):
                return True
    return False


def _topic_finding(stack: Stack) -> Finding:
    check = "alarm_subscriber"
    if stack.subscribers is None or not stack.alarm_topic_arn:
        return Finding(check, SKIPPED, "alarm topic ARN not configured")
    count = stack.subscribers()
    if count:
        return Finding(check, OK, f"the alarm topic has {count} confirmed subscriber(s)")
    return Finding(
        check,
        PROBLEM,
        "the alarm topic has no confirmed subscriber: alarms reach nobody",
        1,
        [stack.alarm_topic_arn],
        f"aws sns subscribe --topic-arn {stack.alarm_topic_arn} --protocol email "
        "--notification-endpoint ops@YOUR-FIRM (then confirm the email)",
    )


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes}m"
