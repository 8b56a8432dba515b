"""Caps and hostile input: nothing a message contains can crash extraction or exhaust it."""

from __future__ import annotations

import base64
import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.extract import Attachment, DiscardSink, Extraction, Limits, PartInfo, extract
from mailroom.extract.memory import MemorySink


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def file_part(name: str, data: bytes) -> str:
    return (
        f'Content-Type: application/octet-stream; name="{name}"\n'
        f"Content-Transfer-Encoding: base64\n\n{base64.encodebytes(data).decode()}"
    )


def nested_multiparts(depth: int) -> bytes:
    head = "From: bomb@example.org\nSubject: deep\n"
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="d{i}"\n\n--d{i}\n' for i in range(depth)
    )
    leaf = file_part("deep.bin", b"deep") + "\n"
    closing = "".join(f"--d{i}--\n" for i in reversed(range(depth)))
    top = file_part("top.bin", b"top")
    return crlf(
        head
        + 'Content-Type: multipart/mixed; boundary="top"\n\n--top\n'
        + top
        + "\n--top\n"
        + opening
        + leaf
        + closing
        + "--top--\n"
    )


def nested_forwards(depth: int) -> bytes:
    message = "From: origin@example.org\nSubject: level 0\n\n" + "x" * 100 + "\n"
    for i in range(1, depth + 1):
        message = (
            f"From: level{i}@example.org\nSubject: level {i}\n"
            f"Content-Type: message/rfc822\n\n{message}"
        )
    return crlf(message)


def part_bomb(parts: int) -> bytes:
    body = "".join(f"--p\n{file_part(f'f{i}.bin', b'x')}\n" for i in range(parts))
    return crlf(
        f'From: a@example.org\nContent-Type: multipart/mixed; boundary="p"\n\n{body}--p--\n'
    )


def test_deep_multipart_nesting_is_capped_with_a_warning() -> None:
    result = extract(io.BytesIO(nested_multiparts(5000)), DiscardSink(), Limits(max_depth=32))
    assert [a.filename for a in result.attachments] == ["top.bin"]
    assert any("nested deeper than 32 levels" in w for w in result.warnings)


def test_nesting_within_the_cap_is_followed() -> None:
    result = extract(io.BytesIO(nested_multiparts(20)), DiscardSink(), Limits(max_depth=32))
    assert [a.filename for a in result.attachments] == ["top.bin", "deep.bin"]
    assert result.warnings == []


def test_deeply_nested_forwards_are_capped() -> None:
    result = extract(io.BytesIO(nested_forwards(300)), DiscardSink(), Limits(max_depth=10))
    emls = [a for a in result.attachments if a.origin == "message"]
    # Levels 0..10 are read (each kept as an .eml); what lies deeper stays inside the last one.
    assert len(emls) == 11
    assert any("nested deeper than 10 levels" in w for w in result.warnings)
    assert result.original_sender == "level299@example.org"


def test_part_bomb_is_capped_by_the_part_count() -> None:
    sink = MemorySink()
    result = extract(io.BytesIO(part_bomb(500)), sink, Limits(max_parts=100))
    assert 0 < len(result.attachments) < 100
    assert any("more than 100 MIME parts" in w for w in result.warnings)
    assert all(k.committed is not None or k.aborted for k in sink.opened)


def test_total_size_cap_stops_and_aborts_the_part_in_progress() -> None:
    data = crlf(
        'From: a@example.org\nContent-Type: multipart/mixed; boundary="p"\n\n'
        f"--p\n{file_part('a.bin', b'a' * 4000)}\n--p\n{file_part('b.bin', b'b' * 4000)}\n"
        f"--p\n{file_part('c.bin', b'c' * 10)}\n--p--\n"
    )
    sink = MemorySink()
    result = extract(io.BytesIO(data), sink, Limits(max_total_bytes=6000))
    assert [a.filename for a in result.attachments] == ["a.bin"]
    assert [k.info.filename for k in sink.opened] == ["a.bin", "b.bin"]
    assert sink.opened[1].aborted and sink.opened[1].committed is None
    assert any("total decoded size over the limit of 6000 bytes" in w for w in result.warnings)


class FailingSink:
    def __init__(self, fail_on: str) -> None:
        self.fail_on = fail_on
        self.aborted: list[str] = []

    def open(self, part: PartInfo) -> FailingSink.Writer:
        if self.fail_on == "open":
            raise ConnectionError("sink down")
        return FailingSink.Writer(self, part)

    class Writer:
        def __init__(self, owner: FailingSink, part: PartInfo) -> None:
            self.owner, self.part = owner, part

        def write(self, chunk: bytes) -> None:
            if self.owner.fail_on == "write":
                raise ConnectionError("upload failed")

        def commit(self, attachment: Attachment) -> None:
            pass

        def abort(self) -> None:
            self.owner.aborted.append(self.part.filename)


@pytest.mark.parametrize("fail_on", ["open", "write"])
def test_sink_errors_propagate_unchanged(fail_on: str) -> None:
    sink = FailingSink(fail_on)
    with pytest.raises(ConnectionError):
        extract(io.BytesIO(part_bomb(3)), sink)  # type: ignore[arg-type]
    if fail_on == "write":
        assert sink.aborted == ["f0.bin"]


