"""What hides inside bodies: inline-forward markers, uuencoded files, winmail.dat contents."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from mailroom.extract.collect import Collector, Sender, Writer, type_from_name
from mailroom.extract.cost import METER
from mailroom.extract.decode import (
    LONG_LINE,
    UU_DEGENERATE,
    UU_END_LINE,
    UULines,
    uudecode_line,
)
from mailroom.extract.headers import parse_address

FORWARD_SCAN_BYTES = 256 * 1024  # markers sit near the top of a body
# Of an HTML body, this much is turned into text: tags cost a regex attempt each, so a body of
# "<" would otherwise cost several times a plain one (make bench's hostile row).
HTML_SCAN_CHARS = 128 * 1024
MAX_CANDIDATES = 1024  # lines that look like a marker or a From: looked at, each kind
MAX_MARKERS = 32  # marker lines whose following lines are searched for a From:
WINDOW_CHARS = 2000  # how far after a marker its From: line may be
WINDOW_LINES = 12
VALUE_CAP = 998  # RFC 5322's line limit: a longer From value is cut before it is parsed
MAX_ENTITIES = 4096  # beyond this many "&", only the entities a sender line needs are decoded

# Every scan here runs in time linear in the text, whatever the text holds (issue 7). A scan
# first finds a short hint (a run of dashes, a phrase, "From:") with a pattern that starts with
# a literal, so blank and quoted lines are skipped by the regex engine's own search; only the
# line holding a hint is then matched, from its start, and at most MAX_CANDIDATES of them. No
# unbounded repetition crosses a line break (the quote prefix is `_Q`, never `[>\s]*`), runs
# are possessive so a failed match gives nothing back, and HTML tags end at the next "<".
_Q = r"(?:>|[^\S\n])*+"  # quote markers and blanks at a line start, within the line
# Five dashes, twenty underscores, or the colon that ends a phrase marker ("...message:",
# "...Nachricht:", "...reenviado:", "...réexpédié :"), so a log full of "10:30" or "key: value"
# lines does not use up MAX_CANDIDATES. Written so the regex engine can skip ahead on the first
# character: a case-insensitive alternation of the phrases would try every position.
_MARKER_HINT = re.compile(
    r"[-_:](?:(?<=-)-{4}|(?<=_)_{19}"
    r"|(?<=[aA][gG][eE]:|[cC][hH][tT]:|[aA][dD][oO]:)|(?<=[\u00e9\u00c9]:)|(?<=[\u00e9\u00c9]\s:))"
)
_MARKER = re.compile(  # matched at a line start
    rf"{_Q}(?:-{{5,}}+(?P<middle>[^-\n]{{3,}}+)-{{5,}}+"  # Gmail (any language), Outlook
    r"|Begin forwarded message:|Anfang der weitergeleiteten Nachricht:"  # Apple Mail
    r"|D\u00e9but du message r\u00e9exp\u00e9di\u00e9\s?:|Inicio del mensaje reenviado:"
    r"|_{20,}+)[^\S\n]*+$",
    re.IGNORECASE | re.MULTILINE,
)
_FROM = r"(?:From|Von|De|Da|Van|Fra|Od)"
_FROM_HINT = re.compile(rf"{_FROM}\**+[ \t]*+:")
# Applied to one line at a time (`match`), never across lines.
_FROM_LINE = re.compile(rf"{_Q}\**+{_FROM}\**+[ \t]*+:\**+[ \t]*+(?P<value>\S.*)", re.IGNORECASE)
# Outlook's header block without a marker: a From: line, then (past blank or quote-only lines)
# a Sent:/Date: line. Matched at a line start.
_OUTLOOK_BLOCK = re.compile(
    rf"{_Q}\**+{_FROM}\**+[ \t]*+:\**+[ \t]*+(?P<value>\S.*)\n(?:{_Q}\n)*+{_Q}\**+"
    r"(?:Sent|Date|Gesendet|Datum|Envoy\u00e9|Enviado|Inviato|Verzonden)\**+[ \t]*+:"
)
_MAILTO = re.compile(r"\[mailto:([^\[\]\s]++)\]", re.IGNORECASE)
# The lookahead settles first (in one possessive run up to the next "<" or ">") that the tag is
# complete, so a body of "<br<br<br..." costs one short look per "<", not a name test each.
_TAGS = re.compile(r"<(?=[^<>]*+>)(?:br|p|div|tr|li|blockquote)\b[^<>]*+>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^<>]*+>")
_BOLD = re.compile(r"\*([^*\n]++)\*")
_COMMON_ENTITIES = (
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", '"'),
    ("&#64;", "@"),
    ("&nbsp;", " "),
    ("&amp;", "&"),
)


def _hinted_lines(
    text: str, hint: re.Pattern[str], line: re.Pattern[str]
) -> Iterator[re.Match[str]]:
    """Matches of `line` at the start of each line that holds `hint`, in order, each line once,
    at most MAX_CANDIDATES lines. Reads `text` once (the hint search) plus the candidate lines."""
    pos = 0
    for _ in range(MAX_CANDIDATES):
        found = hint.search(text, pos)
        if found is None:
            break
        start = text.rfind("\n", pos, found.start()) + 1 or pos
        match = line.match(text, start)
        if match is not None:
            yield match
        pos = text.find("\n", found.end()) + 1
        if not pos:
            break
        METER.charge(pos - start)


def html_to_text(text: str) -> str:
    """Enough of an HTML body's text to find a forward marker and its From: line."""
    METER.charge(3 * len(text))
    text = _ANY_TAG.sub("", _TAGS.sub("\n", text))
    if text.count("&") <= MAX_ENTITIES:
        return html.unescape(text)
    # html.unescape calls back into Python for each entity: a body of entities would cost far
    # more than its size, so only the few a sender line needs are decoded (in C, by replace).
    for entity, char in _COMMON_ENTITIES:
        text = text.replace(entity, char)
    return text


