"""Issue 20's new scans (excerpt, file-sharing links, cid: references, the .eml sniff) cost what
the text's size costs, whatever it holds: checked with the meter, as test_extract_linear does."""

from __future__ import annotations

import io

import pytest

from mailroom.extract import DiscardSink, extract
from mailroom.extract.context import EXCERPT_SCAN_CHARS, excerpt, scan_links
from mailroom.extract.cost import METER
from mailroom.extract.engine import looks_like_message

SIZE = 48 * 1024
HOSTILE = [
    "http://" * 40 + "\n",
    "https://1drv.ms/" + "a" * 3000 + "\n",
    "cid:" * 100,
    "cid:" + "x" * 2000 + " ",
    "On " + "x" * 500 + "\n",
    "Am schrieb schrieb schrieb " * 20 + "\n",
    "https://www.dropbox.com/s/x https://we.tl/t-1 https://box.com/s/2 ",
]


def fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("unit", HOSTILE)
def test_link_and_cid_scan_is_charged_once_per_character(unit: str) -> None:
    text = fill(unit, SIZE)
    links: list[str] = []
    cids: set[str] = set()
    METER.reset()
    scan_links(text, links, cids)
    assert METER.reset() == SIZE
    assert len(links) <= 20 and len(cids) <= 1000


@pytest.mark.parametrize("unit", HOSTILE)
def test_excerpt_reads_a_bounded_prefix(unit: str) -> None:
    METER.reset()
    excerpt(fill(unit, 4 * SIZE))
    assert METER.reset() <= EXCERPT_SCAN_CHARS


@pytest.mark.parametrize("unit", HOSTILE)
def test_hostile_html_bodies_grow_linearly(unit: str) -> None:
    def charged(size: int) -> int:
        body = fill(unit, size).encode()
        raw = (
            b"From: a@example.org\r\nSubject: s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            + body
        )
        METER.reset()
        extract(io.BytesIO(raw), DiscardSink())
        return METER.reset()

    small, large = charged(SIZE), charged(4 * SIZE)
    assert large <= 4 * small + 80_000


def test_the_eml_sniff_tells_a_message_from_header_shaped_text() -> None:
    assert looks_like_message(b"X-A: b\r\n" * 500) is False
    assert looks_like_message(b"From: a@b.example\r\nDate: x\r\n\r\nbody") is True
    assert looks_like_message(b"From x@y Mon\nReceived: a\nSubject: s\n\n") is True
    assert looks_like_message(b"key: value\r\nother: thing\r\n\r\n") is False
    assert looks_like_message(b"%PDF-1.4\r\n") is False
