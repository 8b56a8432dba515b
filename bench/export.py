"""`mailroom export` of a large case: throughput and the CLI's peak memory (issue 22).

Usage: part of `make bench` (or `.venv/bin/python bench/export.py [--mb 1024] [--files 8]`).

An emulator (moto server, its own process) holds a case of `--files` documents totalling
`--mb` MB (random bytes, uploaded in parts) with their file records; `mailroom export` runs as
a child process against it, and its peak RSS (getrusage of the children) is what is reported:
the bytes stream from S3 into the zip, so it should not grow with the case.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailroom.adapters.catalog import Catalog
from mailroom.local.emulator import Emulator
from mailroom.model import FileRecord, table_definition

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
BUCKET, TABLE, CASE = "bench-export", "bench-export", "bench-big"
LIMIT_MB = 64  # issue 22's acceptance: a 1 GB case under 64 MB


def _upload(s3: object, key: str, size: int) -> str:
    """A multipart upload of `size` random bytes, 16 MB at a time; returns the sha256."""
    digest = hashlib.sha256()
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)  # type: ignore[attr-defined]
    parts, number, left = [], 1, size
    while left:
        chunk = os.urandom(min(16 * MB, left))
        digest.update(chunk)
        etag = s3.upload_part(  # type: ignore[attr-defined]
            Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=chunk
        )["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
        number, left = number + 1, left - len(chunk)
    s3.complete_multipart_upload(  # type: ignore[attr-defined]
        Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=1024, help="size of the case (default 1024)")
    parser.add_argument("--files", type=int, default=8, help="documents in it (default 8)")
    args = parser.parse_args()
    emulator = Emulator(0, "eu-west-1")
    endpoint = emulator.start()
    try:
        s3, ddb, kms = (endpoint.client(s) for s in ("s3", "dynamodb", "kms"))
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        ddb.create_table(**table_definition(TABLE))
        key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        catalog = Catalog(ddb, TABLE, "incoming/")
        size = args.mb * MB // args.files
        for n in range(args.files):
            file_id = f"incoming/bench-{n:03d}/01-part-{n}.bin"
            sha = _upload(s3, file_id, size)
            catalog.put_file(
                FileRecord(
                    file_id=file_id,
                    filename=f"part-{n}.bin",
                    safe_name=f"part-{n}.bin",
                    size=size,
                    sha256=sha,
                    received_at=f"2026-12-01T10:{n % 60:02d}:00Z",
                    source="email",
                    message_id=f"bench-{n:03d}",
                    case=CASE,
                    bucket=BUCKET,
                )
            )
        env = {
            **os.environ,
            **endpoint.env(),
            "MAILROOM_BUCKET": BUCKET,
            "MAILROOM_TABLE": TABLE,
            "MAILROOM_EXPORT_SIGNING_KEY_ARN": key["Arn"],
            "MAILROOM_STATE_DIR": tempfile.mkdtemp(prefix="bench-export-state-"),
        }
        with tempfile.TemporaryDirectory(prefix="bench-export-") as work:
            out = Path(work) / "case.zip"
            cli = [str(Path(sys.executable).parent / "mailroom")]
            started = time.perf_counter()
            subprocess.run(  # noqa: S603 (fixed argv, no shell)
                [*cli, "export", "--case", CASE, str(out)], env=env, check=True
            )
            took = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            written = out.stat().st_size
            subprocess.run([*cli, "verify-export", str(out)], env=env, check=True)  # noqa: S603
    finally:
        emulator.stop()
    verdict = "ok" if peak_mb < LIMIT_MB else f"OVER {LIMIT_MB} MB"
    print(
        f"export   {args.files} files, {args.mb} MB case -> {written / MB:.0f} MB zip in "
        f"{took:.1f} s ({args.mb / took:.0f} MB/s); CLI peak RSS {peak_mb:.0f} MB ({verdict})"
    )


if __name__ == "__main__":
    main()
