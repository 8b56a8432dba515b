"""A fixture that runs a test once with the SIMD base64 decoder and once with the fallback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailroom.extract import fastb64


@pytest.fixture(params=["pybase64", "binascii"])
def decoder(request: pytest.FixtureRequest) -> Iterator[str]:
    before = fastb64.NAME
    chosen = fastb64.select(simd=request.param == "pybase64")
    if chosen != request.param:
        pytest.skip("pybase64's C extension is not installed here")
    yield chosen
    fastb64.select(simd=before == "pybase64")
