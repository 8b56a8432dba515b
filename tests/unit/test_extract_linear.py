"""Extraction costs what the message's size costs, whatever the message holds (issue 7.1).

The scanners charge `mailroom.extract.cost.METER` with what they read, pass by pass. A hostile
body (blank or whitespace-only lines, quote markers, unclosed HTML tags, `<br` repeats, near-miss
forward and uuencode markers, parameter soup) must be charged about what a benign body of the
same size is, and a small multiple of its size. No wall-clock figure is asserted here: the
time ratio is `make bench`'s hostile row.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import importlib
import io
import pkgutil
import re
from email.message import Message

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mailroom.extract
from mailroom.extract import DiscardSink, extract
from mailroom.extract.bodies import find_inline_forward
from mailroom.extract.cost import METER
from mailroom.extract.headers import header_params, split_params
from mailroom.extract.memory import MemorySink

SIZE = 48 * 1024  # large enough that a quadratic scan would be charged far over budget
# What one byte of body may be charged at most (the text passes, HTML conversion, uuencode and
# the windows after marker lines), and the fixed part (headers, at most MAX_MARKERS windows).
PER_BYTE = 8
FIXED = 80_000
RATIO = 3.0  # hostile against benign text of the same size, as make bench's target

BENIGN = "Thank you for the documents, they arrived safely. Kind regards, Ann\r\n"
HOSTILE_UNITS = [
    "\r\n",
    "\n",
    " \t \r\n",
    "   \n",
    "> \r\n",
    ">>>>\n",
    "> > > \t\n",
    "-----\n",
    "----- x -----\r\n",
    "-----" + "x" * 70 + "-----\n",
    "-----" + " " * 120 + "\n",
    "_" * 19 + "\n",
    "Begin forwarded message\n",
    "From:\r\n",
    "From: nobody\r\n\r\n",
    "From: a@b.example\n\n\n",
    "De: x\nSent y\n",
    "begin 64x name\n",
    "begin 644\n",
    ":::\n",
]
HTML_UNITS = ["<br", "<", "<div class='x' ", "<p", "<br>", "&lt;", "<b>x", "<<>>"]


def message(body: bytes, ctype: str = "text/plain", cte: str = "7bit") -> bytes:
    head = (
        f"From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n"
        f"Content-Type: {ctype}; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode() + body


def encode(body: bytes, cte: str) -> bytes:
    if cte == "base64":
        return base64.encodebytes(body)
    if cte == "quoted-printable":
        return binascii.b2a_qp(body)
    return body


def fill(units: list[str], size: int) -> bytes:
    out: list[str] = []
    total, i = 0, 0
    while total < size:
        unit = units[i % len(units)]
        out.append(unit)
        total += len(unit)
        i += 1
    return "".join(out).encode()[:size]


def charged(raw: bytes) -> int:
    METER.reset()
    extract(io.BytesIO(raw), DiscardSink())
    return METER.reset()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    units=st.lists(st.sampled_from(HOSTILE_UNITS), min_size=1, max_size=4),
    html=st.booleans(),
    html_units=st.lists(st.sampled_from(HTML_UNITS), min_size=1, max_size=3),
    cte=st.sampled_from(["7bit", "base64", "quoted-printable"]),
)
def test_hostile_bodies_are_charged_like_benign_ones(
    units: list[str], html: bool, html_units: list[str], cte: str
) -> None:
    ctype = "text/html" if html else "text/plain"
    body = fill(units + (html_units if html else []), SIZE)
    hostile = charged(message(encode(body, cte), ctype, cte))
    benign = charged(message(encode(fill([BENIGN], SIZE), cte), ctype, cte))

    assert hostile <= PER_BYTE * SIZE + FIXED
    assert hostile <= RATIO * benign + FIXED


@pytest.mark.parametrize("unit", ["\r\n", "\n", "> \n", "----- x -----\n", "<br", "From: x\n"])
def test_cost_grows_linearly_with_size(unit: str) -> None:
    small = charged(message(fill([unit], SIZE)))
    large = charged(message(fill([unit], 4 * SIZE)))

    assert large <= 4 * small + FIXED


def test_a_256_kb_body_of_blank_lines_is_one_message_without_attachments() -> None:
    """The issue's reproduction: this took minutes before; now it is one linear pass."""
    raw = message(b"\r\n" * (128 * 1024))
    METER.reset()
    result = extract(io.BytesIO(raw), DiscardSink())

    assert result.attachments == [] and result.warnings == []
    assert METER.reset() <= PER_BYTE * len(raw)


def test_near_miss_markers_do_not_hide_a_real_forward_after_them() -> None:
    body = (
        "----- x -----\n" * 20
        + "---------- Forwarded message ---------\nFrom: Ann <ann@x.example>\n"
    )
    found = find_inline_forward(body)
    assert found is not None and found.address == "ann@x.example"


def test_inline_forward_in_html_with_unclosed_tags_before_it() -> None:
    body = (
        "<div class='x' " * 500
        + "<p>-----Original Message-----<br>From: Bo &lt;bo@y.example&gt;<br>"
    )
    found = find_inline_forward(body, is_html=True)
    assert found is not None and found.address == "bo@y.example"


