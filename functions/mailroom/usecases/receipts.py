"""Receipts (issue 21): answer a message's outcome event with one receipt to its sender.

Consumes the outcome event (`usecases.outcomes`), never the extractor. At most one receipt per
message whatever the deliveries: a conditional write claims the send first (a second delivery
finds the claim and stops); a send that fails releases the claim and raises, so the retry sends
it (exactly one when nothing fails). The claim comes before the per-sender rate limit, so a
duplicate delivery never counts against the sender. Who may get one: `mailroom.receipts`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from mailroom.ports import Mailer, ReceiptLedger
from mailroom.receipts import ANSWERED, ReceiptPolicy, ReceiptSettings, build_receipt, recipient_of
from mailroom.usecases.messages import iso_z

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReceiptResult:
    sent: bool
    to: str | None
    reason: str  # "sent", or why none was sent
    message: EmailMessage | None = None
    provider_id: str | None = None


def answer_event(
    detail_type: str,
    detail: Mapping[str, Any],
    settings: ReceiptSettings,
    ledger: ReceiptLedger,
    mailer: Mailer,
    *,
    now: datetime | None = None,
) -> ReceiptResult:
    """Send the receipt an outcome event calls for, at most once per message."""
    moment = now or datetime.now(UTC)
    message_id = str(detail.get("message_id") or "")
    if settings.policy is ReceiptPolicy.OFF:
        return ReceiptResult(False, None, "receipts are off")
    if detail_type not in ANSWERED or not message_id:
        return ReceiptResult(False, None, f"no receipt for {detail_type}")
    to, why = recipient_of(detail, settings)
    if to is None:
        ledger.note_receipt(message_id, f"none: {why}")
        return ReceiptResult(False, None, why)
    if not ledger.claim_receipt(message_id, to, iso_z(moment)):
        return ReceiptResult(False, to, "already claimed (a repeated delivery)")
    if not ledger.take_rate(to, moment.strftime("%Y-%m-%dT%H"), settings.rate_per_hour):
        ledger.note_receipt(message_id, f"none: rate limit ({settings.rate_per_hour}/hour)")
        return ReceiptResult(False, to, "rate limit")
    receipt = build_receipt({**detail, "detail_type": detail_type}, to, settings, moment)
    assert settings.from_address is not None  # ReceiptSettings requires it unless off
    try:
        provider_id = mailer.send_raw(settings.from_address, to, receipt.as_bytes())
    except Exception:
        ledger.release_receipt(message_id)  # the retry sends it: exactly one when all goes well
        raise
    ledger.note_receipt(message_id, f"sent {iso_z(moment)}")
    logger.info("receipt sent", extra={"message_id": message_id})
    return ReceiptResult(True, to, "sent", receipt, provider_id)
