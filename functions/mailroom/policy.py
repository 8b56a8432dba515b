"""What happens to a received message, decided from the SES receipt alone (no AWS, no I/O).

SES scans every message and reports five verdicts. A virus FAIL is never delivered to
`incoming/`: its files go to `quarantine/` where staff cannot fetch them by accident. An
optional allow-list of sender domains rejects everything else; the raw message is kept either
way, so nothing is lost and an operator can reprocess it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    EXTRACTED = "extracted"
    NO_ATTACHMENTS = "no_attachments"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"
    FAILED = "failed"


class Disposition(StrEnum):
    """Where the message's attachments go, before extraction starts."""

    DELIVER = "deliver"  # to incoming/
    QUARANTINE = "quarantine"  # to quarantine/, never incoming/
    REJECT = "reject"  # nothing extracted


@dataclass(frozen=True, slots=True)
class Verdicts:
    spam: str = "GRAY"
    virus: str = "GRAY"
    spf: str = "GRAY"
    dkim: str = "GRAY"
    dmarc: str = "GRAY"
    dmarc_policy: str | None = None

    @classmethod
    def from_receipt(cls, receipt: Mapping[str, Any]) -> Verdicts:
        def status(name: str) -> str:
            verdict = receipt.get(name) or {}
            return str(verdict.get("status") or "GRAY").upper()

        policy = receipt.get("dmarcPolicy")
        return cls(
            spam=status("spamVerdict"),
            virus=status("virusVerdict"),
            spf=status("spfVerdict"),
            dkim=status("dkimVerdict"),
            dmarc=status("dmarcVerdict"),
            dmarc_policy=str(policy).lower() if policy else None,  # none|quarantine|reject
        )

    def as_dict(self) -> dict[str, str]:
        values = {
            "spam": self.spam,
            "virus": self.virus,
            "spf": self.spf,
            "dkim": self.dkim,
            "dmarc": self.dmarc,
        }
        if self.dmarc_policy:
            values["dmarc_policy"] = self.dmarc_policy
        return values


@dataclass(frozen=True, slots=True)
class Decision:
    disposition: Disposition
    reason: str | None = None


def decide(verdicts: Verdicts, sender: str | None, allowed_domains: frozenset[str]) -> Decision:
    """Quarantine on a virus FAIL; reject senders outside a non-empty allow-list."""
    if verdicts.virus == "FAIL":
        return Decision(Disposition.QUARANTINE, "virus verdict FAIL")
    if allowed_domains:
        domain = domain_of(sender)
        if domain is None or not _domain_allowed(domain, allowed_domains):
            return Decision(Disposition.REJECT, f"sender domain {domain or '(none)'} not allowed")
    return Decision(Disposition.DELIVER)


def domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().strip(">").lower() or None


def _domain_allowed(domain: str, allowed: frozenset[str]) -> bool:
    # A listed domain admits its subdomains too (mail.client.com for client.com).
    return any(domain == d or domain.endswith("." + d) for d in allowed)


_CASE_TAG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def case_tag(recipients: Iterable[str]) -> str | None:
    """The plus-address tag of the first tagged recipient: `submit+case-42@x` -> `case-42`."""
    for recipient in recipients:
        local = recipient.rsplit("@", 1)[0]
        if "+" not in local:
            continue
        tag = local.split("+", 1)[1].strip().lower()
        if _CASE_TAG.match(tag):
            return tag
    return None


def bounded(text: str | None, max_chars: int) -> str | None:
    """Cut a header value for a record (never the raw message), marking the cut."""
    if text is None or len(text) <= max_chars:
        return text
    return text[: max_chars - 1] + "…"


def outcome_for(disposition: Disposition, attachment_count: int) -> Outcome:
    if disposition is Disposition.REJECT:
        return Outcome.REJECTED
    if disposition is Disposition.QUARANTINE:
        return Outcome.QUARANTINED
    return Outcome.EXTRACTED if attachment_count else Outcome.NO_ATTACHMENTS