def test_outlook_block_across_blank_and_quoted_lines_is_still_found() -> None:
    body = "> \n" * 1000 + "> From: Cy <cy@z.example>\r\n>\r\n> \r\n> Sent: Monday\r\n"
    found = find_inline_forward(body)
    assert found is not None and found.address == "cy@z.example"


def test_uuencoded_files_per_body_are_capped_by_max_parts() -> None:
    from mailroom.extract import Limits  # noqa: PLC0415

    body = b"begin 644 a.txt\n#86)C\n`\nend\n" * 50
    sink = MemorySink()
    result = extract(io.BytesIO(message(body)), sink, Limits(max_parts=10))

    assert len(sink.opened) == 10 and all(k.data == b"abc" for k in sink.opened)
    assert any("uuencoded files" in w for w in result.warnings)


# -- parameters: the stdlib's splitter, in one pass --------------------------------------------

param_values = st.text(alphabet=';"\\= a\tb*0', max_size=40)


@settings(max_examples=400, deadline=None)
@given(param_values)
def test_split_params_splits_exactly_as_the_stdlib(value: str) -> None:
    assert split_params(value) == email.message._parseparam(value)  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=";\"\\= a*0'%", max_size=40))
def test_header_params_read_exactly_as_the_stdlib(value: str) -> None:
    msg = Message()
    msg["Content-Type"] = "application/pdf; " + value
    try:
        expected = msg._get_params_preserve([], "content-type")  # type: ignore[attr-defined]
    except Exception:
        expected = []
    assert header_params(msg, "content-type") == expected


@pytest.mark.parametrize(
    "value",
    [
        'name="' + ";" * 100_000,  # took a minute with the stdlib's splitter
        "a=b; " * 20_000,
        "".join(f"name*{i}*=x; " for i in range(10_000)),
    ],
)
def test_parameter_soup_is_split_in_one_pass(value: str) -> None:
    raw = message(b"x").replace(
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Type: application/pdf; " + value.encode(),
    )
    assert charged(raw) <= PER_BYTE * len(raw)


# -- patterns: no unbounded repetition across a line break ---------------------------------------

_CROSSES_LINES = re.compile(r"\\s[*+]|\[[^\]]*\\s[^\]]*\][*+]|\[\^[^\]]*\][*+]")


def _patterns() -> list[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    found = []
    for info in pkgutil.iter_modules(mailroom.extract.__path__):
        module = importlib.import_module(f"mailroom.extract.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.append((f"{info.name}.{name}", value))
    return found


def test_multiline_patterns_cannot_run_across_lines() -> None:
    """`^[>\\s]*` under MULTILINE was the quadratic pattern: \\s and a negated class both match a
    line break, so every line start re-read the rest of a blank body."""
    offenders = []
    for name, pattern in _patterns():
        if not pattern.flags & re.MULTILINE:
            continue
        text = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode()
        # A negated class that excludes the line break is fine: `[^\S\n]`, `[^-\n]`.
        stripped = re.sub(r"\[\^[^\]]*\\n[^\]]*\]", "", text)
        if _CROSSES_LINES.search(stripped):
            offenders.append(name)
    assert offenders == []


@pytest.mark.parametrize(
    ("ctype", "cte"),
    [("text/plain", "7bit"), ("application/octet-stream; name=flood.bin", "x-uuencode")],
)
def test_a_uuencoded_block_of_lines_without_data_stops_being_decoded(ctype: str, cte: str) -> None:
    """Each line costs a decoder call; lines that carry a byte each are a flood, not a file."""
    from mailroom.extract.decode import UU_DEGENERATE, UU_PROBE_LINES  # noqa: PLC0415

    body = b"begin 644 flood.bin\n" + b"a\n" * 100_000 + b"end\nafter the block\n"
    sink = MemorySink()
    result = extract(io.BytesIO(message(body, ctype, cte)), sink)

    [kept] = sink.opened
    assert kept.data == b"\x00" * UU_PROBE_LINES  # what was decoded before the cut is kept
    assert kept.committed is not None
    assert any(UU_DEGENERATE in w for w in result.warnings)
    assert not any("without an end line" in w or "no end line" in w for w in result.warnings)


def test_a_long_log_of_colon_lines_does_not_hide_a_forward_after_it() -> None:
    """Candidate lines are capped; lines like "10:30:00 key: value" are not candidates."""
    log = "2026-11-29 10:30:00 INFO key: value\n" * 3000
    found = find_inline_forward(log + "Begin forwarded message:\n\nFrom: Bo <bo@x.example>\n")
    assert found is not None and found.address == "bo@x.example"


def test_header_blocks_of_many_short_lines_keep_what_the_engine_reads() -> None:
    from mailroom.extract.engine import _MESSAGE_HEADERS  # noqa: PLC0415
    from mailroom.extract.headers import HEADERS_READ  # noqa: PLC0415

    assert _MESSAGE_HEADERS <= HEADERS_READ
    raw = (
        b"From: Ann <ann@example.org>\r\n"
        + b"X:\r\n" * 60_000
        + b"Subject: kept\r\nSubject: second\r\n"
        + b"Content-Type: application/pdf; name=a.pdf\r\n\r\n%PDF"
    )
    sink = MemorySink()
    result = extract(io.BytesIO(raw), sink)

    assert (result.sender, result.subject) == ("ann@example.org", "kept")
    assert [(k.info.filename, k.data) for k in sink.opened] == [("a.pdf", b"%PDF")]
