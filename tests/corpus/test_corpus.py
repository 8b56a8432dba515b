"""The public corpus (../shared/corpus, about 1,500 messages), through `mailroom inspect`.

For every file: no exception escapes and a result comes back. For every attachment the stdlib
finds by walking the message (a leaf with a filename or an attachment disposition, decoded
with `get_payload(decode=True)`), mailroom finds one with the same bytes, except in the cases
listed in KNOWN_BETTER, where the stdlib hands back undecoded base64 and mailroom decodes it.
"""

from __future__ import annotations

import base64
import email
import hashlib
import io
from email import policy
from pathlib import Path

import pytest

from mailroom.extract import extract
from mailroom.extract.bodies import unpack_tnef
from mailroom.extract.memory import MemorySink
from mailroom.extract.report import inspect_path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CORPUS.is_dir(),
        reason=f"the public mail corpus is not here ({CORPUS}); it sits beside the project in CI",
    ),
]

# (file, attachment name as the stdlib reads it): why mailroom's bytes differ, and better.
KNOWN_BETTER = {
    ("james-mime4j/twopart.msg", "/home1/eucyon/data/img_event/postcard/uk7200_110_6.jpg"): (
        "Content-Transfer-Encoding 'base64 ' (trailing space): the stdlib returns the base64 "
        "text undecoded, mailroom decodes the JPEG"
    ),
    ("php-mime-mail-parser/m0018", "사진.JPG"): (
        "base64 of 4n+1 digits: the stdlib returns the text undecoded (bpo-27397), mailroom "
        "decodes it and drops the stray digit, with a warning"
    ),
}
NOT_MAIL = {"MANIFEST.md", "index.tsv"}


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in NOT_MAIL)


def stdlib_attachments(data: bytes) -> list[tuple[str | None, bytes]]:
    msg = email.message_from_bytes(data, policy=policy.default)
    found = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if name or part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True)
            found.append((name, payload if isinstance(payload, bytes) else b""))
    return found


def test_every_corpus_message_is_inspected_and_matches_the_stdlib() -> None:
    files = corpus_files()
    assert len(files) > 1000
    messages = attachments = matched = 0
    missing: list[str] = []
    better: list[tuple[str, str]] = []
    for path in files:
        report = inspect_path(path)  # what `mailroom inspect --json` prints for this file
        assert report["path"] == str(path) and isinstance(report["attachments"], list)
        messages += 1
        attachments += len(report["attachments"])
        ours = {a["sha256"] for a in report["attachments"]}
        relative = path.relative_to(CORPUS).as_posix()
        for name, payload in stdlib_attachments(path.read_bytes()):
            if hashlib.sha256(payload).hexdigest() in ours:
                matched += 1
            elif (relative, name) in KNOWN_BETTER:
                better.append((relative, str(name)))
            else:
                missing.append(f"{relative}: {name!r} ({len(payload)} bytes)")
    print(
        f"\ncorpus: {messages} messages, {attachments} attachments found by mailroom, "
        f"{matched} stdlib attachments matched byte for byte, {len(better)} known exceptions"
    )
    assert missing == []
    assert sorted(better) == sorted((f, str(n)) for f, n in KNOWN_BETTER)


@pytest.mark.parametrize(("relative", "name"), sorted(KNOWN_BETTER))
def test_known_exceptions_are_the_stdlib_leaving_base64_undecoded(relative: str, name: str) -> None:
    data = (CORPUS / relative).read_bytes()
    [theirs] = [payload for n, payload in stdlib_attachments(data) if n == name]
    sink = MemorySink()
    extract(io.BytesIO(data), sink)
    [ours] = [k.data for k in sink.opened if k.info.filename == name]
    digits = theirs.translate(None, b" \t\r\n")
    assert ours == base64.b64decode(digits[: len(digits) - len(digits) % 4])
    assert ours != theirs


def test_winmail_dat_samples_unpack_without_raising() -> None:
    samples = sorted(CORPUS.rglob("*.tnef"))
    assert samples
    unpacked = 0
    for path in samples:  # read in place (some are LGPL/GPL-derived: never copied)
        files, error = unpack_tnef(path.read_bytes())
        unpacked += bool(files)
        assert error is None or isinstance(error, str)
    assert unpacked >= len(samples) // 2
