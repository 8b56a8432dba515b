"""Reprocess: run a message again from `raw/` through the deployed extract function.

The event is rebuilt from what the message record stored (or, for a raw object that has no
record, from the raw message's own headers) and handed to `extract_attachments` with an
asynchronous invoke: the same code and the same role as for mail arriving from SES. Nothing is
written with the caller's credentials; extraction is idempotent, so a message that was partly
processed resumes (identical objects are skipped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import formataddr, getaddresses
from typing import Any

from mailroom import probes
from mailroom.ports import Invoker, RawObjects, Records
from mailroom.release import EVENT_KEY as RELEASE_KEY
from mailroom.release import Release
from mailroom.usecases.intake import SETUP_NOTIFICATION_ID
from mailroom.usecases.roles import Role, needs

HEADER_BYTES = 64 * 1024  # enough for any header block SES stores in practice
VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")
OUTCOMES = ("failed", "processing")  # what `reprocess --outcome` accepts


@dataclass(frozen=True, slots=True)
class Target:
    message_id: str
    raw_key: str
    item: Mapping[str, Any] | None  # the message record, when there is one


@dataclass(slots=True)
class ReprocessResult:
    function_name: str
    queued: list[dict[str, str]] = field(default_factory=list)  # message_id, outcome before
    skipped: list[dict[str, str]] = field(default_factory=list)  # message_id, reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "function_name": self.function_name,
            "queued": self.queued,
            "skipped": self.skipped,
        }


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ses_record(mail: dict[str, Any], receipt: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {"mail": mail, "receipt": receipt},
            }
        ]
    }


def _receipt(
    timestamp: str, recipients: Sequence[str], verdicts: Mapping[str, str]
) -> dict[str, Any]:
    receipt: dict[str, Any] = {
        "timestamp": timestamp,
        "processingTimeMillis": 0,
        "recipients": list(recipients),
        "action": {"type": "Lambda", "invocationType": "Event"},
    }
    for name in VERDICTS:
        receipt[f"{name}Verdict"] = {"status": str(verdicts.get(name) or "GRAY").upper()}
    if verdicts.get("dmarc_policy"):
        receipt["dmarcPolicy"] = str(verdicts["dmarc_policy"]).upper()
    return receipt


def _probe_headers(item: Mapping[str, Any]) -> list[dict[str, str]]:
    """A probe stays one (issue 18): its marker again, and the From domain's DKIM signature the
    extractor found at receipt (the record says it was recognised, as it says the verdicts);
    checked again against the From domain and the recorded verdicts (mailroom.probes)."""
    if item.get("probe") not in probes.KINDS:
        return []
    domain = str(item.get("from_address") or "").rpartition("@")[2].lower()
    return [
        {"name": "DKIM-Signature", "value": f"v=1; d={domain}; s=recorded"},
        {"name": probes.PROBE_HEADER, "value": probes.marker(str(item["probe"]), "reprocessed")},
    ]


def event_from_record(item: Mapping[str, Any]) -> dict[str, Any]:
    """The SES event that produces this record again (verdicts, sender, recipients, case)."""
    message_id = str(item["message_id"])
    timestamp = str(item["received_at"])
    recipients = [str(r) for r in item.get("recipients") or []]
    case = item.get("case")
    if case and not any(f"+{case}@" in r.lower() for r in recipients):
        # The record keeps the first 50 recipients; keep the case tag even if its was cut.
        recipients.append(f"reprocess+{case}@mailroom.invalid")
    common: dict[str, Any] = {}
    if item.get("from_address"):
        common["from"] = [formataddr((item.get("from_name") or "", str(item["from_address"])))]
    if item.get("subject"):
        common["subject"] = item["subject"]
    if item.get("rfc_message_id"):
        common["messageId"] = item["rfc_message_id"]
    common["to"] = recipients
    mail: dict[str, Any] = {
        "timestamp": timestamp,
        "source": item.get("envelope_sender") or item.get("from_address") or "",
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
        "headers": _probe_headers(item),
        "commonHeaders": common,
    }
    if item.get("source") and item.get("source") != "email":
        # Not SES mail (an import): the function keeps saying where it came from.
        mail["mailroomOrigin"] = {"source": item["source"], "mailbox": item.get("mailbox")}
    release = Release.from_record(item)
    if release is not None:  # issue 22: a released message stays released, as it was
        mail[RELEASE_KEY] = release.to_event()
    return _ses_record(mail, _receipt(timestamp, recipients, item.get("verdicts") or {}))


def event_from_raw(message_id: str, head: bytes, stored_at: datetime) -> dict[str, Any]:
    """The SES event for a raw message without a record, from the headers SES stored with it.

    SES prepends Return-Path, Received, X-SES-Spam-Verdict, X-SES-Virus-Verdict,
    Received-SPF and Authentication-Results to the message it stores, above the sender's own
    headers (the sample event's `headers` show that order:
    https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-lambda-event.html), so the
    first occurrence is SES's; a sender can only add later ones.
    The envelope recipients are not in the message: To and Cc stand in for them.
    """
    end = head.find(b"\r\n\r\n")
    end = head.find(b"\n\n") if end < 0 else end
    headers = BytesHeaderParser(policy=compat32).parsebytes(head[: end if end >= 0 else None])

    def first(name: str) -> str | None:
        value = headers.get(name)
        return str(value).strip() if value is not None else None

    verdicts: dict[str, str] = {
        "spam": (first("X-SES-Spam-Verdict") or "GRAY").upper(),
        "virus": (first("X-SES-Virus-Verdict") or "GRAY").upper(),
    }
    auth = (first("Authentication-Results") or "").lower()
    for name in ("spf", "dkim", "dmarc"):
        marker = f"{name}="
        at = auth.find(marker)
        if at >= 0:
            verdicts[name] = auth[at + len(marker) :].split(";", 1)[0].split()[0].upper()
    recipients = [
        addr
        for _, addr in getaddresses(
            [str(v) for v in headers.get_all("To", []) + headers.get_all("Cc", [])]
        )
        if "@" in addr
    ]
    return_path = (first("Return-Path") or "").strip("<>") or None
    timestamp = _iso(stored_at)
    common: dict[str, Any] = {"to": recipients}
    if first("From"):
        common["from"] = [first("From")]
    if first("Subject"):
        common["subject"] = first("Subject")
    if first("Message-ID"):
        common["messageId"] = first("Message-ID")
    mail = {
        "timestamp": timestamp,
        "source": return_path or "",
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
        "headers": [],
        "commonHeaders": common,
    }
    return _ses_record(mail, _receipt(timestamp, recipients, verdicts))


def targets_for_ids(message_ids: Iterable[str], records: Records, raw_prefix: str) -> list[Target]:
    ids = list(dict.fromkeys(i.strip() for i in message_ids if i.strip()))
    items = records.message_items(ids)
    return [
        Target(mid, str((items.get(mid) or {}).get("raw_key") or raw_prefix + mid), items.get(mid))
        for mid in ids
    ]


def targets_for_outcome(
    outcome: str, records: Records, raw_prefix: str, since: date | None = None
) -> list[Target]:
    return [
        Target(
            str(item["message_id"]),
            str(item.get("raw_key") or raw_prefix + item["message_id"]),
            item,
        )
        for item in records.messages_by_outcome(outcome, since)
    ]


# What `reprocess --all` takes: every message that went (or was going) through extraction.
# Rejected mail was never extracted, on purpose: it stays as it is.
EXTRACTED_OUTCOMES = (
    "extracted",
    "no_attachments",
    "quarantined",
    "released",
    "failed",
    "processing",
)


def targets_since(records: Records, raw_prefix: str, since: date | None) -> list[Target]:
    """Every extracted message received since `since` (issue 20: apply roles and expansion to
    older mail), oldest outcome partition first; each message once."""
    seen: set[str] = set()
    targets: list[Target] = []
    for outcome in EXTRACTED_OUTCOMES:
        for target in targets_for_outcome(outcome, records, raw_prefix, since):
            if target.message_id not in seen:
                seen.add(target.message_id)
                targets.append(target)
    return targets


@needs(Role.ADMIN)
def reprocess(
    targets: Iterable[Target],
    function_name: str,
    raw: RawObjects,
    invoker: Invoker,
    *,
    dry_run: bool = False,
) -> ReprocessResult:
    """Queue each target's event for the extract function; report what was queued or why not."""
    result = ReprocessResult(function_name)
    for target in targets:
        if target.message_id == SETUP_NOTIFICATION_ID or "/" in target.message_id:
            result.skipped.append({"message_id": target.message_id, "reason": "not a message id"})
            continue
        try:
            if target.item is not None:
                if not raw.exists(target.raw_key):
                    raise LookupError(f"raw object {target.raw_key} is gone")
                event = event_from_record(target.item)
            else:
                head, stored_at = raw.head_bytes(target.raw_key, HEADER_BYTES)
                event = event_from_raw(target.message_id, head, stored_at)
        except LookupError as exc:  # ObjectNotFound is one
            reason = (
                str(exc) if "gone" in str(exc) else f"no record and no raw object {target.raw_key}"
            )
            result.skipped.append({"message_id": target.message_id, "reason": reason})
            continue
        before = str(target.item.get("outcome")) if target.item is not None else "(no record)"
        if not dry_run:
            try:
                invoker.invoke_async(function_name, event)
            except Exception as exc:  # reported with the others; the rest are still queued
                reason = f"not queued: {type(exc).__name__}: {exc}"[:300]
                result.skipped.append({"message_id": target.message_id, "reason": reason})
                continue
        result.queued.append({"message_id": target.message_id, "outcome_before": before})
    return result
