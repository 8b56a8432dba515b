"""Load through the local SMTP door (slow tier): nothing lost, nothing copied, an idle stack flat.

Issue 9: 200 messages (2 x 50 KB attachments) from 4 clients and a 100 MB upload; every file
is recorded, moto copied no object (its copying calls are counted), and over 60 idle seconds
RSS grows by at most 10 % while the disk held (deleted-but-open files included) stays within
twice the bytes stored. Issue 7: 1,000 messages with bounded concurrency all end with a final
message record. Throughput is measured by `make bench` (bench/e2e.py), never asserted here.
"""

from __future__ import annotations

import base64
import io
import os
import random
import re
import smtplib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailroom.local.app import LocalMailroom
from mailroom.local.hooks import Counters
from mailroom.local.stack import StackConfig

from .conftest import MAIL_DIR, SUBMIT, run_cli

FINAL = {"extracted", "no_attachments", "quarantined", "rejected", "failed"}


def message(index: int, rng: random.Random, size: int = 50_000) -> bytes:
    boundary = f"load-{index:05d}"
    parts = b"".join(
        f"--{boundary}\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: attachment; filename="doc-{index}-{n}.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + base64.encodebytes(rng.randbytes(size)).replace(b"\n", b"\r\n")
        for n in (1, 2)
    )
    head = (
        f"From: client{index}@partner.example\r\nTo: {SUBMIT}\r\nSubject: load {index}\r\n"
        f"Message-ID: <load-{index}@partner.example>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nTwo documents.\r\n"
    ).encode()
    return head + parts + f"--{boundary}--\r\n".encode()


def send_all(stack: LocalMailroom, bodies: list[bytes], clients: int) -> list[str]:
    """`clients` SMTP connections at once (the bounded concurrency); the SES ids, in order."""
    assert stack.frontdoor is not None
    host, port = stack.frontdoor.host, stack.frontdoor.port
    ids: list[str | None] = [None] * len(bodies)

    def client(first: int) -> None:
        with smtplib.SMTP(host, port, timeout=300) as smtp:
            for index in range(first, len(bodies), clients):
                smtp.ehlo_or_helo_if_needed()
                smtp.mail(f"client{index}@partner.example")
                assert smtp.rcpt(SUBMIT)[0] == 250
                code, reply = smtp.data(bodies[index])
                assert code == 250, reply
                ids[index] = reply.decode().split()[-1]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(ids), "a client failed"
    return [i for i in ids if i]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def stack_rss(stack: LocalMailroom) -> int:
    """This process (emulator, door, runner) plus its sandboxes."""
    assert stack.runner is not None
    pids = [os.getpid()]
    for sandboxes in stack.runner._warm.values():
        pids.extend(s.process.pid for s in sandboxes if s.alive())
    return sum(rss_bytes(pid) for pid in pids)