def _sender_from(value: str) -> Sender | None:
    value = value[:VALUE_CAP].strip()
    value = _BOLD.sub(r"\1", _MAILTO.sub(r"<\1>", value))
    address, name = parse_address(value)
    if not address or "@" not in address:
        return None
    return Sender(address, name, "inline-forward")


def find_inline_forward(text: str, is_html: bool = False) -> Sender | None:
    """The original sender of a forward pasted into the body; unauthenticated by nature.

    Linear in `text`: two hint searches, at most MAX_CANDIDATES candidate lines each, and at
    most MAX_MARKERS windows of WINDOW_CHARS after marker lines.
    """
    if is_html:
        text = html_to_text(text[:HTML_SCAN_CHARS])
    METER.charge(len(text))
    markers = 0
    for marker in _hinted_lines(text, _MARKER_HINT, _MARKER):
        middle = marker.group("middle")
        if middle is not None and len(middle.strip(" \t")) > 60:
            continue  # the title between the dashes is at most 60 characters
        markers += 1
        if markers > MAX_MARKERS:
            break
        window = text[marker.end() : marker.end() + WINDOW_CHARS]
        METER.charge(len(window))
        for line in window.lstrip().splitlines()[:WINDOW_LINES]:
            match = _FROM_LINE.match(line)
            found = _sender_from(match.group("value")) if match else None
            if found:
                return found
    METER.charge(len(text))
    for block in _hinted_lines(text, _FROM_HINT, _OUTLOOK_BLOCK):
        return _sender_from(block.group("value"))  # the first block only, found or not
    return None


# `begin <octal mode> <name>` at a line start, as the stdlib's uudecoder requires.
_BEGIN_LINE = re.compile(rb"^begin [0-7]++ [ \t\r\f\v]*+\S", re.MULTILINE)


