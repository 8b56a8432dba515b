"""A small MX lookup over the system's resolver (UDP, RFC 1035), for `mailroom preflight`.

The standard library has no DNS client and one query type does not justify a dependency: this
sends one MX query to the first nameserver in /etc/resolv.conf and parses the answer (name
compression included). Tests inject their own resolver (ports.Resolver) and check
the parser on crafted packets.
"""

from __future__ import annotations

import secrets
import socket
import struct
from pathlib import Path

from mailroom.ports import LookupFailed

TYPE_MX = 15
CLASS_IN = 1


def build_query(domain: str, query_id: int) -> bytes:
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # recursion desired
    name = b"".join(
        bytes([len(label)]) + label.encode("ascii") for label in domain.rstrip(".").split(".")
    )
    return header + name + b"\x00" + struct.pack("!HH", TYPE_MX, CLASS_IN)


def _read_name(packet: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    end = None
    for _ in range(128):  # bounded: a pointer loop cannot spin
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            pointer = struct.unpack("!H", packet[offset : offset + 2])[0] & 0x3FFF
            end = offset + 2 if end is None else end
            offset = pointer
            continue
        if length == 0:
            return ".".join(labels), (offset + 1 if end is None else end)
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise LookupFailed("malformed DNS answer (name too long)")


def parse_mx(packet: bytes, query_id: int) -> list[tuple[int, str]]:
    try:
        qid, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", packet[:12])
        if qid != query_id:
            raise LookupFailed("DNS answer for another query")
        rcode = flags & 0x000F
        if rcode == 3:  # NXDOMAIN: the domain does not exist, so it has no MX
            return []
        if rcode:
            raise LookupFailed(f"DNS error code {rcode}")
        offset = 12
        for _ in range(qdcount):
            _, offset = _read_name(packet, offset)
            offset += 4
        records: list[tuple[int, str]] = []
        for _ in range(ancount):
            _, offset = _read_name(packet, offset)
            rtype, _, _, length = struct.unpack("!HHIH", packet[offset : offset + 10])
            offset += 10
            if rtype == TYPE_MX:
                preference = struct.unpack("!H", packet[offset : offset + 2])[0]
                host, _ = _read_name(packet, offset + 2)
                records.append((preference, host))
            offset += length
        return records
    except (struct.error, IndexError) as exc:
        raise LookupFailed(f"malformed DNS answer: {exc}") from exc


def system_nameserver(resolv_conf: Path = Path("/etc/resolv.conf")) -> str:
    try:
        for line in resolv_conf.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1]
    except OSError:
        pass
    raise LookupFailed(f"no nameserver in {resolv_conf}")


class SystemResolver:
    def __init__(self, nameserver: str | None = None, timeout: float = 5.0) -> None:
        self.nameserver = nameserver
        self.timeout = timeout

    def mx(self, domain: str) -> list[tuple[int, str]]:
        server = self.nameserver or system_nameserver()
        query_id = secrets.randbelow(0x10000)
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout)
            try:
                sock.sendto(build_query(domain, query_id), (server, 53))
                packet, _ = sock.recvfrom(4096)
            except OSError as exc:
                raise LookupFailed(f"no answer from {server}: {exc}") from exc
        return parse_mx(packet, query_id)
