"""Extraction speed and peak memory: mailroom's streaming engine against the stdlib and
fast-mail-parser, same run; the hostile-body row; the handlers' cold start; the zip sizes.
The `zip` row is a message carrying a 12-member zip, expanded (issue 20).

Usage: `make bench` (or `.venv/bin/python bench/run.py [--runs N] [--keep DIR]`).

Messages are generated here, repeatably (seeded random bytes), into a temporary directory.
Every measurement runs in a fresh process so peak RSS belongs to that one extraction:
- mailroom: `extract(open(path, "rb"), DiscardSink())` (streams, decodes, hashes every file);
- stdlib: read the file, `message_from_bytes(data, policy=policy.default)`, walk recursively and
  decode every leaf with a filename or an attachment disposition (`get_payload(decode=True)`),
  hashing each;
- fast-mail-parser (the `bench` extra; a Rust extension): read the file, `parse_email(data)`,
  hash every attachment it returns. It does not walk nested forwards.
Reported: median wall time of N runs, MB/s, and peak extra RSS (peak after the work minus the
peak after imports). Every file the stdlib finds must come out of mailroom with the same bytes.

Hostile row (issue 7): the worst of the hostile body shapes at 256 KB against benign text of
the same size, both through `extract`, in one process, interleaved, median of many runs.
Cold start (issue 12): importing each handler module in a fresh process, median of N, against
`import boto3` plus one client in a fresh process, same run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
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
    # Issue 20: a zip of scans (incompressible) and text (compressible), expanded by mailroom
    # (expand_archives on, the default); the stdlib finds only the archive itself.
    words = [b"lease", b"tenant", b"deposit", b"inventory", b"signed", b"2026", b"room", b"key"]
    text = b" ".join(rng.choice(words) for _ in range(220_000))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for i in range(8):
            zipped.writestr(f"scans/scan{i}.jpg", blob(1_500_000))
        for i in range(4):
            zipped.writestr(f"notes/notes{i}.txt", text[i:])
    messages = {
        "small": _message([("note.pdf", blob(140_000))], "small"),
        "5MB": _message([(f"doc{i}.pdf", blob(1_250_000)) for i in range(3)], "five"),
        "38MB": _message([(f"scan{i}.bin", blob(raw_for)) for i in range(3)], "large"),
        "200x20KB": _message([(f"f{i:03d}.dat", blob(20_000)) for i in range(200)], "many"),
        "forward": forward,
        "zip": _message([("scans.zip", archive.getvalue())], "zip"),
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


def _work_fast_mail_parser(path: Path) -> list[str]:
    from fast_mail_parser import parse_email  # noqa: PLC0415 - the bench extra

    mail = parse_email(path.read_bytes())
    return [hashlib.sha256(a.content).hexdigest() for a in mail.attachments]


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


WORKERS: dict[str, Callable[[Path], list[str]]] = {
    "mailroom": _work_mailroom,
    "stdlib": _work_stdlib,
    "fast-mail-parser": _work_fast_mail_parser,
}


def has_fast_mail_parser() -> bool:
    try:
        import fast_mail_parser  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def worker(engine: str, path: Path) -> None:
    import mailroom.extract  # noqa: F401, PLC0415 - all pay the same import cost before the mark

    if engine == "fast-mail-parser":
        import fast_mail_parser  # noqa: F401, PLC0415
    work = WORKERS[engine]
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


def measure(path: Path, runs: int, engines: list[str]) -> dict[str, dict[str, Any]]:
    """Every engine, runs interleaved so that a busy machine slows all alike."""
    samples: dict[str, list[dict[str, Any]]] = {engine: [] for engine in engines}
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


def _fresh_seconds(code: str) -> float:
    """Run `code` (which prints seconds) in a fresh interpreter with a Lambda-like env."""
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "mailroom",
        "POWERTOOLS_METRICS_NAMESPACE": "mailroom",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


BASELINE = (
    "import time; t = time.perf_counter(); import boto3; boto3.client('s3'); "
    "print(time.perf_counter() - t)"
)


def cold_start(runs: int) -> tuple[dict[str, float], float]:
    """Median import time of each handler module and of boto3 plus one client, interleaved."""
    modules = [
        f"mailroom.handlers.{m.stem}"
        for m in sorted((ROOT / "functions" / "mailroom" / "handlers").glob("*.py"))
        if not m.stem.startswith("_") and m.stem != "runtime"
    ]
    samples: dict[str, list[float]] = {m: [] for m in [*modules, "baseline"]}
    for _ in range(runs):
        for module in modules:
            samples[module].append(
                _fresh_seconds(
                    "import time; t = time.perf_counter(); import importlib; "
                    f"importlib.import_module({module!r}); print(time.perf_counter() - t)"
                )
            )
        samples["baseline"].append(_fresh_seconds(BASELINE))
    medians = {m: statistics.median(v) for m, v in samples.items()}
    baseline = medians.pop("baseline")
    return medians, baseline


# -- hostile bodies (issue 7) ------------------------------------------------------------------

HOSTILE_SIZE = 256 * 1024
BENIGN_TEXT = "Thank you for the documents, they arrived safely. Kind regards, Ann\r\n"
HOSTILE_SHAPES = {  # name: (repeated unit, content type)
    "blank lines CRLF": ("\r\n", "text/plain"),
    "blank lines LF": ("\n", "text/plain"),
    "whitespace lines": (" \t \r\n", "text/plain"),
    "quote markers": ("> > >\r\n", "text/plain"),
    "near-miss markers": ("----- x -----\r\n", "text/plain"),
    "near-miss From": ("From: x\r\n\r\n", "text/plain"),
    "near-miss begin": ("begin 64x a\n", "text/plain"),
    "uuencode flood": ("a\n", "text/plain"),  # after a begin line: lines without data
    "unclosed tags": ("<div class='x' ", "text/html"),
    "<br repeats": ("<br", "text/html"),
    "< repeats": ("<", "text/html"),
}


def _text_message(body: str, ctype: str) -> bytes:
    unit = body.encode()
    data = (unit * (HOSTILE_SIZE // len(unit) + 1))[:HOSTILE_SIZE]
    if body == "a\n":
        data = b"begin 644 flood.bin\n" + data[20:]
    head = f"From: a@example.org\r\nSubject: s\r\nContent-Type: {ctype}; charset=utf-8\r\n\r\n"
    return head.encode() + data


def hostile_worker(runs: int) -> None:
    """In this process: median extraction time of each shape and of benign text, interleaved."""
    import io  # noqa: PLC0415

    from mailroom.extract import DiscardSink, extract  # noqa: PLC0415

    messages = {"benign text": _text_message(BENIGN_TEXT, "text/plain")}
    messages |= {name: _text_message(unit, ctype) for name, (unit, ctype) in HOSTILE_SHAPES.items()}
    samples: dict[str, list[float]] = {name: [] for name in messages}
    for _ in range(runs):
        for name, raw in messages.items():
            start = time.perf_counter()
            extract(io.BytesIO(raw), DiscardSink())
            samples[name].append(time.perf_counter() - start)
    print(json.dumps({name: statistics.median(v) for name, v in samples.items()}))


def hostile(runs: int) -> dict[str, float]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--hostile-worker", str(runs)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def package_sizes() -> list[tuple[str, int]]:
    """Build the zips as `make package` does, into a temporary directory, and size them."""
    with tempfile.TemporaryDirectory(prefix="mailroom-bench-package-") as tmp:
        subprocess.run(  # noqa: S603 - our own interpreter and tool
            [sys.executable, str(ROOT / "tools" / "package.py"), "--out", tmp],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        return [(p.name, p.stat().st_size) for p in sorted(Path(tmp).glob("*.zip"))]


def _rate(size: float, row: dict[str, Any]) -> tuple[float, float, float]:
    seconds = float(row["seconds"])
    return seconds, size / seconds, int(row["peak_extra"]) / MB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the generated messages here")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--hostile-worker", type=int, metavar="RUNS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return 0
    if args.hostile_worker:
        hostile_worker(args.hostile_worker)
        return 0

    from mailroom.extract import fastb64  # noqa: PLC0415

    engines = ["mailroom", "stdlib"] + (["fast-mail-parser"] if has_fast_mail_parser() else [])
    with tempfile.TemporaryDirectory(prefix="mailroom-bench-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        paths = generate(directory)
        print(
            f"mailroom extraction benchmark: median of {args.runs} runs, fresh process each; "
            f"base64 decoder: {fastb64.NAME}"
        )
        if "fast-mail-parser" not in engines:
            print("(fast-mail-parser not installed: pip install -e '.[bench]' for its column)")
        columns = "".join(f" | {e[:9]:>9} {'MB/s':>7} {'peak':>9}" for e in engines)
        header = f"{'message':<10} {'size':>8}{columns} | {'vs std':>6} {'bytes':>9}"
        print(header)
        print("-" * len(header))
        summary = zip_line = ""
        ok = True
        for name, path in paths.items():
            size = path.stat().st_size / MB
            rows = measure(path, args.runs, engines)
            figures = {engine: _rate(size, rows[engine]) for engine in engines}
            missing = set(rows["stdlib"]["digests"]) - set(rows["mailroom"]["digests"])
            same = "identical" if not missing else f"{len(missing)} DIFFER"
            ok = ok and not missing
            cells = "".join(
                f" | {secs:>8.3f}s {rate:>7.1f} {peak:>+7.1f}MB"
                for secs, rate, peak in figures.values()
            )
            vs_stdlib = figures["mailroom"][1] / figures["stdlib"][1]
            print(f"{name:<10} {size:>6.1f}MB{cells} | {vs_stdlib:>5.1f}x {same:>9}")
            if name == "zip":
                _, zip_rate, zip_peak = figures["mailroom"]
                members = len(rows["mailroom"]["digests"]) - 1
                zip_line = (
                    f"zip: {size:.1f} MB message, a zip of {members} members expanded: mailroom "
                    f"{zip_rate:.0f} MB/s, peak +{zip_peak:.1f} MB"
                )
            if name == "38MB":
                _, ours, ours_peak = figures["mailroom"]
                _, std, std_peak = figures["stdlib"]
                versus = f"{ours / std:.1f}{TIMES} stdlib"
                tail = f"stdlib {std:.0f} MB/s, peak +{std_peak:.0f} MB"
                if "fast-mail-parser" in figures:
                    _, fmp, fmp_peak = figures["fast-mail-parser"]
                    versus += f", {ours / fmp:.2f}{TIMES} fast-mail-parser"
                    tail += f"; fast-mail-parser {fmp:.0f} MB/s, peak +{fmp_peak:.0f} MB"
                summary = (
                    f"bench: 38MB: mailroom {ours:.0f} MB/s ({versus}), "
                    f"peak +{ours_peak:.0f} MB ({ours_peak / size:.2f}{TIMES} raw); {tail}"
                )

        print()
        hostile_runs = max(args.runs * 4, 9)
        timings = hostile(hostile_runs)
        benign = timings.pop("benign text")
        print(f"hostile bodies at 256 KB, median of {hostile_runs}, against benign text:")
        for shape, seconds in timings.items():
            print(f"  {shape:<20} {seconds * 1000:>7.1f} ms  {seconds / benign:>5.1f}x")
        worst = max(timings, key=lambda k: timings[k])
        hostile_line = (
            f"hostile: 256KB: worst {worst} {timings[worst] * 1000:.1f} ms, "
            f"benign text {benign * 1000:.1f} ms ({timings[worst] / benign:.1f}{TIMES} benign; "
            "target <= 3x)"
        )

        print()
        imports, baseline = cold_start(args.runs)
        handler = {m.rsplit(".", 1)[1]: v for m, v in imports.items()}
        worst_import = max(handler.values())
        # The SES-fed pair first (the line), then any other handler (the API).
        order = sorted(
            handler, key=lambda n: (n not in ("extract_attachments", "record_metadata"), n)
        )
        cold_line = "cold start: " + ", ".join(
            f"{name} {handler[name] * 1000:.0f} ms" for name in order
        )
        ratio = f"{worst_import / baseline:.2f}{TIMES}"
        cold_line += f" ({ratio} boto3+client baseline {baseline * 1000:.0f} ms)"
        sizes = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in package_sizes())

        print(f"reproduce: make bench   (or: .venv/bin/python bench/run.py --runs {args.runs})")
        print(summary)
        print(zip_line)
        print(hostile_line)
        print(cold_line)
        print(f"package: {sizes}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
