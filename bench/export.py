"""`mailroom export` of a large case: throughput and the CLI's peak memory (issue 22).

Usage: part of `make bench` (or `.venv/bin/python bench/export.py [--mb 1024] [--files 8]`).

An emulator (moto server, its own process) holds a case of `--files` documents totalling
`--mb` MB (random bytes, uploaded in parts) with their file records; `mailroom export` runs as
a child process against it and reports its peak RSS (VmHWM). The bytes stream from S3 into the
zip, so the peak should not grow with the case: the row gives the growth over the same CLI
exporting a 1 KB document (boto3 and its models alone take ~150 MB), judged against issue 22's
64 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import os
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


# The child reports its own peak RSS (VmHWM): getrusage's ru_maxrss of a child counts the
# parent's RSS at fork (Linux keeps it across exec), and this parent holds the emulator's data.
_CHILD = """
import atexit, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("PEAK_KB " + line.split()[1] + "\\n")
atexit.register(peak)
from mailroom.cli.main import main
sys.argv = ["mailroom", *sys.argv[1:]]
main()
"""


# Issue 22: the export function's handler (the dashboard's job path), in a child process of its
# own, building the same case into a multipart upload under exports/ on the emulator.
_JOB_CHILD = """
import atexit, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("PEAK_KB " + line.split()[1] + "\\n")
atexit.register(peak)
from mailroom.handlers.export_case import handler
from mailroom.usecases import export_jobs
job = export_jobs.new_job(
    sys.argv[1], None, None, with_raw=False, by="bench", via="api", exports_prefix="exports/"
)
class Context:
    function_name = "bench-export-case"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench-export-case"
    memory_limit_in_mb = 1024
    aws_request_id = "bench"
    log_group_name = log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 900_000
answer = handler(export_jobs.job_event(job), Context())
assert answer["status"] == "done", answer
sys.stderr.write("JOB " + job.job_id + "\\n")
"""


def _export_job(env: dict[str, str], case: str) -> tuple[float, float, str]:
    """Seconds, the function's peak RSS in MB, and the job id."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        [sys.executable, "-c", _JOB_CHILD, case],
        env={**env, "POWERTOOLS_METRICS_NAMESPACE": "bench", "POWERTOOLS_LOG_LEVEL": "WARNING"},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    took = time.perf_counter() - started
    lines = done.stderr.splitlines()
    [peak] = [line.split()[1] for line in lines if line.startswith("PEAK_KB")]
    [job] = [line.split()[1] for line in lines if line.startswith("JOB ")]
    return took, int(peak) / 1024, job


def _record(catalog: Catalog, file_id: str, n: int, size: int, *, sha: str, case: str) -> None:
    catalog.put_file(
        FileRecord(
            file_id=file_id,
            filename=f"part-{n}.bin",
            safe_name=f"part-{n}.bin",
            size=size,
            sha256=sha,
            received_at=f"2026-12-01T10:{n % 60:02d}:00Z",
            source="email",
            message_id=file_id.split("/")[1],
            case=case,
            bucket=BUCKET,
        )
    )


def _export(env: dict[str, str], case: str, out: Path) -> tuple[float, float]:
    """Seconds, and the CLI's peak RSS in MB."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        [sys.executable, "-c", _CHILD, "export", "--case", case, str(out)],
        env=env,
        check=True,
        stderr=subprocess.PIPE,
        text=True,
    )
    took = time.perf_counter() - started
    [peak] = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
    return took, int(peak) / 1024


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
            _record(catalog, file_id, n, size, sha=_upload(s3, file_id, size), case=CASE)
        # The baseline: the same CLI exporting one 1 KB document (imports, clients, models).
        small_id = "incoming/bench-small/01-part-0.bin"
        _record(catalog, small_id, 0, 1024, sha=_upload(s3, small_id, 1024), case="bench-small")
        env = {
            **os.environ,
            **endpoint.env(),
            "MAILROOM_BUCKET": BUCKET,
            "MAILROOM_TABLE": TABLE,
            "MAILROOM_EXPORT_SIGNING_KEY_ARN": key["Arn"],
            "MAILROOM_STATE_DIR": tempfile.mkdtemp(prefix="bench-export-state-"),
        }
        with tempfile.TemporaryDirectory(prefix="bench-export-") as work:
            _, base_mb = _export(env, "bench-small", Path(work) / "small.zip")
            out = Path(work) / "case.zip"
            took, peak_mb = _export(env, CASE, out)
            written = out.stat().st_size
            cli = str(Path(sys.executable).parent / "mailroom")
            subprocess.run([cli, "verify-export", str(out)], env=env, check=True)  # noqa: S603
        job_took, job_peak_mb, job = _export_job(env, CASE)
        job_size = s3.head_object(Bucket=BUCKET, Key=f"exports/{job}.zip")["ContentLength"]
    finally:
        emulator.stop()
    grown = peak_mb - base_mb
    verdict = "ok" if grown < LIMIT_MB else f"OVER {LIMIT_MB} MB"
    print(
        f"export   {args.files} files, {args.mb} MB case -> {written / MB:.0f} MB zip in "
        f"{took:.1f} s ({args.mb / took:.0f} MB/s); CLI peak RSS {peak_mb:.0f} MB, "
        f"{grown:+.0f} MB over a 1 KB export ({base_mb:.0f} MB) ({verdict})"
    )
    print(
        f"export job (export_case function) {args.mb} MB case -> {job_size / MB:.0f} MB under "
        f"exports/ in {job_took:.1f} s ({args.mb / job_took:.0f} MB/s); peak RSS "
        f"{job_peak_mb:.0f} MB; at this rate Lambda's 900 s serve about "
        f"{args.mb / job_took * 900 / 1024:.0f} GB"
    )


if __name__ == "__main__":
    main()
