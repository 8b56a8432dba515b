"""The extract_attachments use case: one SES-received message in, its files and record out.

Pure orchestration over the ports it is given (`mailroom.ports`: MailStore, MessageWriter): the
handler parses the event and builds the adapters, this decides and extracts, the adapters do
the I/O. The lifecycle of a message record:

1. Decide from the receipt alone (verdicts, authenticated sender, allow-list). A rejection is
   final at once: nothing is extracted.
2. Otherwise write the record as `processing` (verdicts, sender, raw key) before any work, so a
   Lambda timeout or an out-of-memory kill leaves a record that says the message is stuck.
3. Extract, watching the invocation's remaining time. With less than a safe margin left it
   stops, records `failed` with reason `deadline` and raises, so Lambda retries; the retry
   skips the attachments already written (identical bytes) and carries on.
4. Any error (S3, an engine bug) is recorded `failed` with its type and re-raised. Malformed
   input is not an error: it becomes warnings on an otherwise normal record.
5. The final write is retried with backoff; if it still fails the record stays `processing`
   (never silently dropped) and the error is raised for Lambda's retry and the DLQ.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.utils import getaddresses, parseaddr
from typing import Any, BinaryIO, cast

from mailroom import probes
from mailroom.audit import Action, Target
from mailroom.dkimcheck import TxtLookup, no_lookup
from mailroom.extract import extract
from mailroom.extract.types import AttachmentWriter, PartInfo
from mailroom.model import MAX_SUBJECT, MessageRecord
from mailroom.policy import (
    Authentication,
    Disposition,
    Outcome,
    Verdicts,
    VirusPolicy,
    authenticate,
    bounded,
    decide,
    dkim_signing_domains,
    outcome_for,
)
from mailroom.ports import AttachmentSink, AuditLog, MailStore, MessageWriter, OutcomeSink
from mailroom.provenance import MessageContext
from mailroom.receipts import automatic_reason
from mailroom.release import EVENT_KEY as RELEASE_KEY
from mailroom.release import Release, released
from mailroom.release import ReleaseRefused as _ReleaseRefused
from mailroom.routing import Envelope, authenticated_sender, route
from mailroom.settings import Settings
from mailroom.usecases.audit import FailureHook, record_action
from mailroom.usecases.forwards import ForwardTrust, TrustContext

logger = logging.getLogger(__name__)

# Issue 22: a release the function will not carry out (the handler logs it, no retry).
ReleaseRefused = _ReleaseRefused

# SES writes this object when a receipt rule's S3 action is created; it is not mail.
SETUP_NOTIFICATION_ID = "AMAZON_SES_SETUP_NOTIFICATION"
# ReceivedMail.origin of a message brought in by `mailroom import` rather than received by SES.
IMPORT = "import"


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """What SES says about one message, independent of how the event was parsed."""

    message_id: str
    timestamp: str
    source: str | None  # envelope MAIL FROM
    recipients: Sequence[str]  # receipt.recipients: the envelope, Bcc included
    verdicts: Verdicts
    from_header: Sequence[str] = ()  # commonHeaders.from, decoded by SES
    subject: str | None = None
    rfc_message_id: str | None = None
    # The d= of each DKIM-Signature in SES's header list; None when SES truncated the headers.
    dkim_domains: Sequence[str] | None = None
    origin: str = "email"  # "import" for `mailroom import`; carried to the records
    mailbox: str | None = None  # the mailbox an imported message came from
    case: str | None = None  # a case tag given by the caller (import --case), else plus-address
    # Issue 18: the X-Mailroom-Probe values among the top-level headers SES lists (mail.headers);
    # None when SES truncated that list (no marker can be read).
    probe_markers: Sequence[str] | None = ()
    automatic: str | None = None  # issue 21: why this is automatic mail (RFC 3834), else None
    # Issue 22: staff released it from quarantine (`mailroom release`); only an invoke by staff
    # or the api function carries one, never SES. Checked again in process_message.
    release: Release | None = None

    @classmethod
    def from_ses(cls, mail: Mapping[str, Any], receipt: Mapping[str, Any]) -> ReceivedMail:
        """Tolerant of what SES leaves out: no Subject, no From, a Bcc-only delivery."""
        common = mail.get("commonHeaders") or {}
        # Set by `mailroom reprocess` for a message that did not come from SES (an import).
        origin = mail.get("mailroomOrigin") or {}
        return cls(
            message_id=str(mail["messageId"]),
            timestamp=_normalise_timestamp(str(mail.get("timestamp") or receipt["timestamp"])),
            source=mail.get("source") or None,
            recipients=tuple(receipt.get("recipients") or mail.get("destination") or ()),
            verdicts=Verdicts.from_receipt(receipt),
            from_header=tuple(common.get("from") or ()),
            subject=_decode_words(common.get("subject")),
            rfc_message_id=common.get("messageId"),
            dkim_domains=(
                None
                if mail.get("headersTruncated")
                else dkim_signing_domains(mail.get("headers") or ())
            ),
            origin=str(origin.get("source") or "email"),
            mailbox=origin.get("mailbox") or None,
            probe_markers=(
                None if mail.get("headersTruncated") else probes.markers_in(mail.get("headers"))
            ),
            automatic=automatic_reason(
                (str(h.get("name", "")), str(h.get("value", ""))) for h in mail.get("headers") or ()
            ),
            release=Release.from_event(mail.get(RELEASE_KEY)),  # ReleaseRefused if malformed
        )

    @property
    def is_setup_notification(self) -> bool:
        return self.message_id == SETUP_NOTIFICATION_ID

    def sender(self) -> tuple[str | None, str | None]:
        """(address, display name) from the From header, else the envelope sender."""
        for value in self.from_header:
            name, address = parseaddr(value)
            if address and "@" in address:
                return address.lower(), _decode_words(name) or None
        return (self.source.lower() if self.source else None), None

    def from_addresses(self) -> list[str]:
        """Every address in the From header (SES lists them one per entry, or comma-joined)."""
        return [a.lower() for _, a in getaddresses(list(self.from_header)) if "@" in a]

    def authentication(self) -> Authentication:
        return authenticate(self.verdicts, self.from_addresses(), self.source, self.dkim_domains)

    def probe(self, mail_domain: str | None) -> probes.Recognition:
        """Is this the stack's own smoke or canary mail? (mailroom.probes; never an import)"""
        if self.origin == IMPORT:
            return probes.Recognition(None, reason="no marker")
        return probes.recognise(
            self.probe_markers, self.from_addresses(), self.verdicts, mail_domain, self.dkim_domains
        )


