"""DNS through dnspython: TXT lookups for DKIM (mailroom.dkimcheck.TxtLookup, or a test
table), and MX lookups for `mailroom preflight` (ports.Resolver).

In the Lambda the resolver is the one in its /etc/resolv.conf (AWS's). A missing
record (NXDOMAIN, no TXT) is None; anything else that is not an answer (timeout, SERVFAIL, no
nameservers) raises, so dkimcheck reports "DNS failure" and the forward is not verified.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from mailroom.dkimcheck import DNS_TIMEOUT_S, TxtLookup, static_lookup
from mailroom.ports import LookupFailed

if TYPE_CHECKING:
    import dns.resolver

# dnspython is imported where it is used, not here: the functions' runtime imports this module,
# and dnspython costs a tenth of a second of every cold start that looks nothing up.


def dns_txt_lookup(name: str) -> str | None:
    import dns.resolver  # noqa: PLC0415 (see the module's note)

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=DNS_TIMEOUT_S, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    for record in answer:
        # A record longer than 255 characters comes as several strings: one value.
        return b"".join(record.strings).decode("ascii", "replace")
    return None


def txt_lookup(test_records: str | None) -> TxtLookup:
    """The DNS resolver, or (TEST ONLY, Settings.dkim_test_records) a JSON table of records."""
    if test_records:
        return static_lookup(json.loads(Path(test_records).read_text()))
    return dns_txt_lookup


class MxResolver:
    """MX records of a domain, best preference first (ports.Resolver). No MX (NXDOMAIN, no
    answer) is an empty list; no answer at all (timeout, SERVFAIL) raises LookupFailed, which
    preflight tells apart from "no MX"."""

    def __init__(self, resolver: dns.resolver.Resolver | None = None, timeout: float = 5.0):
        import dns.resolver  # noqa: PLC0415 (see the module's note)

        self._resolver = resolver or dns.resolver.Resolver()
        self._timeout = timeout

    def mx(self, domain: str) -> list[tuple[int, str]]:
        import dns.exception  # noqa: PLC0415 (see the module's note)
        import dns.resolver  # noqa: PLC0415

        try:
            answer = self._resolver.resolve(domain, "MX", lifetime=self._timeout, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise LookupFailed(f"{domain}: {exc}") from exc
        return sorted(
            (int(record.preference), record.exchange.to_text().rstrip(".").lower())
            for record in answer
        )


__all__ = ["MxResolver", "dns_txt_lookup", "txt_lookup"]
