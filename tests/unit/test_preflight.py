"""Preflight's checks with injected ports (what the emulator cannot answer: MX, verification,
receiving regions, account concurrency), and the MX parser on crafted DNS packets."""

from __future__ import annotations

import struct

import pytest

from mailroom.adapters.dns_mx import build_query, parse_mx
from mailroom.usecases import preflight as use
from mailroom.usecases.preflight import LookupFailed, ReceivingUnavailable


class Ses:
    def __init__(
        self,
        active: str | None = "mailroom-rules",
        status: str | None = "Success",
        receiving: bool = True,
        exists: bool = True,
    ) -> None:
        self.active, self.status, self.receiving, self.exists = active, status, receiving, exists

    def active_rule_set(self) -> str | None:
        if not self.receiving:
            raise ReceivingUnavailable("InvalidAction")
        return self.active

    def rule_set_exists(self, name: str) -> bool:
        return self.exists

    def domain_status(self, domain: str) -> str | None:
        return self.status


class Resolver:
    def __init__(self, records: list[tuple[int, str]] | Exception) -> None:
        self.records = records

    def mx(self, domain: str) -> list[tuple[int, str]]:
        if isinstance(self.records, Exception):
            raise self.records
        return self.records


class Concurrency:
    def __init__(self, limit: int, unreserved: int) -> None:
        self.limit, self.unreserved = limit, unreserved

    def account(self) -> tuple[int, int]:
        return self.limit, self.unreserved

    def reserved(self, function_name: str) -> int | None:
        return None


TARGET = use.Target(
    region="eu-west-1",
    domain="docs.example.com",
    rule_set_name="mailroom-rules",
    function_names=["mailroom-api"],
    alarm_topic_arn=None,
)
GOOD_MX = [(10, "inbound-smtp.eu-west-1.amazonaws.com.")]


def run(
    ses: Ses | None = None, mx: object = GOOD_MX, concurrency: Concurrency | None = None
) -> dict[str, use.Finding]:
    ses = ses or Ses()
    ports = use.Ports(
        ses=ses,
        resolver=Resolver(mx),
        concurrency=concurrency or Concurrency(1000, 1000),  # type: ignore[arg-type]
        subscribers=None,
        schema=None,
    )
    return {f.check: f for f in use.preflight(TARGET, ports).findings}


def test_a_ready_account_passes() -> None:
    found = run()
    assert {
        found[c].status
        for c in ("ses_receiving", "domain_verified", "mx_record", "rule_set", "concurrency")
    } == {"ok"}


@pytest.mark.parametrize(
    ("mx", "expected"),
    [
        ([], "has no MX record"),
        ([(10, "mx.other-provider.example.")], "mx.other-provider.example"),
        ([(10, "inbound-smtp.us-east-1.amazonaws.com")], "inbound-smtp.us-east-1"),
        ([*GOOD_MX, (20, "backup.example.")], "backup.example"),
        (LookupFailed("timeout"), "lookup of docs.example.com failed"),
    ],
)
def test_mx_must_point_only_at_this_regions_inbound_endpoint(mx: object, expected: str) -> None:
    finding = run(mx=mx)["mx_record"]
    assert finding.status == "blocks" and expected in finding.summary
    assert 'MX "10 inbound-smtp.eu-west-1.amazonaws.com"' in finding.fix


def test_unverified_domain_and_no_receiving_block() -> None:
    finding = run(ses=Ses(status="Pending"))["domain_verified"]
    assert finding.status == "blocks" and "Pending" in finding.summary
    found = run(ses=Ses(receiving=False))
    assert found["ses_receiving"].status == "blocks" and "rule_set" not in found


def test_concurrency_reports_the_room_above_the_100_floor() -> None:
    new_account = run(concurrency=Concurrency(50, 50))["concurrency"]
    assert new_account.status == "blocks" and "fewer than 100 unreserved" in new_account.summary
    room = run(concurrency=Concurrency(1000, 990))["concurrency"]
    assert room.status == "ok" and "up to 890 more may be reserved" in room.summary


def answer(query_id: int, rcode: int = 0, records: list[tuple[int, str]] = ()) -> bytes:  # type: ignore[assignment]
    question = build_query("docs.example.com", query_id)[12:]
    body = b""
    for preference, host in records:
        name = b"".join(bytes([len(p)]) + p.encode() for p in host.split(".")) + b"\x00"
        rdata = struct.pack("!H", preference) + name
        body += b"\xc0\x0c" + struct.pack("!HHIH", 15, 1, 300, len(rdata)) + rdata
    header = struct.pack("!HHHHHH", query_id, 0x8180 | rcode, 1, len(records), 0, 0)
    return header + question + body


def test_mx_parser_reads_answers_and_refuses_others() -> None:
    packet = answer(7, records=[(10, "inbound-smtp.eu-west-1.amazonaws.com"), (20, "b.example")])
    assert parse_mx(packet, 7) == [(10, "inbound-smtp.eu-west-1.amazonaws.com"), (20, "b.example")]
    assert parse_mx(answer(7, rcode=3), 7) == []  # NXDOMAIN: no MX
    with pytest.raises(LookupFailed):
        parse_mx(answer(8), 7)  # an answer to another query
    with pytest.raises(LookupFailed):
        parse_mx(answer(7, rcode=2), 7)  # SERVFAIL
    with pytest.raises(LookupFailed):
        parse_mx(packet[:40], 7)  # truncated