class UUScanner:
    """Finds `begin <mode> <name>` ... `end` blocks in a text body as it streams past."""

    def __init__(self, collector: Collector, part: str, sender: Sender) -> None:
        self.collector = collector
        self.part = part
        self.sender = sender
        self._rest = b""
        self._writer: Writer | None = None
        self._count = 0
        self._full = False  # max_parts uuencoded files found: the rest of the body is skipped
        self._skipping = False  # inside a block of lines that carry no data: look for its end
        self._lines_seen = UULines()

    def feed(self, data: bytes) -> None:
        if self._full:
            return
        data = self._rest + data if self._rest else data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        if cut:
            self._lines(data[:cut])
        if len(self._rest) > LONG_LINE:  # no uuencoded or begin line is this long
            self._rest = self._rest[-64:]

    def _lines(self, block: bytes) -> None:
        METER.charge(len(block))
        pos = 0
        out: list[bytes] = []  # decoded lines, written once per block rather than per line
        while pos < len(block):
            if self._writer is None:
                # One search in C: near-miss "begin" lines cost nothing in Python.
                begin = _BEGIN_LINE.search(block, pos)
                if begin is None:
                    return
                end = block.find(b"\n", begin.start()) + 1 or len(block)
                pos = end
                if self._count >= self.collector.limits.max_parts:
                    self._full = True
                    self.collector.warn(
                        f"part {self.part}: more than {self._count} uuencoded files; "
                        "the rest were not extracted"
                    )
                    return
                line = block[begin.start() : end].rstrip(b"\r\n")
                self._begin(line[6:].partition(b" ")[2].strip().decode("utf-8", "replace"))
            elif self._skipping:
                found = UU_END_LINE.search(block, pos)
                if found is None:
                    return
                pos = block.find(b"\n", found.start()) + 1 or len(block)
                self._end()
            else:
                end = block.find(b"\n", pos) + 1 or len(block)
                line = block[pos:end].rstrip(b"\r\n")
                pos = end
                if line.strip() == b"end":
                    self._write(out)
                    self._end()
                elif line:
                    decoded = uudecode_line(line)
                    out.append(decoded)
                    if self._lines_seen.degenerate(len(decoded)):
                        self.collector.warn(f"part {self.part}: {UU_DEGENERATE}")
                        self._skipping = True
                        self._write(out)
        self._write(out)

    def _write(self, out: list[bytes]) -> None:
        if out and self._writer is not None:
            self._writer.write(b"".join(out))
        out.clear()

    def _end(self) -> None:
        assert self._writer is not None
        self._writer.commit()
        self._writer = None
        self._skipping = False

    def _begin(self, name: str) -> None:
        self._count += 1
        self._lines_seen = UULines()
        self._writer = self.collector.open(
            filename=name,
            content_type=type_from_name(name),
            part=f"{self.part}.uu{self._count}",
            sender=self.sender,
            origin="uuencode",
        )

    def finish(self) -> None:
        rest, self._rest = self._rest, b""
        if rest:
            self._lines(rest + b"\n")
        if self._writer is not None:
            self.collector.warn(f"part {self.part}: uuencoded file without an end line")
            self._end()


def unpack_tnef(data: bytes) -> tuple[list[tuple[str, bytes]], str | None]:
    """The files inside a winmail.dat, or a reason it could not be read."""
    try:
        from tnefparse import TNEF  # noqa: PLC0415 - only messages from Outlook need it

        tnef = TNEF(data, do_checksum=False)
        files: list[tuple[str, bytes]] = []
        for attachment in tnef.attachments:
            name = attachment.long_filename() or attachment.name
            if isinstance(name, list):  # a multi-valued MAPI property
                name = name[0] if name else ""
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            payload = attachment.data
            if not isinstance(payload, bytes):
                continue
            files.append((str(name).strip("\x00").strip(), payload))
    except Exception as exc:
        return [], f"{type(exc).__name__}"
    return files, None
