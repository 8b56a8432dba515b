"""Extraction speed and peak memory: mailroom's streaming engine against the stdlib, same run.

Usage: `make bench` (or `.venv/bin/python bench/run.py [--runs N] [--keep DIR]`).

Messages are generated here, repeatably (seeded random bytes), into a temporary directory.
Every measurement runs in a fresh process so peak RSS belongs to that one extraction:
- mailroom: `extract(open(path, "rb"), DiscardSink())` (streams, decodes, hashes every file);
- stdlib: read the file, `message_from_bytes(data, policy=policy.default)`, walk recursively and
  decode every leaf with a filename or an attachment disposition (`get_payload(decode=True)`).
Reported: median wall time of N runs, MB/s, and peak extra RSS (peak after the work minus the
peak after imports). Every file the stdlib finds must come out of mailroom with the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
TIMES = "\u00d7"  # the multiplication sign of the output contract


# -- message generation -----------------------------------------------------------------------


def _b64(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return b"\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def _part(name: str, ctype: str, data: bytes, boundary: bytes) -> bytes:
    return (
        b"--" + boundary + b"\r\n"
        b"Content-Type: " + ctype.encode() + b'; name="' + name.encode() + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + name.encode() + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(data) + b"\r\n"
    )


def _message(
    files: list[tuple[str, bytes]], subject: str, sender: str = "Client <client@example.org>"
) -> bytes:
    boundary = b"----=_mailroom_bench_" + hashlib.sha256(subject.encode()).hexdigest()[:16].encode()
    head = (
        f"From: {sender}\r\nTo: submit@docs.example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{hashlib.sha256(subject.encode()).hexdigest()[:20]}@bench.example>\r\n"
        "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary.decode()}"\r\n\r\n'
        "This is a multi-part message in MIME format.\r\n"
    ).encode()
    body = (
        b"--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + b"Please find the documents attached.\r\n"
        * 20
    )
    parts = [_part(name, "application/octet-stream", data, boundary) for name, data in files]
    return head + body + b"".join(parts) + b"--" + boundary + b"--\r\n"


def generate(directory: Path) -> dict[str, Path]:
    rng = random.Random(20261121)  # noqa: S311 - repeatable test data, not a secret

    def blob(size: int) -> bytes:
        return rng.randbytes(size)

    raw_for = 3 * 38 * MB // 4 // 3  # three files whose base64 fills about 38 MB
    inner = _message(
        [("lease.pdf", blob(300_000)), ("inventory.xlsx", blob(200_000))],
        "Signed lease",
    )
    boundary = b"fwd-outer-boundary"
    forward = (
        b"From: Staff <staff@firm.example>\r\nTo: submit@docs.example.com\r\n"
        b"Subject: Fwd: Signed lease\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
        b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--" + boundary + b"\r\nContent-Type: message/rfc822\r\n"
        b"Content-Disposition: attachment\r\n\r\n" + inner + b"\r\n--" + boundary + b"--\r\n"
    )
    messages = {
        "small": _message([("note.pdf", blob(140_000))], "small"),
        "5MB": _message([(f"doc{i}.pdf", blob(1_250_000)) for i in range(3)], "five"),
        "38MB": _message([(f"scan{i}.bin", blob(raw_for)) for i in range(3)], "large"),
        "200x20KB": _message([(f"f{i:03d}.dat", blob(20_000)) for i in range(200)], "many"),
        "forward": forward,
    }
    paths = {}
    for name, data in messages.items():
        path = directory / f"{name}.eml"
        path.write_bytes(data)
        paths[name] = path
    return paths


# -- workers (fresh processes) ----------------------------------------------------------------


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux clear_refs 5), so imports do not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _work_mailroom(path: Path) -> list[str]:
    from mailroom.extract import DiscardSink, extract  # noqa: PLC0415

    with path.open("rb") as source:
        result = extract(source, DiscardSink())
    return [a.sha256 for a in result.attachments]


def _work_stdlib(path: Path) -> list[str]:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    digests = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_filename() or part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            digests.append(hashlib.sha256(data).hexdigest())
    return digests


def worker(engine: str, path: Path) -> None:
    import mailroom.extract  # noqa: F401, PLC0415 - both pay the same import cost before the mark

    work: Callable[[Path], list[str]] = _work_mailroom if engine == "mailroom" else _work_stdlib
    # Baseline: resident memory now (after imports), with the peak mark reset to it.
    before = _rss("VmRSS") if _reset_peak() else _rss("VmHWM")
    start = time.perf_counter()
    digests = work(path)
    seconds = time.perf_counter() - start
    extra = _rss("VmHWM") - before
    print(json.dumps({"seconds": seconds, "peak_extra": extra, "digests": digests}))


def _sample(engine: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--worker", engine, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def measure(path: Path, runs: int) -> dict[str, dict[str, Any]]:
    """Both engines, runs interleaved so that a busy machine slows both alike."""
    samples: dict[str, list[dict[str, Any]]] = {"mailroom": [], "stdlib": []}
    for _ in range(runs):
        for engine, taken in samples.items():
            taken.append(_sample(engine, path))
    return {
        engine: {
            "seconds": statistics.median(s["seconds"] for s in taken),
            "peak_extra": max(s["peak_extra"] for s in taken),
            "digests": taken[0]["digests"],
        }
        for engine, taken in samples.items()
    }


def import_times() -> list[tuple[str, float]]:
    """Cold-start import time of each handler module, in a fresh process each."""
    rows = []
    for module in sorted((ROOT / "functions" / "mailroom" / "handlers").glob("*.py")):
        if module.stem.startswith("_") or module.stem == "runtime":
            continue
        name = f"mailroom.handlers.{module.stem}"
        code = (
            "import time; t = time.perf_counter(); import importlib; "
            f"importlib.import_module({name!r}); print(time.perf_counter() - t)"
        )
        try:
            out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed import
                [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
            )
            rows.append((name, float(out.stdout.strip().splitlines()[-1])))
        except (subprocess.CalledProcessError, ValueError, IndexError):
            rows.append((name, float("nan")))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the generated messages here")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return 0

    with tempfile.TemporaryDirectory(prefix="mailroom-bench-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        paths = generate(directory)
        print(f"mailroom extraction benchmark: median of {args.runs} runs, fresh process each")
        header = (
            f"{'message':<10} {'size':>8} | {'mailroom':>9} {'MB/s':>7} {'peak':>9} |"
            f" {'stdlib':>9} {'MB/s':>7} {'peak':>9} | {'speed':>6} {'bytes':>9}"
        )
        print(header)
        print("-" * len(header))
        summary = ""
        ok = True
        for name, path in paths.items():
            size = path.stat().st_size / MB
            both = measure(path, args.runs)
            ours, theirs = both["mailroom"], both["stdlib"]
            ours_s, theirs_s = float(ours["seconds"]), float(theirs["seconds"])
            ours_rate, theirs_rate = size / ours_s, size / theirs_s
            ours_peak = int(ours["peak_extra"]) / MB
            theirs_peak = int(theirs["peak_extra"]) / MB
            missing = set(theirs["digests"]) - set(ours["digests"])
            same = "identical" if not missing else f"{len(missing)} DIFFER"
            ok = ok and not missing
            print(
                f"{name:<10} {size:>6.1f}MB |"
                f" {ours_s:>8.3f}s {ours_rate:>7.1f} {ours_peak:>+7.1f}MB |"
                f" {theirs_s:>8.3f}s {theirs_rate:>7.1f} {theirs_peak:>+7.1f}MB |"
                f" {ours_rate / theirs_rate:>5.1f}x {same:>9}"
            )
            if name == "38MB":
                summary = (
                    f"bench: 38MB: mailroom {ours_rate:.0f} MB/s "
                    f"({ours_rate / theirs_rate:.1f}{TIMES} stdlib), "
                    f"peak +{ours_peak:.0f} MB ({ours_peak / size:.2f}{TIMES} raw); "
                    f"stdlib {theirs_rate:.0f} MB/s, peak +{theirs_peak:.0f} MB"
                )
        print()
        print("cold-start import time of each handler module (fresh process):")
        for module, seconds in import_times():
            print(f"  {module:<45} {seconds * 1000:>7.0f} ms")
        print()
        print(f"reproduce: make bench   (or: .venv/bin/python bench/run.py --runs {args.runs})")
        print(summary)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
