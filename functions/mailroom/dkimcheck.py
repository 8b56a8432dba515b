"""Does a forwarded message's own DKIM signature hold, aligned with its From? (RFC 6376)

A message forwarded as an attachment usually keeps its original headers and body byte for byte,
so the original author's DKIM signature can still be checked: if it verifies and its signing
domain (d=) is the From domain or a parent of it, the forwarded From is `verified`, whoever
forwarded it. The check is dkimpy's; DNS goes through `TxtLookup`, which the caller supplies
(dnspython in the Lambda, a table of test records in tests and local mode), so this module does
no I/O of its own.

What never passes:
- a DNS failure (timeout, SERVFAIL, no resolver): the lookup raises, the result is "not
  verified" with the reason; a missing record (NXDOMAIN, no TXT) is a failure too;
- a signature with an `l=` body length: it covers only a prefix of the body, and anything
  appended after it (an attachment) would ride on the signature;
- a signature whose `h=` does not cover From, or a message with no From, several From fields,
  or a From with several addresses (which one the signature vouches for would be ambiguous);
- a From that is not the address the extractor recorded as the original sender;
- a key under 1024 bits (dkimpy's `minkey`), an expired signature (`x=`), a message larger
  than MAX_VERIFY_BYTES (it is not held in memory to be checked).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import TYPE_CHECKING

from mailroom.policy import aligned, domain_of

if TYPE_CHECKING:
    import dkim

log = logging.getLogger(__name__)

# A forwarded message is buffered (once) to be checked; a larger one is not verified.
MAX_VERIFY_BYTES = 10 * 1024 * 1024
MAX_SIGNATURES = 5  # signatures tried per message (each may cost a DNS lookup)
DNS_TIMEOUT_S = 3.0

# name ("sel._domainkey.example.com", no trailing dot) -> the TXT record's text, or None when
# there is none (NXDOMAIN, no TXT record). Raises on any failure to get an answer.
TxtLookup = Callable[[str], str | None]


class DnsFailure(Exception):
    """The resolver could not answer (timeout, SERVFAIL, no configuration)."""


@dataclass(frozen=True, slots=True)
class DkimResult:
    verified: bool
    reason: str  # "dkim=pass d=client.example" or why not
    domain: str | None = None  # the d= of the signature that verified
    author: str | None = None  # the From address it vouches for (lower case), when verified


def verify_forward(message: bytes, from_address: str | None, lookup: TxtLookup) -> DkimResult:
    """Verify `message` (a forwarded message's bytes) for `from_address` (its recorded From)."""
    if len(message) > MAX_VERIFY_BYTES:
        return DkimResult(False, f"too large to verify (over {MAX_VERIFY_BYTES} bytes)")
    headers = BytesHeaderParser(policy=compat32).parsebytes(message)
    froms = headers.get_all("from") or []
    if len(froms) != 1:
        return DkimResult(False, f"{len(froms)} From fields")
    addresses = [a.lower() for _, a in getaddresses([str(froms[0])]) if "@" in a]
    if len(addresses) != 1:
        return DkimResult(False, "From names no single address")
    author = addresses[0]
    if from_address is not None and author != from_address.lower():
        return DkimResult(False, "From differs from the recorded original sender")
    from_domain = domain_of(author)
    if from_domain is None:
        return DkimResult(False, "no From domain")

    # Imported here, not at the top: dkimpy (and the dnspython it loads) cost a third of a
    # second of every cold start, and only a forwarded message is ever verified.
    import dkim  # noqa: PLC0415

    checker = dkim.DKIM(message, minkey=1024, timeout=int(DNS_TIMEOUT_S))
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    if count == 0:
        return DkimResult(False, "no DKIM signature")
    reasons: list[str] = []
    for idx in range(min(count, MAX_SIGNATURES)):
        result = _one_signature(checker, idx, from_domain, lookup)
        if result.verified:
            return DkimResult(True, result.reason, result.domain, author)
        reasons.append(result.reason)
    return DkimResult(False, "; ".join(reasons)[:300])


def _one_signature(checker: dkim.DKIM, idx: int, from_domain: str, lookup: TxtLookup) -> DkimResult:
    import dkim  # noqa: PLC0415 (loaded by verify_forward already; see there)

    try:
        prep = checker.verify_headerprep(idx)
        if not prep:
            return DkimResult(False, "no DKIM signature")
        sig, include_headers, _ = prep
        domain = sig[b"d"].decode("ascii", "replace").lower().rstrip(".")
        if b"l" in sig:
            return DkimResult(False, f"d={domain}: l= covers only part of the body")
        if b"from" not in include_headers:
            return DkimResult(False, f"d={domain}: From not signed")
        if not aligned(domain, from_domain):
            return DkimResult(False, f"d={domain} not aligned with {from_domain}")
        failure: list[str] = []
        ok = checker.verify(idx, dnsfunc=_dnsfunc(lookup, failure))
    except DnsFailure as exc:
        return DkimResult(False, f"DNS failure: {exc}"[:200])
    except dkim.DKIMException as exc:
        return DkimResult(False, f"{type(exc).__name__}: {exc}"[:200])
    except Exception as exc:  # a library bug is never a pass
        log.warning("dkim verification raised", extra={"error": repr(exc)[:200]})
        return DkimResult(False, f"error: {type(exc).__name__}")
    if failure:  # dkimpy swallows some exceptions: a failed lookup is never a pass
        return DkimResult(False, f"DNS failure: {failure[0]}"[:200])
    if not ok:
        return DkimResult(False, f"d={domain}: signature does not verify")
    return DkimResult(True, f"dkim=pass d={domain}", domain)


def _dnsfunc(lookup: TxtLookup, failure: list[str]) -> Callable[..., bytes | None]:
    def dnsfunc(name: bytes, timeout: float = DNS_TIMEOUT_S) -> bytes | None:
        text = name.decode("ascii", "replace").rstrip(".")
        try:
            value = lookup(text)
        except Exception as exc:
            failure.append(f"{text}: {type(exc).__name__}")
            raise DnsFailure(f"{text}: {type(exc).__name__}") from exc
        return value.encode() if value is not None else None

    return dnsfunc


def static_lookup(records: dict[str, str]) -> TxtLookup:
    """A resolver answering from a fixed table (tests; local mode's test-only records file)."""
    table = {k.lower().rstrip("."): v for k, v in records.items() if not k.startswith("_comment")}

    def lookup(name: str) -> str | None:
        return table.get(name.lower().rstrip("."))

    return lookup


def no_lookup(name: str) -> str | None:
    """The resolver for a context that must not verify (nothing configured): always fails."""
    raise DnsFailure("no DNS resolver configured")
