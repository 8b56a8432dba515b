"""The public corpus extracts to the same bytes and warnings with the SIMD base64 decoder
(pybase64) and with its fallback (binascii): the corpus test's verdict holds either way."""

from __future__ import annotations

import io

import pytest
from tests.corpus.test_corpus import CORPUS, corpus_files

from mailroom.extract import extract, fastb64
from mailroom.extract.memory import MemorySink

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no public mail corpus at {CORPUS}"),
]


def _extract(data: bytes) -> tuple[list[tuple[str, bytes]], list[str]]:
    sink = MemorySink()
    result = extract(io.BytesIO(data), sink)
    return [(k.info.filename, k.data) for k in sink.opened], result.warnings


def test_every_corpus_message_extracts_the_same_with_either_decoder() -> None:
    if fastb64._simd() is None:
        pytest.skip("pybase64's C extension is not installed here")
    before = fastb64.NAME
    differ = []
    try:
        for path in corpus_files():
            data = path.read_bytes()
            fastb64.select(simd=True)
            simd = _extract(data)
            fastb64.select(simd=False)
            if _extract(data) != simd:
                differ.append(path.relative_to(CORPUS).as_posix())
    finally:
        fastb64.select(simd=before == "pybase64")
    assert differ == []
