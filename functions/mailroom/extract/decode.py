"""Incremental Content-Transfer-Encoding decoders: feed raw body bytes, get decoded bytes.

Each decoder keeps only an incomplete line or quad between calls, so a body of any size is
decoded in bounded memory. Damage is repaired where the intent is clear and reported as a
warning (the caller adds context), never raised.
"""

from __future__ import annotations

import binascii
import re

from mailroom.extract import fastb64

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_KEEP = _B64_ALPHABET + b"="
# Everything that is neither a base64 digit nor padding: deleted before decoding.
_B64_DELETE = bytes(b for b in range(256) if b not in _B64_KEEP)
_B64_WHITESPACE_DELETE = b" \t\r\n\x0b\x0c"
_PADS = re.compile(rb"=+")
LONG_LINE = 64 * 1024  # longer than any sane encoded line: stop waiting for its end
# After padding, only base64 lines may follow for decoding to go on past it.
_HOLD_ALLOWED = _B64_KEEP + b"\r\n"
# Blanks at a line end. The lookbehind starts a match only where a run of blanks starts, and the
# run is possessive: a long run not at a line end is read once, not once per position (issue 7).
_TRAILING_BLANKS = re.compile(rb"(?<![ \t])[ \t]++(?=\r?\n|\Z)")


