"""Probes: the mail `mailroom smoke` and the canary send to the stack itself (issue 18).

A message is a probe only when all of these hold, each checked here and nowhere else:

1. its top-level header section carries exactly one marker `X-Mailroom-Probe: <kind> <tag>`
   (`kind` smoke or canary). The marker is read from SES's own list of the message's headers
   (`mail.headers`), which holds the outer message's headers only: a marker inside a forwarded
   or attached message is never seen. When SES truncated that list, nothing is a probe.
2. its From header names exactly one address, whose domain is the stack's own mail domain
   (`mail_domain`, exactly: a subdomain or a look-alike such as own.example.evil.example is
   another domain);
3. SES's DKIM and DMARC verdicts are both PASS, and one of the message's DKIM-Signature headers
   (as SES lists them) has `d=` exactly that domain. DMARC PASS alone may rest on SPF, and a
   DKIM PASS alone on another signer's signature (any SES sender's `amazonses.com` one): with
   the aligned signature, the PASS is this stack's own SES identity's (Easy DKIM), which only
   this account can sign with.

Anyone can write the marker; without the rest, the message is ordinary mail (and a log line
says why it was not taken for a probe). A recognised probe is recorded like any message, but its
files get the role `probe` (set aside from the default listings, like inline images), its
records carry `probe` and an `expires_at` (DynamoDB TTL), and its objects a tag that a
lifecycle rule expires (infra/dynamodb.tf, infra/s3.tf). `model.is_probe` is the one predicate
that receipts and events consult: a probe never produces either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailroom.policy import Verdicts

PROBE_HEADER = "X-Mailroom-Probe"
SMOKE = "smoke"
CANARY = "canary"
KINDS = (SMOKE, CANARY)
ROLE = "probe"  # the role of a probe's files (set aside, like every non-document role)
# The object tag the extractor puts on a probe's files; infra/s3.tf expires what carries it.
TAG_KEY = "mailroom-probe"
TAG_VALUE = "true"
TAGGING = f"{TAG_KEY}={TAG_VALUE}"
DEFAULT_EXPIRY_DAYS = 2
MAX_EXPIRY_DAYS = 365

_MARKER = re.compile(r"^(smoke|canary) ([A-Za-z0-9-]{1,64})$")


def marker(kind: str, tag: str) -> str:
    """The header value a probe sender writes: `<kind> <tag>`."""
    value = f"{kind} {tag}"
    if not _MARKER.match(value):
        raise ValueError(f"not a probe marker: {value!r}")
    return value


def markers_in(headers: Iterable[Mapping[str, Any]] | None) -> list[str] | None:
    """The marker values in SES's `mail.headers` list (top-level headers only); None when the
    list is unknown (SES truncated it)."""
    if headers is None:
        return None
    name = PROBE_HEADER.lower()
    return [
        str(h.get("value") or "").strip() for h in headers if str(h.get("name", "")).lower() == name
    ]


@dataclass(frozen=True, slots=True)
class Recognition:
    probe: str | None  # "smoke" or "canary"; None: ordinary mail
    tag: str | None = None
    reason: str = ""  # why it is, or is not, a probe (for the log line)

    @property
    def refused(self) -> bool:
        """A marker was there, but the message is not taken for a probe."""
        return self.probe is None and self.reason != "no marker"


def recognise(
    markers: Sequence[str] | None,
    from_addresses: Sequence[str],
    verdicts: Verdicts,
    mail_domain: str | None,
    dkim_domains: Sequence[str] | None,
) -> Recognition:
    """Is this message one of the stack's own probes? See the module's rules 1-3."""
    if markers is None:
        return Recognition(None, reason="SES truncated the headers: no marker can be read")
    if not markers:
        return Recognition(None, reason="no marker")
    if len(markers) > 1:
        return Recognition(None, reason=f"{len(markers)} {PROBE_HEADER} headers, not one")
    found = _MARKER.match(markers[0])
    if found is None:
        return Recognition(None, reason=f"malformed {PROBE_HEADER} header")
    kind, tag = found.group(1), found.group(2)
    if not mail_domain:
        return Recognition(None, tag=tag, reason="the stack's mail domain is not configured")
    addresses = [a.strip().lower() for a in from_addresses if a.strip()]
    if len(addresses) != 1:
        return Recognition(None, tag=tag, reason=f"From names {len(addresses)} addresses, not one")
    domain = addresses[0].rpartition("@")[2]
    if domain != mail_domain.lower():
        return Recognition(None, tag=tag, reason=f"From domain {domain!r} is not the stack's own")
    if verdicts.dkim != "PASS" or verdicts.dmarc != "PASS":
        return Recognition(
            None,
            tag=tag,
            reason=f"not authenticated (DKIM {verdicts.dkim}, DMARC {verdicts.dmarc})",
        )
    if dkim_domains is None or domain not in {d.lower() for d in dkim_domains}:
        return Recognition(
            None, tag=tag, reason=f"no DKIM signature with d={domain} in the headers"
        )
    return Recognition(
        kind, tag=tag, reason="own domain, aligned DKIM signature, DKIM and DMARC PASS"
    )


# A probe's records outlive its objects by this much. S3's lifecycle expires the objects after
# `days` (rounded up to the next midnight UTC) and DynamoDB deletes an expired item typically
# within two days: with the records kept longer, `mailroom doctor` never meets a probe's raw
# message or file without its record (a record whose objects are gone it does not look for: a
# probe's message record is outside the outcome partitions it reads).
RECORD_GRACE_DAYS = 2


def expires_at(received_at: str, days: int) -> int:
    """The DynamoDB TTL value of a probe's records: epoch seconds, `days` after receipt (when
    the lifecycle rule expires its objects) plus RECORD_GRACE_DAYS."""
    moment = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    return int(moment.timestamp()) + (days + RECORD_GRACE_DAYS) * 86400
