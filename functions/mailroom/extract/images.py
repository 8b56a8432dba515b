"""An image's width and height from its first bytes: PNG, GIF, JPEG, BMP, WebP. Never a decoder.

Each format states its size in a header at a fixed place (PNG's IHDR, GIF's logical screen,
BMP's info header, WebP's VP8/VP8L/VP8X chunk), except JPEG, whose size is in the first
start-of-frame segment, found by hopping from segment to segment (each says its own length), so
the walk is linear in the bytes given and never reads pixel data. `HEAD_BYTES` of an image is
enough for every file a mail client writes (EXIF and ICC segments sit before the frame; a JPEG
whose frame is further in is reported unknown, never guessed).
"""

from __future__ import annotations

import struct

HEAD_BYTES = 64 * 1024  # what the engine keeps of an image part to read its size from

# JPEG start-of-frame markers: SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length: TEM, RST0..7, SOI, EOI.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})


def image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) read from the header in `head`, or None if unknown or not an image."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return width, height
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp_size(head)
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    pos = 2
    end = len(head)
    while pos + 4 <= end:
        if head[pos] != 0xFF:
            return None  # not at a marker: damaged, or entropy-coded data reached
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in {0xD9, 0xDA}:  # end of image, start of scan: no frame before
            return None
        (length,) = struct.unpack(">H", head[pos + 2 : pos + 4])
        if length < 2:
            return None
        if marker in _SOF:
            if pos + 9 > end:
                return None
            height, width = struct.unpack(">HH", head[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    return None