class Decoder:
    """Identity (7bit, 8bit, binary, and unknown encodings, as the stdlib treats them)."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def feed(self, data: bytes) -> bytes:
        return data

    def feed_range(self, buf: bytes, start: int, end: int) -> bytes:
        """`feed(buf[start:end])`; decoders that can read `buf` in place avoid the copy."""
        return self.feed(buf[start:end])

    def finish(self) -> bytes:
        return b""


def _whole_lines(block: bytes | memoryview) -> bytes | None:
    """`block` decoded if its digits make whole quads, else None (the slow path decides).

    The bulk decoder (pybase64, else binascii; `fastb64`) skips line breaks and any other
    non-alphabet byte, and refuses a digit count that is not a multiple of four, so a success
    here is exactly what the slow path would give. `block` never holds "=".
    """
    try:
        return fastb64.decode(block)
    except binascii.Error:
        return None


class Base64Decoder(Decoder):
    """Lenient base64 that decodes past padding found mid-stream when more base64 follows.

    The stdlib stops at the first padded quad (`binascii.a2b_base64`), so it silently drops the
    rest of a body that a broken encoder wrote as separately padded runs. After a padded quad,
    this decoder holds what follows (up to `HOLD`): if it is clean base64 lines, decoding goes
    on past the padding, with a warning; if it is text (a list footer, a mangled delimiter),
    it is ignored, as the stdlib would, also with a warning.
    """

    HOLD = 64 * 1024

    def __init__(self) -> None:
        super().__init__()
        self._rest = b""  # base64 digits not yet forming a whole quad
        self._state = "normal"  # normal, holding (after padding), past (decoding on), ignore
        self._held: list[bytes] = []
        self._held_size = 0
        self._line = b""  # an incomplete last line, carried by the fast path

    def feed(self, data: bytes) -> bytes:
        if self._state == "normal":
            return self._normal(data)
        if self._state == "holding":
            return self._hold(data)
        if self._state == "past":
            return self._past(data)
        return b""

    def _clean(self, data: bytes) -> bytes:
        # Bytes outside the alphabet are skipped silently, as RFC 2045 asks (and binascii does
        # on the fast path, so the result never depends on where chunks were cut).
        clean = data.translate(None, _B64_DELETE)
        return self._rest + clean if self._rest else clean

    def feed_range(self, buf: bytes, start: int, end: int) -> bytes:
        if self._state != "normal" or self._rest:
            return self.feed(buf[start:end])
        pad = buf.find(b"=", start, end)
        if pad >= 0:
            # The final padding: the whole lines before its line still take the fast path
            # (as if the source had been cut there); only the rest is copied and cleaned.
            line = buf.rfind(b"\n", start, pad) + 1
            if line > start:
                head = self.feed_range(buf, start, line)
                return head + self.feed(buf[line:end])
            return self.feed(buf[start:end])
        head = b""
        if self._line:  # finish the line the last chunk cut, then decode the rest in place
            nl = buf.find(b"\n", start, end) + 1
            if not nl:
                return self.feed(buf[start:end])
            head = self._normal(buf[start:nl])
            start = nl
            if self._rest or self._line:
                return head + self.feed(buf[start:end])
        cut = buf.rfind(b"\n", start, end) + 1
        out = _whole_lines(memoryview(buf)[start:cut]) if cut > start else None
        if out is None:
            return head + self.feed(buf[start:end])
        self._line = buf[cut:end]
        return head + out if head else out

    def _normal(self, data: bytes) -> bytes:
        if self._line:
            data, self._line = self._line + data, b""
        pad = data.find(b"=")
        if pad < 0:
            if not self._rest:
                # Fast path: whole lines straight into binascii, no copy, no clean-up pass.
                cut = data.rfind(b"\n") + 1
                out = _whole_lines(memoryview(data)[:cut]) if cut else None
                if out is not None:
                    self._line = data[cut:]
                    return out
            clean = self._clean(data)
            cut = len(clean) - len(clean) % 4
            self._rest = clean[cut:]
            return fastb64.decode(clean[:cut]) if cut else b""
        end = pad
        while end < len(data) and data[end] == 0x3D:
            end += 1
        out = self._run(self._clean(data[:pad]))
        self._rest = b""
        self._state = "holding"
        return out + self._hold(data[end:])

    def _hold(self, data: bytes) -> bytes:
        # The decision looks at exactly the first HOLD bytes after the padding, however the
        # input was cut into chunks.
        room = self.HOLD - self._held_size
        if room > 0 and _TRAILING_BLANKS.sub(b"", data[:room]).translate(None, _HOLD_ALLOWED):
            self._state = "ignore"  # text after the padding: not part of the file
            self._held, self._held_size = [], 0
            self.warnings.append("base64: text after the final padding was ignored")
            return b""
        self._held.append(data)
        self._held_size += len(data)
        if self._held_size <= self.HOLD:
            return b""
        return self._go_past()

    def _go_past(self) -> bytes:
        held, self._held, self._held_size = b"".join(self._held), [], 0
        if not held.translate(None, _B64_WHITESPACE_DELETE + b"="):
            return b""  # only line breaks and padding so far
        self._state = "past"
        self.warnings.append(
            "base64: padding in mid-stream; decoded past it (the stdlib would truncate)"
        )
        return self._past(held)

    def _past(self, data: bytes) -> bytes:
        clean = self._clean(data)
        if b"=" not in clean:
            cut = len(clean) - len(clean) % 4
            self._rest = clean[cut:]
            return fastb64.decode(clean[:cut]) if cut else b""
        runs = _PADS.split(clean)
        # Every run but the last was closed by padding; the last may continue in the next chunk.
        out = [self._run(run) for run in runs[:-1]]
        last = runs[-1]
        cut = len(last) - len(last) % 4
        if cut:
            out.append(fastb64.decode(last[:cut]))
        self._rest = last[cut:]
        return b"".join(out)

    def _run(self, run: bytes) -> bytes:
        """A run of digits that ends the data or meets padding: complete its last quad."""
        cut = len(run) - len(run) % 4
        head = fastb64.decode(run[:cut]) if cut else b""
        tail = run[cut:]
        if len(tail) == 1:
            self.warnings.append("base64: a stray character before the padding was dropped")
            return head
        if tail:
            return head + binascii.a2b_base64(tail + b"=" * (4 - len(tail)))
        return head

    def finish(self) -> bytes:
        out = b""
        if self._line:
            line, self._line = self._line, b""
            out = self._normal(line + b"\n")  # the last line, without its line break
        if self._state == "holding":
            out += self._go_past()
        rest, self._rest = self._rest, b""
        if not rest:
            return out
        if len(rest) == 1:
            self.warnings.append("base64: a stray final character was dropped")
            return out
        self.warnings.append("base64: missing final padding was assumed")
        return out + binascii.a2b_base64(rest + b"=" * (4 - len(rest)))


class QuotedPrintableDecoder(Decoder):
    """Quoted-printable, decoded a block of whole lines at a time (soft breaks never split)."""

    def __init__(self) -> None:
        super().__init__()
        self._rest = b""

    def feed(self, data: bytes) -> bytes:
        data = self._rest + data if self._rest else data
        cut = data.rfind(b"\n") + 1
        if not cut and len(data) > LONG_LINE:
            # No line break for this long (a broken encoder): cut anywhere but inside "=XX".
            tail = data.rfind(b"=", len(data) - 3)
            cut = tail if tail >= 0 else len(data)
        self._rest = data[cut:]
        return binascii.a2b_qp(data[:cut]) if cut else b""

    def finish(self) -> bytes:
        rest, self._rest = self._rest, b""
        return binascii.a2b_qp(rest) if rest else b""


# A uuencoded file is lines of 45 bytes ("M" lines) and a shorter last one. Lines that carry a
# byte or two each still cost a call each: after UU_PROBE_LINES lines of a block, if they carry
# fewer than UU_MIN_LINE_BYTES on average, the block is not a file, and the rest of it is
# skipped (with a warning) up to its end line, which is searched for in C (issue 7).
UU_PROBE_LINES = 1024
UU_MIN_LINE_BYTES = 8
UU_DEGENERATE = "uuencode: lines carry almost no data; the rest of the block was not decoded"
UU_END_LINE = re.compile(rb"^[ \t\r\f]*+end[ \t\r\f]*+$", re.MULTILINE)
# A begin line at a line start: "begin", an octal mode, then a blank or the line's end.
_UU_BEGIN = re.compile(rb"^begin [0-7]++(?:[ \r]|$)", re.MULTILINE)


class UULines:
    """Counts a block's lines and decoded bytes, to tell a file from a flood of empty lines."""

    __slots__ = ("decoded", "lines")

    def __init__(self) -> None:
        self.lines = 0
        self.decoded = 0

    def degenerate(self, decoded: int) -> bool:
        self.lines += 1
        self.decoded += decoded
        return self.lines >= UU_PROBE_LINES and self.decoded < UU_MIN_LINE_BYTES * self.lines


