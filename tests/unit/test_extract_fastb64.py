"""The SIMD base64 decoder (pybase64) and its fallback (binascii) agree byte for byte wherever
the engine uses the bulk decoder, and extraction is the same with either (issue 12)."""

from __future__ import annotations

import binascii
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.extract import extract, fastb64
from mailroom.extract.memory import MemorySink
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "mail"


def _result(decode: fastb64.Decode, data: bytes) -> bytes | str:
    try:
        return decode(data)
    except binascii.Error:
        return "error"


# What the engine may hand the bulk decoder: anything but "=" (padding stays with binascii).
no_padding = st.binary(max_size=400).map(lambda b: b.replace(b"=", b""))
base64_lines = st.binary(max_size=300).map(lambda b: binascii.b2a_base64(b).rstrip(b"=\n"))


@settings(max_examples=500, deadline=None)
@given(st.one_of(no_padding, base64_lines, base64_lines.map(lambda b: b.replace(b"A", b"\r\n"))))
def test_simd_and_fallback_agree_on_whatever_the_engine_hands_them(data: bytes) -> None:
    simd = fastb64._simd()
    if simd is None:
        pytest.skip("pybase64's C extension is not installed here")
    assert _result(simd, data) == _result(fastb64._binascii, data)
    assert _result(simd, memoryview(data)) == _result(fastb64._binascii, data)


def test_the_environment_switch_forces_the_fallback() -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = "from mailroom.extract import fastb64; print(fastb64.NAME)"
    forced = subprocess.run(
        [sys.executable, "-c", code],
        env={"MAILROOM_NO_SIMD": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert forced.stdout.strip() == "binascii"


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.eml")))
def test_every_fixture_extracts_the_same_bytes_and_warnings_either_way(fixture: str) -> None:
    if fastb64._simd() is None:
        pytest.skip("pybase64's C extension is not installed here")
    data = (FIXTURES / fixture).read_bytes()
    before = fastb64.NAME
    try:
        fastb64.select(simd=True)
        sink = MemorySink()
        result = extract(io.BytesIO(data), sink)
        fastb64.select(simd=False)
        other_sink = MemorySink()
        other = extract(io.BytesIO(data), other_sink)
    finally:
        fastb64.select(simd=before == "pybase64")

    assert [k.data for k in sink.opened] == [k.data for k in other_sink.opened]
    assert result.warnings == other.warnings
