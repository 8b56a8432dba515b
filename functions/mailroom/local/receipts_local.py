"""Local mode's receipts (issue 21): the same use case as on AWS, over the emulator's table,
with an outbox in place of SES (nothing is mailed)."""

from __future__ import annotations

from typing import Any

from mailroom.adapters.receipts import ReceiptBook
from mailroom.local.emulator import Endpoint
from mailroom.receipts import ReceiptPolicy, ReceiptSettings
from mailroom.usecases.receipts import answer_event


class OutboxMailer:
    """Keeps what would be sent, as outbox entries."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def send_raw(self, source: str, to: str, raw: bytes) -> str:
        text = raw.decode("utf-8", "replace")
        subject = next(
            (line[9:] for line in text.splitlines() if line.lower().startswith("subject: ")), ""
        )
        provider_id = f"local-{len(self.entries) + 1}"
        self.entries.append(
            {"kind": "receipt", "from": source, "to": to, "subject": subject, "raw": text}
        )
        return provider_id


def answer_locally(
    event: dict[str, Any], settings: ReceiptSettings, endpoint: Endpoint, table: str
) -> list[dict[str, Any]]:
    """The outbox entries a drained outcome event causes (a receipt, or nothing)."""
    if settings.policy is ReceiptPolicy.OFF:
        return []
    detail = event.get("detail") or {}
    mailer = OutboxMailer()
    result = answer_event(
        str(event.get("detail-type") or ""),
        detail,
        settings,
        ReceiptBook(endpoint.client("dynamodb"), table),
        mailer,
    )
    for entry in mailer.entries:
        entry["id"] = f"{detail.get('message_id')}/receipt"
        entry["message_id"] = detail.get("message_id")
    if not result.sent:
        return []
    return mailer.entries
