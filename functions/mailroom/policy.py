"""What happens to a received message, decided from the SES receipt alone (no AWS, no I/O).

SES scans every message and reports five verdicts, and takes no action on them itself: acting on
them is ours. The virus policy decides what reaches `incoming/` (`strict`: only a virus PASS;
`fail_only`: anything but a FAIL); the rest goes to `quarantine/`, where staff cannot fetch it by
accident. The spam policy records, tags or quarantines a spam FAIL. An optional allow-list of
sender domains admits only an *authenticated* sender (see `authenticate`); everything else is
rejected. The raw message is kept in every case, so nothing is lost and an operator can
reprocess it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PROCESSING = "processing"  # written before any work; final outcomes replace it
    EXTRACTED = "extracted"
    NO_ATTACHMENTS = "no_attachments"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"
    FAILED = "failed"
    RELEASED = "released"  # quarantined, then released by staff (mailroom.release)


class Disposition(StrEnum):
    """Where the message's attachments go, before extraction starts."""

    DELIVER = "deliver"  # to incoming/
    QUARANTINE = "quarantine"  # to quarantine/, never incoming/
    REJECT = "reject"  # nothing extracted


class VirusPolicy(StrEnum):
    STRICT = "strict"  # anything but a virus PASS is quarantined (GRAY, PROCESSING_FAILED, ...)
    FAIL_ONLY = "fail_only"  # only a virus FAIL is quarantined


class SpamPolicy(StrEnum):
    RECORD = "record"  # the verdict is on the record, nothing else
    TAG = "tag"  # a spam FAIL delivers, with `suspected_spam` on the message and file records
    QUARANTINE = "quarantine"  # a spam FAIL is quarantined


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
    suspected_spam: bool = False  # spam FAIL under the `tag` (or `quarantine`) policy


def decide(
    verdicts: Verdicts,
    sender: str | None,
    allowed_domains: frozenset[str],
    *,
    authentication: Authentication | None = None,
    virus_policy: VirusPolicy = VirusPolicy.STRICT,
    spam_policy: SpamPolicy = SpamPolicy.TAG,
) -> Decision:
    """Quarantine by the virus policy; reject unauthenticated or unlisted senders under a
    non-empty allow-list; then apply the spam policy.

    Without `authentication` the sender counts as unauthenticated, so a non-empty allow-list
    rejects it: the bare From header is never trusted.
    """
    spam = verdicts.spam == "FAIL" and spam_policy is not SpamPolicy.RECORD
    if verdicts.virus == "FAIL":
        return Decision(Disposition.QUARANTINE, "virus verdict FAIL", spam)
    if virus_policy is VirusPolicy.STRICT and verdicts.virus != "PASS":
        return Decision(Disposition.QUARANTINE, f"virus verdict {verdicts.virus} (strict)", spam)
    if allowed_domains:
        domain = domain_of(sender)
        if domain is None or not _domain_allowed(domain, allowed_domains):
            return Decision(
                Disposition.REJECT, f"sender domain {domain or '(none)'} not allowed", spam
            )
        if authentication is None or not authentication.authenticated:
            why = authentication.reason if authentication else "not checked"
            return Decision(Disposition.REJECT, f"sender not authenticated: {why}", spam)
    if spam and spam_policy is SpamPolicy.QUARANTINE:
        return Decision(Disposition.QUARANTINE, "spam verdict FAIL", spam)
    return Decision(Disposition.DELIVER, None, spam)


# -- sender authentication --------------------------------------------------------------------
#
# How the SES receipt is read (Amazon SES Developer Guide, "Contents of notifications for Amazon
# SES email receiving", https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html):
# - `receipt.dmarcVerdict.status` is SES's DMARC evaluation. DMARC is by definition evaluated for
#   the RFC 5322 From domain and requires SPF or DKIM to pass *aligned* with it (RFC 7489 3.1,
#   relaxed alignment computed with the Public Suffix List). A PASS is therefore enough on its
#   own, provided the From header names one domain only (which domain SES evaluated for a
#   multi-domain From is not documented, so such mail is never admitted on DMARC).
# - `receipt.spfVerdict.status` is the SPF result for the envelope MAIL FROM, which SES gives as
#   `mail.source`. We check alignment ourselves: the MAIL FROM domain must equal the From domain
#   or be a parent of it (mail.firm.example sent with MAIL FROM bounce@firm.example).
# - `receipt.dkimVerdict.status` says whether DKIM passed but not for which signing domain (d=).
#   The event's `mail.headers` carry the DKIM-Signature headers; when there is exactly one, the
#   verdict is that signature's, so its d= domain is the authenticated one and can be aligned
#   like SPF. With several signatures, or headers SES truncated (`headersTruncated`), the signing
#   domain is unknown and DKIM alone does not admit.
# - Not checked (SES's DMARC verdict covers them, with the Public Suffix List we do not ship):
#   relaxed alignment between sibling subdomains (a.firm.example vs b.firm.example) and an
#   authenticated domain that is a *child* of the From domain. Both fail closed here. The
#   Authentication-Results header is not read: its layout is not documented by SES and a sender
#   can add one of its own.


