"""Load through the local SMTP door (slow tier): nothing copied, an idle stack flat.

Issue 9: 200 messages (2 x 50 KB attachments) from 4 clients and a 100 MB upload; every file
is recorded, moto copied no object (its copying calls are counted), and over 60 idle seconds
RSS grows by at most 10 % while the disk held (deleted-but-open files included) stays within
twice the bytes stored. Throughput is measured by `make bench` (bench/e2e.py), never asserted.
"""

from __future__ import annotations

import io
import os
import random
import time
from pathlib import Path

import pytest

from mailroom.local.app import LocalMailroom
from mailroom.local.hooks import Counters

from .loadgen import message, send_all


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
