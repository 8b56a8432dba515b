"""Receipts (issue 21): who gets one, and what it says (pure, no I/O).

A receipt is built from a message's outcome event (`usecases.outcomes`), never from the
extractor. It follows RFC 3834 ("Recommendations for Automatic Responses to Electronic Mail"):

- `Auto-Submitted: auto-replied`, `In-Reply-To` and `References` to the original (3.1.5, 5);
- never in reply to automatic mail: `Auto-Submitted` other than `no`, `Precedence: bulk, list or
  junk`, a `List-Id`, a null return path, MAILER-DAEMON or postmaster (2, 3.1.1), nor to our own
  addresses (no loops);
- to the envelope sender (the return path, 3.1.2), and only when it is in the From's domain
  (the From SES authenticated, under `authenticated`);
- at most one per message (a conditional write claims it: `usecases.receipts`) and a per-sender
  rate limit (2: "responders ... SHOULD NOT respond more than once").

`receipt_policy`: `off` (the default), `authenticated` (recommended: no receipt to a sender SES
did not authenticate, since replying to forged mail is backscatter), `all`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from typing import Any

from mailroom.policy import domain_of

ENV_RECEIPT_POLICY = "MAILROOM_RECEIPT_POLICY"
ENV_RECEIPT_FROM = "MAILROOM_RECEIPT_FROM"
ENV_RECEIPT_FIRM = "MAILROOM_RECEIPT_FIRM_NAME"
ENV_RECEIPT_CONTACT = "MAILROOM_RECEIPT_CONTACT"
ENV_RECEIPT_RATE = "MAILROOM_RECEIPT_RATE_PER_HOUR"
RECEIPT_ENV = (
    ENV_RECEIPT_POLICY,
    ENV_RECEIPT_FROM,
    ENV_RECEIPT_FIRM,
    ENV_RECEIPT_CONTACT,
    ENV_RECEIPT_RATE,
)
DEFAULT_RATE_PER_HOUR = 5
MAX_LISTED = 50  # documents listed in a receipt; the event already bounds them
# Outcome events a receipt answers: recorded (filed or not yet filed) and held back.
ANSWERED = ("Message Recorded", "Message Needs Filing", "Message Quarantined")
_ADDRESS_RE = re.compile(r"^[^@\s<>]{1,64}@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_TEXT_RE = re.compile(r"^[^\x00-\x1f\x7f]{0,200}$")
_SYSTEM_LOCALS = ("mailer-daemon", "postmaster", "noreply", "no-reply")


class ReceiptPolicy(StrEnum):
    OFF = "off"
    AUTHENTICATED = "authenticated"
    ALL = "all"


class ReceiptSettingsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ReceiptSettings:
    policy: ReceiptPolicy = ReceiptPolicy.OFF
    from_address: str | None = None  # on the verified mail domain; required unless off
    firm_name: str = "Our office"
    contact: str | None = None  # one line: "Questions? Call 01 23 45 67 89"
    rate_per_hour: int = DEFAULT_RATE_PER_HOUR
    own_domains: frozenset[str] = frozenset()  # never answered (the submission domain)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReceiptSettings:
        problems = []
        text = env.get(ENV_RECEIPT_POLICY, "").strip().lower() or ReceiptPolicy.OFF
        if text not in {p.value for p in ReceiptPolicy}:
            problems.append(f"{ENV_RECEIPT_POLICY}={text!r} must be off, authenticated or all")
            text = ReceiptPolicy.OFF
        sender = env.get(ENV_RECEIPT_FROM, "").strip().lower() or None
        if sender is not None and not _ADDRESS_RE.match(sender):
            problems.append(f"{ENV_RECEIPT_FROM}={sender!r} is not an address")
        if text != ReceiptPolicy.OFF and sender is None:
            problems.append(f"{ENV_RECEIPT_FROM} is required when receipts are on")
        firm = env.get(ENV_RECEIPT_FIRM, "").strip() or "Our office"
        contact = env.get(ENV_RECEIPT_CONTACT, "").strip() or None
        for name, value in ((ENV_RECEIPT_FIRM, firm), (ENV_RECEIPT_CONTACT, contact or "")):
            if not _TEXT_RE.match(value):
                problems.append(f"{name}: one line of at most 200 characters")
        rate_text = env.get(ENV_RECEIPT_RATE, "").strip()
        rate = DEFAULT_RATE_PER_HOUR
        if rate_text:
            if not rate_text.isdigit() or not 1 <= int(rate_text) <= 1000:
                problems.append(f"{ENV_RECEIPT_RATE}={rate_text!r} must be 1..1000")
            else:
                rate = int(rate_text)
        if problems:
            raise ReceiptSettingsError("invalid receipt settings: " + "; ".join(problems))
        own = frozenset({d for d in [domain_of(sender)] if d})
        return cls(ReceiptPolicy(text), sender, firm, contact, rate, own)

    def to_env(self) -> dict[str, str]:
        return {
            ENV_RECEIPT_POLICY: str(self.policy),
            ENV_RECEIPT_FROM: self.from_address or "",
            ENV_RECEIPT_FIRM: self.firm_name,
            ENV_RECEIPT_CONTACT: self.contact or "",
            ENV_RECEIPT_RATE: str(self.rate_per_hour),
        }


def automatic_reason(headers: Iterable[tuple[str, str]]) -> str | None:
    """Why a message is automatic mail (RFC 3834 2, 3.1.1), from its header fields; else None."""
    for raw_name, raw_value in headers:
        name, value = raw_name.strip().lower(), " ".join(str(raw_value).split()).lower()
        if name == "auto-submitted" and value.split(";")[0].strip() not in ("", "no"):
            return f"Auto-Submitted: {value[:40]}"
        if name == "precedence" and value in ("bulk", "list", "junk"):
            return f"Precedence: {value}"
        if name == "list-id":
            return "List-Id"
        if name in ("x-autoreply", "x-autorespond"):  # common non-standard markers
            return raw_name.strip()
    return None


def _aligned(a: str, b: str) -> bool:
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def recipient_of(detail: Mapping[str, Any], settings: ReceiptSettings) -> tuple[str | None, str]:
    """Who the receipt goes to, or None and why none is sent."""
    if settings.policy is ReceiptPolicy.OFF:
        return None, "receipts are off"
    sender = detail.get("sender") or {}
    envelope = str(sender.get("envelope") or "").strip().lower()
    from_address = str(sender.get("address") or "").strip().lower()
    if detail.get("automatic"):
        return None, f"automatic mail ({detail['automatic']})"
    if not envelope or envelope == "<>":
        return None, "null return path"
    local = envelope.rsplit("@", 1)[0]
    if local in _SYSTEM_LOCALS or local.startswith("bounce"):
        return None, f"system address {envelope}"
    if not _ADDRESS_RE.match(envelope):
        return None, "the return path is not an address"
    env_domain, from_domain = domain_of(envelope) or "", domain_of(from_address) or ""
    own = set(settings.own_domains) | {
        d for d in (domain_of(str(r)) for r in detail.get("recipients") or ()) if d
    }
    if any(_aligned(env_domain, d) for d in own) or envelope == settings.from_address:
        return None, "one of our own addresses"
    authenticated = bool(sender.get("authenticated"))
    if settings.policy is ReceiptPolicy.AUTHENTICATED and not authenticated:
        return None, "sender not authenticated (policy authenticated)"
    if not from_domain or not _aligned(env_domain, from_domain):
        return None, f"return path {env_domain} is not in the From's domain {from_domain or '-'}"
    return envelope, "ok"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _lines(detail: Mapping[str, Any]) -> tuple[str, list[str], list[str]]:
    """(summary, documents, held back) as plain lines."""
    kind = detail.get("detail_type") or ""
    docs = [
        f"{d['name']} — {_size(int(d['size']))} — sha256 {d['sha256_12']}…"
        + (f" — case {d['case']}" if d.get("case") else "")
        for d in (detail.get("documents") or [])[:MAX_LISTED]
    ]
    more = int(detail.get("document_count") or 0) - len(docs)
    if more > 0:
        docs.append(f"… and {more} more document(s)")
    held = []
    if detail.get("held"):
        held.append(
            f"{detail['held']['count']} file(s) held for review before anyone opens them "
            f"({detail['held'].get('reason') or 'security check'})"
        )
    aside = detail.get("set_aside") or {}
    if aside.get("inline_images"):
        held.append(f"{aside['inline_images']} inline image(s) and logo(s) set aside")
    if aside.get("signatures"):
        held.append(f"{aside['signatures']} digital signature file(s) kept with the message")
    held.extend(f"note: {n}" for n in (detail.get("notes") or [])[:5])
    if kind == "Message Quarantined":
        summary = "We received your message. It is held for a security review."
    elif docs:
        summary = f"We received your message and {detail.get('document_count')} document(s)."
    else:
        summary = "We received your message. It carried no documents."
    return summary, docs, held


def build_receipt(
    detail: Mapping[str, Any], to: str, settings: ReceiptSettings, now: datetime
) -> EmailMessage:
    """The receipt: text and a plain HTML part, both readable on a phone."""
    summary, docs, held = _lines(detail)
    reference = str(detail.get("reference") or "")
    case = detail.get("case")
    text = ["Hello,", "", summary, ""]
    if case:
        text += [f"Filed under: {case}", ""]
    if docs:
        text += ["Documents received:", *(f"- {d}" for d in docs), ""]
    if held:
        text += ["Held back or set aside:", *(f"- {h}" for h in held), ""]
    text += [f"Reference: {reference} (quote it if you contact us)", ""]
    if settings.contact:
        text += [settings.contact, ""]
    text += [settings.firm_name, "", "This is an automatic receipt; replies are not read."]

    esc = html.escape
    body = [f"<p>Hello,</p><p>{esc(summary)}</p>"]
    if case:
        body.append(f"<p>Filed under: <b>{esc(str(case))}</b></p>")
    if docs:
        body.append("<p>Documents received:</p><ul>")
        body += [f"<li>{esc(d)}</li>" for d in docs]
        body.append("</ul>")
    if held:
        body.append("<p>Held back or set aside:</p><ul>")
        body += [f"<li>{esc(h)}</li>" for h in held]
        body.append("</ul>")
    body.append(f"<p>Reference: <b>{esc(reference)}</b> (quote it if you contact us)</p>")
    if settings.contact:
        body.append(f"<p>{esc(settings.contact)}</p>")
    body.append(f"<p>{esc(settings.firm_name)}</p>")
    body.append("<p><small>This is an automatic receipt; replies are not read.</small></p>")
    page = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family: sans-serif; font-size: 16px; line-height: 1.4; '
        'max-width: 40em; margin: 0 auto; padding: 8px; word-wrap: break-word;">'
        + "".join(body)
        + "</body></html>"
    )

    message = EmailMessage()
    message["From"] = f"{settings.firm_name} <{settings.from_address}>"
    message["To"] = to
    count = int(detail.get("document_count") or 0)
    message["Subject"] = (
        f"Received: {count} document(s)" if count else "Received: your message"
    ) + (f" ({case})" if case else "")
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(
        idstring="receipt", domain=domain_of(settings.from_address) or None
    )
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back
    original = detail.get("rfc_message_id")
    if original:
        message["In-Reply-To"] = str(original)
        message["References"] = str(original)
    message["X-Mailroom-Reference"] = reference
    message.set_content("\n".join(text))
    message.add_alternative(page, subtype="html")
    return message