def _decode_words(value: str | None) -> str | None:
    """Decode RFC 2047 words (=?utf-8?q?...?=) when SES passes a header through encoded."""
    if not value or "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):  # a malformed word or an unknown charset: keep it as is
        return value


def _normalise_timestamp(value: str) -> str:
    # SES writes "2026-11-22T09:41:07.123Z"; keep that shape, milliseconds always present.
    if value.endswith("+00:00"):
        value = value[:-6] + "Z"
    if "." not in value and value.endswith("Z"):
        value = value[:-1] + ".000Z"
    return value


class DeadlineReached(Exception):
    """Too little of the invocation's time is left to go on safely; a retry resumes the work."""


# Stop with this much time left: enough to finish one attachment's upload already under way
# (40 MB in 8 MiB parts, two at a time) and the final write with its retries.
DEADLINE_MARGIN_MS = 20_000
# Final write: attempts and the first backoff delay (doubled each time, with jitter).
FINAL_WRITE_ATTEMPTS = 4
FINAL_WRITE_BACKOFF_S = 0.2


def process_message(
    mail: ReceivedMail,
    settings: Settings,
    store: MailStore,
    catalog: MessageWriter,
    *,
    remaining_ms: Callable[[], int] | None = None,
    margin_ms: int = DEADLINE_MARGIN_MS,
    sleep: Callable[[float], None] = time.sleep,
    outcomes: OutcomeSink | None = None,
    txt_lookup: TxtLookup = no_lookup,
    audit: AuditLog | None = None,
    on_audit_failure: FailureHook | None = None,
) -> MessageRecord:
    """Extract one message's attachments by policy; its record goes `processing` -> final.

    `remaining_ms` is the Lambda context's `get_remaining_time_in_millis` (None: no deadline).
    Raises after recording `failed` (deadline, S3 error, engine bug) so Lambda retries.
    `txt_lookup` answers the DKIM checks of forwarded messages (usecases/forwards.py); the
    default answers nothing, so no forward is verified.
    """
    sender, sender_name = mail.sender()
    auth = mail.authentication()
    probe = mail.probe(settings.mail_domain)
    if probe.refused:
        # Anyone can write the marker: without the stack's own authenticated domain it is
        # ordinary mail, and the log says so.
        logger.warning(
            "probe marker ignored: ordinary mail",
            extra={"message_id": mail.message_id, "reason": probe.reason, "tag": probe.tag},
        )
    elif probe.probe is not None:
        logger.info(
            "probe recognised",
            extra={"message_id": mail.message_id, "probe": probe.probe, "tag": probe.tag},
        )
    allowed = settings.allowed_sender_domains
    if allowed and probe.probe is not None and settings.mail_domain:
        allowed = allowed | {settings.mail_domain}  # the stack's own, authenticated domain
    # Routing rules (issue 21): a case given by the caller (import --case) wins over them.
    sender_ok = authenticated_sender(auth.authenticated, mail.from_addresses())
    filing = route(settings.routing, Envelope(mail.recipients, mail.subject, sender_ok))
    case = mail.case or filing.case
    decision = decide(
        mail.verdicts,
        sender,
        # The allow-list says who may send to the submission address; an import is a staff
        # member's own action on the firm's mailboxes, so it does not apply there.
        frozenset() if mail.origin == IMPORT else allowed,
        authentication=auth,
        # SES never scanned imported mail (every verdict GRAY): only a known FAIL holds it back.
        virus_policy=VirusPolicy.FAIL_ONLY if mail.origin == IMPORT else settings.virus_policy,
        spam_policy=settings.spam_policy,
    )
    release = mail.release
    if release is not None:
        # ReleaseRefused (a rejection; a virus FAIL without allow_virus) before anything is
        # written: the quarantined record and objects stay as they were.
        decision = released(decision, mail.verdicts, release)
    record = MessageRecord(
        message_id=mail.message_id,
        received_at=mail.timestamp,
        raw_key=settings.raw_prefix + mail.message_id,
        outcome=Outcome.PROCESSING,
        envelope_sender=mail.source,
        from_address=sender,
        from_name=sender_name,
        recipients=list(mail.recipients),
        case=case,
        subject=bounded(mail.subject, MAX_SUBJECT),
        rfc_message_id=mail.rfc_message_id,
        verdicts=mail.verdicts.as_dict(),
        reason=decision.reason,
        authenticated=auth.authenticated,
        auth_reason=auth.reason,
        suspected_spam=decision.suspected_spam,
        source=None if mail.origin == "email" else mail.origin,
        mailbox=mail.mailbox,
        probe=probe.probe,
        expires_at=(
            None
            if probe.probe is None
            else probes.expires_at(mail.timestamp, settings.probe_expiry_days)
        ),
        labels=list(filing.labels),
        needs_filing=filing.needs_filing and not mail.case,
        filing_reason="given by the caller" if mail.case else filing.reason,
        automatic=mail.automatic,
        released_by=release.by if release else None,
        released_at=release.at if release else None,
        release_reason=release.reason if release else None,
        release_allow_virus=bool(release and release.allow_virus),
    )
    if probe.probe is not None:
        # The raw message expires with the records (the lifecycle rule reads this tag). Not
        # fatal: an untagged raw message is only kept longer than it needs to be.
        try:
            store.tag_probe(record.raw_key)
        except Exception as exc:
            logger.warning(
                "probe's raw message not tagged: it will not expire",
                extra={"message_id": mail.message_id, "error": _describe(exc)},
            )
    if decision.disposition is Disposition.REJECT:
        record.outcome = Outcome.REJECTED
        _write_final(catalog, record, sleep)
        if outcomes is not None:  # issue 21: after the record is final
            outcomes.final(record, ())
        return record

    # Written before any work: a timeout or an out-of-memory kill leaves this for the doctor.
    # A message staff already filed keeps their case (the catalogue puts it in `record`), and
    # its files are written with it.
    catalog.put_message(record)

    prefix = (
        settings.quarantine_prefix
        if decision.disposition is Disposition.QUARANTINE
        else settings.incoming_prefix
    )
    context = MessageContext(
        mail.message_id,
        mail.timestamp,
        sender,
        sender_name,
        record.case,
        authenticated=auth.authenticated,
        auth_reason=auth.reason,
        suspected_spam=decision.suspected_spam,
        source=mail.origin,
        mailbox=mail.mailbox,
        probe=record.probe,
        expires_at=record.expires_at,
        release=(release.by, release.at, release.reason) if release else None,
    )
    sink = store.attachment_sink(prefix, context)
    watch = _Deadline(remaining_ms, margin_ms)
    trust = ForwardTrust(
        _WatchedSink(sink, watch),
        TrustContext(
            outer_sender=sender,
            outer_authenticated=auth.authenticated,
            trusted_forwarders=settings.trusted_forwarders,
            imported=mail.origin == IMPORT,
            lookup=txt_lookup,
        ),
    )
    try:
        with store.open_stream(record.raw_key) as raw:
            source = cast(BinaryIO, _WatchedStream(raw, watch))  # extract() only calls read()
            extraction = extract(
                source, trust, settings.limits, on_inline_forward=trust.inline_forward
            )
    except Exception as exc:
        record.outcome = Outcome.FAILED
        record.reason = "deadline" if isinstance(exc, DeadlineReached) else _describe(exc)
        record.file_ids = list(sink.keys)
        record.file_count = len(sink.keys)
        _write_final(catalog, record, sleep)
        if outcomes is not None:
            with contextlib.suppress(Exception):  # counted by the publisher; the cause is raised
                outcomes.final(record, ())
        raise

    record.outcome = (
        Outcome.RELEASED
        if release is not None
        else outcome_for(decision.disposition, len(extraction.attachments))
    )
    record.attachment_count = len(extraction.attachments)
    record.file_ids = list(sink.keys)
    record.file_count = len(sink.keys)
    record.warnings = extraction.warnings
    record.original_sender = extraction.original_sender
    record.original_sender_via = extraction.original_sender_via
    verdict = trust.verdict(extraction.original_sender, extraction.original_sender_via)
    if verdict is not None:
        record.original_sender_level = str(verdict.level)
        record.original_sender_check = verdict.check
    if record.from_address is None and extraction.sender:
        # From the MIME headers, which SES did not vouch for: never authenticated.
        record.from_address, record.from_name = extraction.sender, extraction.sender_name
    if record.subject is None:
        record.subject = bounded(extraction.subject, MAX_SUBJECT)
    record.excerpt = extraction.excerpt  # issue 20: why the files came, in the sender's words
    record.links = list(extraction.links)
    _write_final(catalog, record, sleep)
    if outcomes is not None:
        outcomes.final(record, extraction.attachments)
    if release is not None:
        _audit_release(audit, record, release, on_audit_failure)
    return record


