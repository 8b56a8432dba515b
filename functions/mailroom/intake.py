"""The extract_attachments use case: one SES-received message in, its files and record out.

Pure orchestration over the adapters it is given: the handler parses the event, this decides
and extracts, the adapters do the I/O. A message always ends with a record saying what happened
to it, including when extraction fails (then the error is re-raised so Lambda retries and, in
the end, the dead-letter queue keeps the event for a redrive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import parseaddr
from typing import Any

from mailroom.adapters.catalog import Catalog
from mailroom.adapters.s3 import MessageContext, S3AttachmentSink, S3Store
from mailroom.extract import extract
from mailroom.model import MAX_SUBJECT, MessageRecord
from mailroom.policy import (
    Disposition,
    Outcome,
    Verdicts,
    bounded,
    case_tag,
    decide,
    outcome_for,
)
from mailroom.settings import Settings

# SES writes this object when a receipt rule's S3 action is created; it is not mail.
SETUP_NOTIFICATION_ID = "AMAZON_SES_SETUP_NOTIFICATION"


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
    origin: str = "email"  # "import" for `mailroom import`; carried to the records
    mailbox: str | None = None  # the mailbox an imported message came from
    case: str | None = None  # a case tag given by the caller (import --case), else plus-address

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
            origin=str(origin.get("source") or "email"),
            mailbox=origin.get("mailbox") or None,
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


def process_message(
    mail: ReceivedMail, settings: Settings, store: S3Store, catalog: Catalog
) -> MessageRecord:
    """Extract one message's attachments by policy and write its message record."""
    sender, sender_name = mail.sender()
    case = mail.case or case_tag(mail.recipients)
    decision = decide(mail.verdicts, sender, settings.allowed_sender_domains)
    record = MessageRecord(
        message_id=mail.message_id,
        received_at=mail.timestamp,
        raw_key=settings.raw_prefix + mail.message_id,
        outcome=Outcome.FAILED,
        envelope_sender=mail.source,
        from_address=sender,
        from_name=sender_name,
        recipients=list(mail.recipients),
        case=case,
        subject=bounded(mail.subject, MAX_SUBJECT),
        rfc_message_id=mail.rfc_message_id,
        verdicts=mail.verdicts.as_dict(),
        reason=decision.reason,
        source=None if mail.origin == "email" else mail.origin,
        mailbox=mail.mailbox,
    )
    if decision.disposition is Disposition.REJECT:
        record.outcome = Outcome.REJECTED
        catalog.put_message(record)
        return record

    prefix = (
        settings.quarantine_prefix
        if decision.disposition is Disposition.QUARANTINE
        else settings.incoming_prefix
    )
    context = MessageContext(
        mail.message_id, mail.timestamp, sender, sender_name, case, mail.origin, mail.mailbox
    )
    sink = S3AttachmentSink(store, prefix, context)
    try:
        with store.open_stream(record.raw_key) as raw:
            extraction = extract(raw, sink, settings.limits)
    except Exception as exc:
        record.outcome = Outcome.FAILED
        record.reason = f"{type(exc).__name__}: {exc}"[:300]
        record.file_ids = sink.keys
        catalog.put_message(record)
        raise

    record.outcome = outcome_for(decision.disposition, len(extraction.attachments))
    record.attachment_count = len(extraction.attachments)
    record.file_ids = sink.keys
    record.warnings = extraction.warnings
    record.original_sender = extraction.original_sender
    record.original_sender_via = extraction.original_sender_via
    if record.from_address is None and extraction.sender:
        record.from_address, record.from_name = extraction.sender, extraction.sender_name
    if record.subject is None:
        record.subject = bounded(extraction.subject, MAX_SUBJECT)
    catalog.put_message(record)
    return record
