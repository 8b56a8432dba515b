"""The mail-flow canary: every N minutes, check the previous canary arrived, then send the next.

One scheduled run: the previous canary (its tag and send time from CanaryState) must have a
file record from the canary's sender, received within `bound_seconds` of sending. The result is
CanaryDelivered (1 or 0) and, when it arrived, CanaryLatency (seconds from send to SES's
receipt). Then a new canary goes out through the real path (SESv2 SendEmail, like `mailroom
smoke`). A canary still missing when the next run looks is reported missing: the one alarm
that catches MX, domain, rule-set and permission breakage (infra/canary.tf).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from mailroom import probes
from mailroom.ports import CanaryState, FileCatalog, MailSender

DELIVERED = "delivered"
MISSING = "missing"
LATE = "late"
FIRST = "first"


@dataclass(frozen=True)
class CanaryConfig:
    sender: str  # canary@<mail domain>: the stack's own, verified domain
    recipient: str  # a submission address
    bound_seconds: int = 600


@dataclass(frozen=True)
class CanaryResult:
    previous: str | None
    status: str  # delivered, late, missing, first
    latency_seconds: float | None
    sent: str

    @property
    def delivered(self) -> int:
        return 1 if self.status == DELIVERED else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "previous": self.previous,
            "status": self.status,
            "latency_seconds": self.latency_seconds,
            "sent": self.sent,
        }


def canary_filename(tag: str) -> str:
    return f"canary-{tag}.txt"


def canary_message(config: CanaryConfig, tag: str, sent_at: str) -> bytes:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = config.recipient
    message["Subject"] = f"mailroom canary {tag}"
    message[probes.PROBE_HEADER] = probes.marker(probes.CANARY, tag)  # mailroom.probes
    message.set_content(f"mailroom canary {tag}, sent {sent_at}.\n")
    message.add_attachment(
        f"canary {tag} {sent_at}\n".encode(),
        maintype="text",
        subtype="plain",
        filename=canary_filename(tag),
    )
    return message.as_bytes(policy=SMTP)


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def check_previous(
    config: CanaryConfig, state: CanaryState, catalog: FileCatalog
) -> tuple[str | None, str, float | None]:
    last = state.last()
    if last is None:
        return None, FIRST, None
    tag, sent_at = last
    wanted = canary_filename(tag)
    # A recognised canary's file is set aside (role "probe"): include_all reads there too.
    for record, _ in catalog.files_from(config.sender.lower(), page_size=20, include_all=True):
        if record.filename == wanted:
            latency = (_parse(record.received_at) - _parse(sent_at)).total_seconds()
            return tag, (DELIVERED if latency <= config.bound_seconds else LATE), latency
    return tag, MISSING, None


def run_canary(
    config: CanaryConfig,
    state: CanaryState,
    catalog: FileCatalog,
    sender: MailSender,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    tag: str | None = None,
) -> CanaryResult:
    previous, status, latency = check_previous(config, state, catalog)
    tag = tag or secrets.token_hex(6)
    sent_at = _iso(now())
    sender.send(canary_message(config, tag, sent_at), config.sender, config.recipient)
    state.save(tag, sent_at)
    return CanaryResult(previous, status, latency, tag)
