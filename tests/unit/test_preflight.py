"""Preflight's checks with injected ports (what the emulator cannot answer: MX, verification,
receiving regions, account concurrency), and the MX parser on crafted DNS packets."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset
import pytest

from mailroom.adapters.dns import MxResolver
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


class _Nameserver:
    """A one-question DNS server on loopback UDP: answers MX for docs.example.com, NXDOMAIN
    for nx.example, SERVFAIL for fail.example, and nothing for silent.example."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            name = query.question[0].name.to_text()
            if name == "silent.example.":
                continue
            response = dns.message.make_response(query)
            if name == "docs.example.com.":
                for preference, host in (
                    (20, "B.example."),
                    (10, "inbound-smtp.eu-west-1.amazonaws.com."),
                ):
                    response.answer.append(
                        dns.rrset.from_text(name, 300, "IN", "MX", f"{preference} {host}")
                    )
            else:
                response.set_rcode(
                    dns.rcode.NXDOMAIN if name == "nx.example." else dns.rcode.SERVFAIL
                )
            self.sock.sendto(response.to_wire(), peer)


def test_mx_resolver_reads_answers_and_tells_no_mx_from_no_answer() -> None:
    server = _Nameserver()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    mx = MxResolver(resolver, timeout=1.0)
    try:
        assert mx.mx("docs.example.com") == [
            (10, "inbound-smtp.eu-west-1.amazonaws.com"),
            (20, "b.example"),
        ]
        assert mx.mx("nx.example") == []  # NXDOMAIN: no MX
        for failing in ("fail.example", "silent.example"):  # SERVFAIL, then no answer at all
            with pytest.raises(LookupFailed):
                mx.mx(failing)
    finally:
        server.stop.set()
        server.thread.join(timeout=5)
        server.sock.close()