class UudecodeDecoder(Decoder):
    """Content-Transfer-Encoding x-uuencode: the body is one `begin ... end` block."""

    def __init__(self) -> None:
        super().__init__()
        self._rest = b""
        # before the begin line, inside the block, skipping a degenerate block, after end
        self._state = "before"
        self._count = UULines()

    def feed(self, data: bytes) -> bytes:
        data = self._rest + data if self._rest else data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        if len(self._rest) > LONG_LINE:  # no uuencoded line is this long: drop it
            self._rest = b""
        return self._lines(data[:cut])

    def _lines(self, block: bytes) -> bytes:
        # Lines before the begin line and after the end line are found or passed over by one
        # search each, never looked at one by one.
        pos = 0
        if self._state == "before":
            begin = _UU_BEGIN.search(block)
            if begin is None:
                return b""
            pos = block.find(b"\n", begin.start()) + 1 or len(block)
            self._state = "inside"
        out: list[bytes] = []
        if self._state == "inside":
            for line in block[pos:].splitlines():
                if line.strip(b" \t\r\n\f") == b"end":
                    self._state = "after"
                    break
                decoded = uudecode_line(line)
                out.append(decoded)
                if self._count.degenerate(len(decoded)):
                    self.warnings.append(UU_DEGENERATE)
                    self._state = "skipping"
                    break
        if self._state == "skipping" and UU_END_LINE.search(block, pos):
            self._state = "after"
        return b"".join(out)

    def finish(self) -> bytes:
        rest, self._rest = self._rest, b""
        out = self._lines(rest) if rest else b""
        if self._state == "before":
            self.warnings.append("uuencode: no begin line; nothing decoded")
        elif self._state == "inside":
            self.warnings.append("uuencode: no end line; decoded to the end of the part")
        return out


def uudecode_line(line: bytes) -> bytes:
    """One uuencoded line; a line some encoders pad short is repaired as the stdlib does."""
    line = line.rstrip(b"\r")
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders drop trailing spaces: trust the length byte instead.
        nbytes = (((line[0] - 32) & 63) * 4 + 5) // 3 if line else 0
        try:
            return binascii.a2b_uu(line[:nbytes])
        except binascii.Error:
            return b""


def decoder_for(cte: str) -> Decoder:
    if cte == "base64":
        return Base64Decoder()
    if cte == "quoted-printable":
        return QuotedPrintableDecoder()
    if cte in {"x-uuencode", "uuencode", "x-uue", "uue"}:
        return UudecodeDecoder()
    return Decoder()
