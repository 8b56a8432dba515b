"""`mailroom import` speed: messages/s through the whole intake path, and the mbox reader.

Usage: part of `make bench` (or `.venv/bin/python bench/imports.py [--messages N]`).

- import: an mbox of N generated messages (one or two small PDFs each) imported in-process
  against moto (S3 and DynamoDB in this process): raw kept, extraction, message and file
  records, 4 at a time (`--jobs` default). Then the same mbox again, where every message is
  skipped (the resume path).
- reader: a generated ~90 MB mbox read by `read_mailbox` (every message streamed and hashed)
  against the stdlib's `mailbox.mbox` (every message as bytes), each in a fresh process:
  rate and peak extra RSS, same run, so the ratio is what counts on any machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
TIMES = "\u00d7"


def _message(n: int, attachments: list[bytes]) -> bytes:
    boundary = f"imp-bench-{n}"
    lines = [
        f"Message-ID: <bench-{n}@old.example>",
        f"From: Client {n % 13} <client{n % 13}@old.example>",
        "To: office@firm.example",
        f"Subject: archive {n}",
        f"Date: Mon, {1 + n % 28:02d} Jun 2020 10:00:00 +0000",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain",
        "",
        "From the archive.",
    ]
    for i, data in enumerate(attachments):
        encoded = base64.b64encode(data).decode()
        lines += [
            f"--{boundary}",
            f'Content-Type: application/pdf; name="d{n}-{i}.pdf"',
            "Content-Disposition: attachment",
            "Content-Transfer-Encoding: base64",
            "",
            *(encoded[j : j + 76] for j in range(0, len(encoded), 76)),
        ]
    lines.append(f"--{boundary}--")
    return "\n".join(lines).encode() + b"\n"


def write_mbox(path: Path, count: int, size: int, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not a secret
    with path.open("wb") as out:
        for n in range(count):
            files = [rng.randbytes(size) for _ in range(1 + n % 2)]
            data = _message(n, files).replace(b"\nFrom ", b"\n>From ")
            out.write(b"From client@old.example Mon Jun  1 10:00:00 2020\n" + data + b"\n")


def bench_import(directory: Path, count: int) -> tuple[float, float]:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    from mailroom.adapters.catalog import Catalog  # noqa: PLC0415
    from mailroom.adapters.inventory import RecordInventory  # noqa: PLC0415
    from mailroom.adapters.s3 import S3Store  # noqa: PLC0415
    from mailroom.model import table_definition  # noqa: PLC0415
    from mailroom.settings import Settings  # noqa: PLC0415
    from mailroom.usecases.imports import (  # noqa: PLC0415
        Importer,
        import_paths,
        intake_steps,
    )

    path = directory / "archive.mbox"
    write_mbox(path, count, 2048, 20261129)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        ddb = boto3.client("dynamodb")
        ddb.create_table(**table_definition("bench"))
        settings = Settings(bucket="bench", table="bench")
        store = S3Store(s3, "bench")
        extract, record = intake_steps(settings, store, Catalog(ddb, "bench"))
        importer = Importer(settings, store, RecordInventory(ddb, "bench"), extract, record)
        rates = []
        for expected in ("imported", "skipped"):
            start = time.perf_counter()
            result = import_paths([path], importer, jobs=4)  # the CLI default
            seconds = time.perf_counter() - start
            done = len(result.imported) if expected == "imported" else len(result.skipped)
            if done != count or result.failed:
                raise SystemExit(f"import bench: {expected} {done} of {count}: {result.failed}")
            rates.append(count / seconds)
    return rates[0], rates[1]


def reader_worker(engine: str, path: Path) -> None:
    import mailbox  # noqa: PLC0415

    from mailroom.usecases.imports import read_mailbox  # noqa: PLC0415

    def rss(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = rss("VmRSS")
    except OSError:
        before = rss("VmHWM")
    start = time.perf_counter()
    count = 0
    if engine == "mailroom":
        for message in read_mailbox(path):
            digest = hashlib.sha256()
            while chunk := message.stream.read(MB):
                digest.update(chunk)
            count += 1
    else:
        box = mailbox.mbox(str(path))
        for key in box.iterkeys():
            hashlib.sha256(box.get_bytes(key)).hexdigest()
            count += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak": rss("VmHWM") - before, "count": count}))


def bench_reader(directory: Path) -> dict[str, dict[str, float]]:
    path = directory / "large.mbox"
    write_mbox(path, 48, 1000 * 1000, 7)  # ~90 MB, base64
    results = {}
    for engine in ("mailroom", "stdlib"):
        out = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, __file__, "--reader", engine, str(path)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        data = json.loads(out.stdout)
        data["mb"] = path.stat().st_size / MB
        results[engine] = data
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--reader", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        reader_worker(args.reader[0], Path(args.reader[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="mailroom-bench-import-") as tmp:
        first, again = bench_import(Path(tmp), args.messages)
        reader = bench_reader(Path(tmp))
    ours, theirs = reader["mailroom"], reader["stdlib"]
    size = ours["mb"]
    ours_rate, theirs_rate = size / ours["seconds"], size / theirs["seconds"]
    print()
    print(f"mailroom import benchmark ({args.messages} messages, in-process moto)")
    print(
        f"  mbox reader, {size:.0f} MB: mailroom {ours_rate:.0f} MB/s,"
        f" peak +{ours['peak'] / MB:.0f} MB; stdlib mailbox {theirs_rate:.0f} MB/s,"
        f" peak +{theirs['peak'] / MB:.0f} MB"
    )
    command = f".venv/bin/python bench/imports.py --messages {args.messages}"
    print(f"reproduce: make bench   (or: {command})")
    print(
        f"bench: import: {first:.0f} messages/s (again, all skipped: {again:.0f} messages/s); "
        f"mbox reader {ours_rate / theirs_rate:.1f}{TIMES} stdlib, peak +{ours['peak'] / MB:.0f} MB"
        f" on {size:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