@dataclass(frozen=True, slots=True)
class Authentication:
    authenticated: bool
    reason: str


def authenticate(
    verdicts: Verdicts,
    from_addresses: Sequence[str],
    mail_from: str | None,
    dkim_domains: Sequence[str] | None,
) -> Authentication:
    """Is the From header's domain vouched for by SES's verdicts? (pure; see the notes above)

    `from_addresses` are the addresses of the From header (as SES lists them), `mail_from` the
    envelope sender, `dkim_domains` the d= of every DKIM-Signature header, None when unknown.
    """
    domains = {d for d in (domain_of(a) for a in from_addresses) if d}
    if not domains:
        return Authentication(False, "no From address")
    if len(domains) > 1:
        return Authentication(False, "From names several domains")
    (from_domain,) = domains
    if verdicts.dmarc == "PASS":
        return Authentication(True, f"dmarc=PASS for {from_domain}")
    spf_domain = domain_of(mail_from)
    if verdicts.spf == "PASS" and spf_domain and aligned(spf_domain, from_domain):
        return Authentication(True, f"spf=PASS aligned ({spf_domain})")
    # One signature: the DKIM verdict is that signature's, so its d= is the authenticated domain.
    one_signer = dkim_domains is not None and len(dkim_domains) == 1
    dkim_domain = dkim_domains[0].lower() if one_signer and dkim_domains else None
    if verdicts.dkim == "PASS" and dkim_domain and aligned(dkim_domain, from_domain):
        return Authentication(True, f"dkim=PASS aligned (d={dkim_domain})")

    spf = verdicts.spf
    if spf == "PASS":
        spf += f" for {spf_domain or '(no MAIL FROM)'}, not aligned"
    dkim = verdicts.dkim
    if dkim == "PASS":
        dkim += f" for d={dkim_domain}, not aligned" if dkim_domain else ", signing domain unknown"
    return Authentication(False, f"dmarc={verdicts.dmarc} spf={spf} dkim={dkim}")


def aligned(authenticated_domain: str, from_domain: str) -> bool:
    """The authenticated domain is the From domain or a parent of it (never a bare TLD)."""
    if "." not in authenticated_domain:
        return False
    return from_domain == authenticated_domain or from_domain.endswith("." + authenticated_domain)


def dkim_signing_domains(headers: Iterable[Mapping[str, Any]]) -> list[str]:
    """The d= tag of every DKIM-Signature header in SES's `mail.headers` (one pass per value)."""
    found = []
    for header in headers:
        if str(header.get("name", "")).lower() != "dkim-signature":
            continue
        domains = [
            "".join(value.split()).lower()  # folding whitespace may split a tag value
            for name, _, value in (
                t.partition("=") for t in str(header.get("value", "")).split(";")
            )
            if name.strip().lower() == "d"
        ]
        # A repeated tag makes the signature invalid (RFC 6376 3.2): then the domain is unknown.
        found.append(domains[0] if len(domains) == 1 else "")
    return found


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


# -- who is behind a forward: a level, not a yes ---------------------------------------------
#
# The outer sender of a message is authenticated or not (above). The original sender behind a
# forward (an attached message's From, or one recovered from an inline "Forwarded message"
# block) is at one of three levels:
# - verified: the forwarded message's own DKIM signature verifies and aligns with its From
#   (mailroom.dkimcheck); only an attached message can be verified;
# - vouched: the outer sender is authenticated and is a trusted forwarder (staff);
# - claimed: anything else, including every forward in mail brought in by `mailroom import`
#   that does not verify (imported mail was never authenticated).
# Only verified and vouched original senders are indexed for search by sender.


class Trust(StrEnum):
    VERIFIED = "verified"
    VOUCHED = "vouched"
    CLAIMED = "claimed"


INDEXED_TRUST = frozenset({Trust.VERIFIED, Trust.VOUCHED})


def is_trusted_forwarder(address: str | None, forwarders: frozenset[str]) -> bool:
    """`address` is listed itself, or its domain (or a parent domain) is."""
    if not address or not forwarders:
        return False
    address = address.strip().lower()
    if address in forwarders:
        return True
    domain = domain_of(address)
    domains = frozenset(f for f in forwarders if "@" not in f)
    return domain is not None and _domain_allowed(domain, domains)


def forward_trust(
    *,
    dkim_verified: bool,
    outer_authenticated: bool | None,
    outer_sender: str | None,
    trusted_forwarders: frozenset[str],
    imported: bool = False,
) -> Trust:
    """The level of an original sender (see the notes above)."""
    if dkim_verified:
        return Trust.VERIFIED
    if (
        not imported
        and outer_authenticated is True
        and is_trusted_forwarder(outer_sender, trusted_forwarders)
    ):
        return Trust.VOUCHED
    return Trust.CLAIMED


def indexed_trust(level: str | None) -> bool:
    """Is an original sender at `level` found by a search by sender? (None: claimed)"""
    return level in INDEXED_TRUST
