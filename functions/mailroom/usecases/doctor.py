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
from urllib.parse import quote_plus

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

SHOWN = 20  # ids printed per finding; the count is always whole
S3_EVENT_BATCH = 25  # object keys per synthetic S3 event handed to record_metadata
KNOWN_OUTCOMES = ("processing", "extracted", "no_attachments", "quarantined", "rejected", "failed")

OK, PROBLEM, SKIPPED, INFO = "ok", "problem", "skipped", "info"


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


@dataclass(slots=True)
class Report:
    findings: list[Finding]
    fixed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(f.status == PROBLEM for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "findings": [f.as_dict() for f in self.findings],
            "fixed": self.fixed,
        }


def _finding(check: str, ids: list[str], ok: str, bad: str, fix: str | None) -> Finding:
    if not ids:
        return Finding(check, OK, ok)
    return Finding(check, PROBLEM, bad.format(n=len(ids)), len(ids), ids[:SHOWN], fix)


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

    def recent(objects: list[StoredObject]) -> list[StoredObject]:
        return [
            o
            for o in objects
            if o.last_modified <= settled and (since_at is None or o.last_modified >= since_at)
        ]

    # 1. raw messages without a message record
    raw_ids = {
        o.key[len(stack.raw_prefix) :]: o
        for o in recent(raw)
        if "/" not in o.key[len(stack.raw_prefix) :]
        and o.key[len(stack.raw_prefix) :] not in ("", SETUP_NOTIFICATION_ID)
    }
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
    recorded = stack.records.file_items(candidates)
    unrecorded_files = sorted(k for k in candidates if k not in recorded)
    sizes = {o.key: o.size for o in incoming}

    # 4. file records whose object is gone
    files_gone = sorted(stack.records.file_items(claimed_files))

    findings = [
        _finding(
            "raw_without_record",
            unrecorded,
            "every raw message has a message record",
            "{n} raw message(s) without a message record",
            "mailroom reprocess " + " ".join(unrecorded[:SHOWN]) if unrecorded else None,
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
            "every file record's object exists",
            "{n} file record(s) whose object is gone",
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
    findings.append(_rule_finding(stack))
    findings.append(_topic_finding(stack))

    report = Report(findings)
    if fix:
        if invoker is None:
            raise ValueError("fix needs an invoker")
        _fix(
            stack,
            report,
            invoker,
            unrecorded=unrecorded,
            stuck=stuck,
            unrecorded_files=unrecorded_files,
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
        f"activate it: terraform apply -var activate_rule_set=true, or "
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
