"""DNS TXT lookups for DKIM (mailroom.dkimcheck.TxtLookup): dnspython, or a test table.

In the Lambda the resolver is the one in its /etc/resolv.conf (AWS's). A missing
record (NXDOMAIN, no TXT) is None; anything else that is not an answer (timeout, SERVFAIL, no
nameservers) raises, so dkimcheck reports "DNS failure" and the forward is not verified.
"""

from __future__ import annotations

import json
from pathlib import Path

import dns.resolver

from mailroom.dkimcheck import DNS_TIMEOUT_S, TxtLookup, static_lookup


def dns_txt_lookup(name: str) -> str | None:
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


__all__ = ["dns_txt_lookup", "txt_lookup"]