def _audit_release(
    audit: AuditLog | None,
    record: MessageRecord,
    release: Release,
    on_failure: FailureHook | None,
) -> None:
    """Issue 22: one `release` entry, written by this function (server side: proof), naming
    who released it and why. Its key follows from the decision (time and message), so a
    duplicated event writes no second entry; a failure is logged and counted, never raised."""
    at = datetime.fromisoformat(release.at.replace("Z", "+00:00"))
    record_action(
        audit,
        actor=release.by,
        action=Action.RELEASE,
        target=Target.message(record.message_id),
        origin="function",
        details={
            "reason": release.reason,
            "allow_virus": release.allow_virus,
            "held_for": record.reason,
            "virus": record.verdicts.get("virus"),
            "spam": record.verdicts.get("spam"),
            "files": record.file_count,
        },
        now=at,
        entry_id=hashlib.sha256(f"{record.message_id}\n{release.at}".encode()).hexdigest()[:32],
        on_failure=on_failure,
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _write_final(
    catalog: MessageWriter, record: MessageRecord, sleep: Callable[[float], None]
) -> None:
    """Write the final record, retrying with exponential backoff and jitter.

    botocore already retries throttling and 5xx inside each call; this covers what outlasts
    those retries. If every attempt fails the error propagates: the record written before the
    work still says `processing`, and Lambda retries the event, then dead-letters it.
    """
    delay = FINAL_WRITE_BACKOFF_S
    for attempt in range(1, FINAL_WRITE_ATTEMPTS + 1):
        try:
            catalog.put_message(record)
            return
        except Exception as exc:
            if attempt == FINAL_WRITE_ATTEMPTS:
                raise
            logger.warning(
                "final message record write failed; retrying",
                extra={"attempt": attempt, "error": _describe(exc)},
            )
            sleep(delay * (1 + random.random()))  # noqa: S311 - jitter, not security
            delay *= 2


class _Deadline:
    """Stop once less than the margin is left; the margin is at most a quarter of the time the
    invocation started with, so a function configured with a short timeout still makes progress.
    """

    def __init__(self, remaining_ms: Callable[[], int] | None, margin_ms: int) -> None:
        self._remaining_ms = remaining_ms
        self._margin_ms = margin_ms
        if remaining_ms is not None:
            self._margin_ms = min(margin_ms, max(0, remaining_ms()) // 4)

    def check(self) -> None:
        if self._remaining_ms is not None and self._remaining_ms() < self._margin_ms:
            raise DeadlineReached(f"less than {self._margin_ms} ms left")


class _WatchedStream:
    """The raw message, checking the deadline before each read (the engine reads 1 MiB)."""

    def __init__(self, raw: BinaryIO, deadline: _Deadline) -> None:
        self._raw = raw
        self._deadline = deadline

    def read(self, size: int = -1) -> bytes:
        self._deadline.check()
        return self._raw.read(size)


class _WatchedSink:
    """The attachment sink, checking the deadline before each attachment starts."""

    def __init__(self, sink: AttachmentSink, deadline: _Deadline) -> None:
        self._sink = sink
        self._deadline = deadline

    def open(self, part: PartInfo) -> AttachmentWriter:
        self._deadline.check()
        return self._sink.open(part)
