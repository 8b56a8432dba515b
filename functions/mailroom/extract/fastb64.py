"""The bulk base64 decoder: pybase64's SIMD C extension when it is installed, else binascii.

The engine calls `decode` only on input that holds no "=" (the lenient handling of padding stays
in `decode.py`, on binascii). On such input the two agree byte for byte: both skip every byte
outside the alphabet, and both raise `binascii.Error` when the digits do not make whole quads
(`tests/unit/test_extract_fastb64.py` checks it with hypothesis). pybase64 is a runtime
dependency and the Lambda layer carries its arm64 wheel; where its C extension cannot load (a
layer built for another platform), its pure-Python fallback would be slower than binascii, so
binascii is used instead.

`MAILROOM_NO_SIMD=1` forces binascii. It is read once, here, at import: it chooses an
implementation, not behaviour (the bytes are the same either way), so it is not part of
`Settings`; it exists so the corpus and round-trip tests can be run both ways and so a
suspected decoder bug can be ruled out in the field.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Callable

Decode = Callable[[bytes | memoryview], bytes]


def _simd() -> Decode | None:
    try:
        import pybase64  # noqa: PLC0415 - optional at run time
        from pybase64 import _pybase64  # noqa: F401, PLC0415 - the C extension, not the fallback
    except ImportError:
        return None
    decode: Decode = pybase64.b64decode
    return decode


def _binascii(data: bytes | memoryview) -> bytes:
    return binascii.a2b_base64(data)


SIMD: Decode | None = None if os.environ.get("MAILROOM_NO_SIMD") == "1" else _simd()
decode: Decode = SIMD or _binascii
NAME = "pybase64" if SIMD is not None else "binascii"


def select(simd: bool) -> str:
    """Switch the decoder in this process (tests run both ways); returns the one now in use."""
    global decode, NAME  # noqa: PLW0603 - one process-wide choice, like the variable above
    chosen = _simd() if simd else None
    decode = chosen or _binascii
    NAME = "pybase64" if chosen is not None else "binascii"
    return NAME