def test_source_errors_propagate_and_open_parts_are_aborted() -> None:
    class Broken:
        def __init__(self) -> None:
            self.data = io.BytesIO(part_bomb(3))

        def read(self, n: int = -1) -> bytes:
            chunk = self.data.read(40)
            if self.data.tell() > 120:
                raise OSError("connection reset")
            return chunk

    sink = MemorySink()
    with pytest.raises(OSError, match="connection reset"):
        extract(Broken(), sink)  # type: ignore[arg-type]
    assert all(k.aborted or k.committed for k in sink.opened)


SEED_MESSAGE = crlf(
    "From: A <a@example.org>\nSubject: seed\n"
    'Content-Type: multipart/mixed; boundary="s"\n\n--s\nContent-Type: text/plain\n\nhello\n'
    f"--s\n{file_part('one.pdf', bytes(range(256)))}\n"
    "--s\nContent-Type: message/rfc822\n\nFrom: b@example.org\n"
    'Content-Type: multipart/mixed; boundary="i"\n\n'
    f"--i\n{file_part('two.bin', b'two')}\n--i--\n"
    "--s\nContent-Type: application/ms-tnef\nContent-Transfer-Encoding: base64\n\neJ8+IgEA\n"
    "--s\nContent-Type: text/plain\n\nbegin 644 x.bin\n#86)C\n`\nend\n--s--\n"
)
TOKENS = [
    b"\r\n",
    b"\n",
    b"--s",
    b"--s--",
    b"--i",
    b"=",
    b"==",
    b"\r\n\r\n",
    b":",
    b"\x00",
    b"\xff",
    b"Content-Type: multipart/mixed; boundary=s\r\n",
    b"begin 644 y\r\n",
    b"=?utf-8?b?",
    b"Content-Transfer-Encoding: base64\r\n",
    b"message/rfc822",
    b"\r\n--s\r\n\r\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED_MESSAGE)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "truncate", "flip"]))
        if action == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "truncate":
            del data[at:]
        elif data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
    return bytes(data)


def summary(result: Extraction) -> tuple[object, ...]:
    return (
        [(a.filename, a.sha256, a.part, a.index, a.origin) for a in result.attachments],
        result.warnings,
        result.original_sender,
        result.subject,
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.integers(1, 50))
def test_mangled_mail_never_raises_and_chunking_never_matters(data: bytes, step: int) -> None:
    whole = extract(io.BytesIO(data), MemorySink())
    assert not any("internal error" in w for w in whole.warnings), whole.warnings

    class Trickle:
        def __init__(self) -> None:
            self.io = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self.io.read(step)

    assert summary(extract(Trickle(), MemorySink())) == summary(whole)  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = extract(io.BytesIO(data), DiscardSink())
    assert not any("internal error" in w for w in result.warnings)


def test_random_noise_megabytes() -> None:
    noise = random.Random(7).randbytes(3 * 1024 * 1024)
    result = extract(io.BytesIO(noise), DiscardSink())
    assert result.attachments == []


@pytest.mark.parametrize(
    "message",
    [
        # Found by fuzzing: a charset label with a NUL byte, a broken base64 encoded word.
        b'From: a@example.org\r\nContent-Type: text/plain; charset="utf\x00-8"\r\n\r\n'
        b"---------- Forwarded message ---------\r\nFrom: b@example.org\r\n",
        b"From: a@example.org\r\nSubject: =?utf-8?b?w6k=x?= =?utf-8?b?#?=\r\n\r\nbody\r\n",
        b"From: =?x-unknown?q?a?= <a@example.org>\r\nContent-Type: application/pdf;"
        b" name*=bogus''%FF%00.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBE\r\n",
    ],
)
def test_hostile_header_values_are_survived(message: bytes) -> None:
    result = extract(io.BytesIO(message), DiscardSink())
    assert result.sender == "a@example.org"
    assert not any("internal error" in w for w in result.warnings)


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_8bit_boundary_matches_the_body_in_either_encoding(encoding: str) -> None:
    b = "grenzwert-ö".encode(encoding)
    data = (
        b'From: a@example.org\r\nContent-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n'
        b"--"
        + b
        + b"\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n--"
        + b
        + b"--\r\n"
    )
    sink = MemorySink()
    result = extract(io.BytesIO(data), sink)
    assert [(a.filename, a.size) for a in result.attachments] == [("a.pdf", 4)]
    assert result.warnings == []


def test_many_files_with_one_name_get_distinct_safe_names() -> None:
    body = b"".join(
        b"--p\r\nContent-Type: application/pdf; name=x.pdf\r\n\r\nx\r\n" for _ in range(1500)
    )
    data = b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n" + body
    result = extract(io.BytesIO(data + b"--p--\r\n"), DiscardSink())
    safe = [a.safe_name for a in result.attachments]
    assert len(safe) == 1500 and len({s.lower() for s in safe}) == 1500
    assert safe[:3] == ["x.pdf", "x (2).pdf", "x (3).pdf"]


def test_a_hostile_filename_length_is_bounded() -> None:
    data = (
        b'From: a@example.org\r\nContent-Type: application/pdf; name="' + b"n" * 100_000 + b'.pdf"'
        b"\r\n\r\n%PDF"
    )
    [attachment] = extract(io.BytesIO(data), DiscardSink()).attachments
    assert len(attachment.filename) == 1024 and len(attachment.safe_name.encode()) <= 255