def disk_held(state_dir: Path) -> int:
    """Bytes on disk in files this process holds open (deleted ones too) or keeps."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            info = fd.stat()
        except OSError:
            continue
        if fd.is_file() and (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
    for path in state_dir.rglob("*"):
        info = path.stat()
        if path.is_file() and (info.st_dev, info.st_ino) not in seen:
            total += info.st_blocks * 512
    return total


@pytest.fixture
def loaded_stack(tmp_path: Path) -> Iterator[LocalMailroom]:
    with LocalMailroom(
        StackConfig(submission_addresses=(SUBMIT,)), smtp_port=0, state_dir=tmp_path
    ) as stack:
        yield stack


@pytest.mark.slow
def test_a_200_message_load_and_a_100_mb_upload_leave_an_idle_stack_flat(
    loaded_stack: LocalMailroom, tmp_path: Path
) -> None:
    stack = loaded_stack
    assert stack.endpoint is not None
    copies_before = Counters.snapshot()
    rng = random.Random(9)
    # WHEN 200 messages arrive from 4 clients, and someone uploads 100 MB
    ids = send_all(stack, [message(i, rng) for i in range(200)], clients=4)
    big = rng.randbytes(100 * 1024 * 1024)
    s3 = stack.endpoint.client("s3")
    s3.upload_fileobj(io.BytesIO(big), stack.config.bucket, "incoming/upload-big/scan.bin")
    del big
    outcomes = stack.wait_for_messages(ids, timeout=600)
    stack.wait_idle(timeout=600)

    # THEN every file is recorded, and nothing was dead-lettered
    assert not stack.dead_letters()
    for outcome in outcomes:
        assert outcome.record is not None and str(outcome.record.outcome) == "extracted"
        assert len(outcome.files) == 2
    _, upload = stack.catalog().get_message("upload-big")  # an upload: files, no message
    assert [f.size for f in upload] == [100 * 1024 * 1024]

    # AND moto copied no object on the way (no ListObjectVersions, no FakeKey deep copy)
    assert Counters.snapshot() == copies_before

    # AND an idle stack stays flat
    stored = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.config.bucket):
        stored += sum(o["Size"] for o in page.get("Contents", []))
    stack.wait_idle()
    rss_start, disk_start = stack_rss(stack), disk_held(tmp_path)
    time.sleep(60)
    rss_end, disk_end = stack_rss(stack), disk_held(tmp_path)
    print(  # the figures, for the record
        f"stored {stored / 2**20:.0f} MB; RSS {rss_start / 2**20:.0f} -> {rss_end / 2**20:.0f} MB"
        f" over 60 idle s; disk held {disk_start / 2**20:.0f} -> {disk_end / 2**20:.0f} MB"
    )
    assert rss_end <= rss_start * 1.10
    assert disk_end <= 2 * stored
    assert Counters.snapshot() == copies_before


@pytest.mark.slow
def test_1000_messages_through_the_door_all_end_with_a_final_record(
    loaded_stack: LocalMailroom,
) -> None:
    stack = loaded_stack
    samples = [
        re.sub(rb"\r?\n", b"\r\n", path.read_bytes()) for path in sorted(MAIL_DIR.glob("*.eml"))
    ]
    # Each message its own Message-ID, so the CLI's view can be checked message by message.
    bodies = [
        b"Message-ID: <load1000-%d@sender.example>\r\n" % i
        + re.sub(rb"(?im)^message-id:[^\r\n]*\r\n", b"", samples[i % len(samples)], count=1)
        for i in range(1000)
    ]
    ids = send_all(stack, bodies, clients=4)
    assert len(set(ids)) == 1000

    outcomes = stack.wait_for_messages(ids, timeout=1200)

    assert not stack.dead_letters()
    final = [o.record.outcome for o in outcomes if o.record is not None]
    assert len(final) == 1000
    assert {str(outcome) for outcome in final} <= FINAL
    catalog = stack.catalog()
    for message_id in ids[:: len(samples) * 10]:  # and the catalogue agrees, sampled
        record, _ = catalog.get_message(message_id)
        assert record is not None and str(record.outcome) in FINAL

    # THEN `mailroom messages --outcome X --json`, summed over the outcomes, holds each message
    # exactly once (by its Message-ID), and `mailroom messages` without --outcome lists them all
    sent = {f"<load1000-{i}@sender.example>" for i in range(1000)}
    by_outcome: list[str] = []
    for outcome in sorted(FINAL | {"processing"}):
        listed = run_cli(stack, "messages", "--outcome", outcome, "--limit", "5000")
        by_outcome += [m["rfc_message_id"] for m in listed if m["rfc_message_id"] in sent]
    assert sorted(by_outcome) == sorted(sent)
    every = run_cli(stack, "messages", "--limit", "5000")
    assert {m["rfc_message_id"] for m in every} >= sent
    times = [m["received_at"] for m in every]
    assert times == sorted(times, reverse=True)  # newest first
