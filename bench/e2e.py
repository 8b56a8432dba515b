"""End to end through the local stack: SMTP in, file records out.

Usage: `make bench` (or `.venv/bin/python bench/e2e.py [--messages 200] [--clients 4]`).

A fresh `LocalMailroom` (emulator, SMTP door, worker processes) on free loopback ports. N
generated messages with two 50 KB attachments each are sent by C SMTP clients at once (threads
of a separate sender process, as mail programs would be; one connection each, one transaction
per message; times are CLOCK_MONOTONIC, shared by both processes). A message counts as
recorded when the record function has finished for each of its files (the runner reports each
completed invocation).
Reported: the accept rate (messages over the time from the first send to the last 250 reply),
the end-to-end rate (from the first send to the last file record), p50/p95 of the latency from
a message's 250 reply to its last file record, and the stack's RSS growth and moto's copying
calls (ListObjectVersions, FakeKey deep copies), which must be zero.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

ROOT = Path(__file__).resolve().parent.parent
SUBMIT = "submit@mailroom.test"
TARGET_RATE = 10.0
TARGET_RATIO = 0.5


def message(index: int, rng: random.Random, size: int = 50_000) -> bytes:
    boundary = f"bench-{index:05d}"
    parts = []
    for number in (1, 2):
        data = base64.encodebytes(rng.randbytes(size)).replace(b"\n", b"\r\n")
        parts.append(
            f"--{boundary}\r\nContent-Type: application/pdf\r\n"
            f'Content-Disposition: attachment; filename="doc-{index:05d}-{number}.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + data
        )
    head = (
        f"From: Client {index} <client{index}@partner.example>\r\nTo: {SUBMIT}\r\n"
        f"Subject: bench {index}\r\nMessage-ID: <bench-{index}@partner.example>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nTwo documents attached.\r\n"
    ).encode()
    return head + b"".join(parts) + f"--{boundary}--\r\n".encode()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(messages: int, clients: int, files_per_message: int = 2) -> dict[str, Any]:
    from mailroom.local.app import LocalMailroom  # noqa: PLC0415 (moto loads here)
    from mailroom.local.hooks import Counters  # noqa: PLC0415
    from mailroom.local.stack import StackConfig  # noqa: PLC0415

    recorded: dict[str, list[float]] = {}
    lock = threading.Lock()
    done = threading.Event()

    def on_complete(function: str, event: dict[str, Any], ok: bool) -> None:
        if not function.endswith("record-metadata"):
            return
        key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
        message_id = key.split("/")[1]
        with lock:
            recorded.setdefault(message_id, []).append(time.monotonic())
            complete = sum(1 for t in recorded.values() if len(t) >= files_per_message)
        if complete >= messages:
            done.set()

    with (
        tempfile.TemporaryDirectory(prefix="mailroom-bench-e2e-") as tmp,
        LocalMailroom(StackConfig(), smtp_port=0, state_dir=Path(tmp)) as stack,
    ):
        assert stack.runner is not None
        stack.runner.on_complete = on_complete
        rss_before = rss_mb()
        copies_before = Counters.snapshot()
        assert stack.frontdoor is not None
        sender = subprocess.run(  # noqa: S603 - our interpreter, this script
            [
                sys.executable,
                __file__,
                "--send",
                f"{stack.frontdoor.host}:{stack.frontdoor.port}",
                "--messages",
                str(messages),
                "--clients",
                str(clients),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        report = json.loads(sender.stdout)
        started = float(report["started"])
        accepted: dict[str, float] = report["accepted"]
        last_accept = max(accepted.values())
        if not done.wait(600):
            raise RuntimeError(f"only {len(recorded)} of {messages} messages recorded")
        with lock:
            finished = {m: max(t) for m, t in recorded.items()}
        rss_after = rss_mb()
        api = api_latency(stack)
        copies = {k: v - copies_before.get(k, 0) for k, v in Counters.snapshot().items()}
        dead = len(stack.dead_letters())
    last_record = max(finished.values())
    latencies = sorted(finished[m] - accepted[m] for m in accepted)
    return {
        "messages": messages,
        "clients": clients,
        "accept_rate": messages / (last_accept - started),
        "e2e_rate": messages / (last_record - started),
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, int(len(latencies) * 0.95) - 1)],
        "rss_growth": rss_after - rss_before,
        "copies": sum(copies.values()),
        "dead_letters": dead,
        **api,
    }


def api_latency(stack: Any, calls: int = 30) -> dict[str, float]:
    """`GET /files?limit=50` through the local HTTP API (adapter, runner, handler) against the
    same use case called in this process: the ratio is what the API path adds to a query."""
    import urllib.request  # noqa: PLC0415

    from mailroom.usecases import files  # noqa: PLC0415

    assert stack.api is not None
    request = urllib.request.Request(  # noqa: S310 - loopback, our own server
        f"{stack.api.url}/files?limit=50", headers={"Authorization": f"Bearer {stack.api.token}"}
    )
    catalog = stack.catalog()

    def via_api() -> None:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            assert len(json.load(answer)["files"]) == 50

    def direct() -> None:
        assert len(files.list_files(catalog, files.FileQuery(limit=50)).files) == 50

    start = time.monotonic()
    via_api()  # the api function's cold start
    cold = time.monotonic() - start
    medians = {}
    for name, call in (("api", via_api), ("direct", direct)):
        times = []
        for _ in range(calls):
            start = time.monotonic()
            call()
            times.append(time.monotonic() - start)
        medians[name] = statistics.median(times)
    return {"api_cold": cold, "api_median": medians["api"], "direct_median": medians["direct"]}


def send(target: str, messages: int, clients: int) -> None:
    """The sender process: C clients in threads; prints the start and each 250's time."""
    host, _, port = target.rpartition(":")
    rng = random.Random(20261129)  # noqa: S311 - repeatable test data
    bodies = [message(i, rng) for i in range(messages)]
    accepted: dict[str, float] = {}
    lock = threading.Lock()

    def client(share: list[bytes]) -> None:
        with smtplib.SMTP(host, int(port), timeout=120) as smtp:
            for raw in share:
                smtp.ehlo_or_helo_if_needed()
                smtp.mail("client@partner.example")
                smtp.rcpt(SUBMIT)
                code, reply = smtp.data(raw)
                if code != 250:
                    raise RuntimeError(f"refused: {code} {reply!r}")
                with lock:
                    accepted[reply.decode().split()[-1]] = time.monotonic()

    threads = [threading.Thread(target=client, args=(bodies[n::clients],)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"started": started, "accepted": accepted}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--send", metavar="HOST:PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        send(args.send, args.messages, args.clients)
        return 0
    sys.path.insert(0, str(ROOT / "functions"))
    result = run(args.messages, args.clients)
    ratio = result["e2e_rate"] / result["accept_rate"]
    ok = (
        result["e2e_rate"] >= TARGET_RATE
        and ratio >= TARGET_RATIO
        and result["copies"] == 0
        and result["dead_letters"] == 0
    )
    print()
    print(
        f"end-to-end (local stack, {result['messages']} messages x 2 x 50 KB, "
        f"{result['clients']} SMTP clients):"
    )
    print(
        f"  accept {result['accept_rate']:.1f} msg/s | end-to-end {result['e2e_rate']:.1f} msg/s "
        f"({ratio:.2f}x accept) | accept->record p50 {result['p50']:.2f} s, "
        f"p95 {result['p95']:.2f} s | RSS +{result['rss_growth']:.0f} MB | "
        f"object copies {result['copies']} | dead letters {result['dead_letters']}"
    )
    print(
        f"  staff API: GET /files?limit=50 median {result['api_median'] * 1000:.0f} ms "
        f"({result['api_median'] / result['direct_median']:.2f}x the use case in-process, "
        f"{result['direct_median'] * 1000:.0f} ms); first call {result['api_cold'] * 1000:.0f} ms"
    )
    print(
        f"  target: end-to-end >= {TARGET_RATE:.0f} msg/s and >= {TARGET_RATIO}x accept: "
        f"{'met' if ok else 'NOT met'}"
    )
    print(
        "reproduce: make bench   (or: .venv/bin/python bench/e2e.py "
        f"--messages {result['messages']} --clients {result['clients']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
