"""What hides inside bodies: inline-forward markers, uuencoded files, winmail.dat contents."""

from __future__ import annotations

import html
import re

from mailroom.extract.collect import Collector, Sender, Writer, type_from_name
from mailroom.extract.decode import LONG_LINE, is_begin_line, uudecode_line
from mailroom.extract.headers import parse_address

FORWARD_SCAN_BYTES = 256 * 1024  # markers sit near the top of a body

# A forward marker line, then a From: line shortly after it (Gmail, Outlook, Apple Mail, and
# Outlook's header block without a marker: "From: ... / Sent: ..."), in a few languages.
_MARKER = re.compile(
    r"^[>\s]*(?:-{5,}[ \t]*[^-\n]{3,60}?[ \t]*-{5,}"  # Gmail (any language), Outlook
    r"|Begin forwarded message:|Anfang der weitergeleiteten Nachricht:"  # Apple Mail
    r"|D\u00e9but du message r\u00e9exp\u00e9di\u00e9\s?:|Inicio del mensaje reenviado:"
    r"|_{20,})\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FROM = r"(?:From|Von|De|Da|Van|Fra|Od)"
_FROM_LINE = re.compile(
    rf"^[>\s]*\**{_FROM}\**[ \t]*:\**[ \t]*(?P<value>\S.*)$", re.IGNORECASE | re.MULTILINE
)
_OUTLOOK_BLOCK = re.compile(
    rf"^[>\s]*\**{_FROM}\**[ \t]*:\**[ \t]*(?P<value>\S.*)\r?\n[>\s]*\**"
    r"(?:Sent|Date|Gesendet|Datum|Envoy\u00e9|Enviado|Inviato|Verzonden)\**[ \t]*:",
    re.MULTILINE,
)
_MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)
_TAGS = re.compile(r"<(?:br|p|div|tr|li|blockquote)\b[^>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]*>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def _html_to_text(text: str) -> str:
    text = _TAGS.sub("\n", text)
    return html.unescape(_ANY_TAG.sub("", text))


def _sender_from(value: str) -> Sender | None:
    value = _BOLD.sub(r"\1", _MAILTO.sub(r"<\1>", value.strip()))
    address, name = parse_address(value)
    if not address or "@" not in address:
        return None
    return Sender(address, name, "inline-forward")


def find_inline_forward(text: str, is_html: bool = False) -> Sender | None:
    """The original sender of a forward pasted into the body; unauthenticated by nature."""
    if is_html:
        text = _html_to_text(text)
    for marker in _MARKER.finditer(text):
        window = text[marker.end() : marker.end() + 2000]
        lines = window.splitlines()[:12]
        for match in _FROM_LINE.finditer("\n".join(lines)):
            found = _sender_from(match.group("value"))
            if found:
                return found
    block = _OUTLOOK_BLOCK.search(text)
    return _sender_from(block.group("value")) if block else None


class UUScanner:
    """Finds `begin <mode> <name>` ... `end` blocks in a text body as it streams past."""

    def __init__(self, collector: Collector, part: str, sender: Sender) -> None:
        self.collector = collector
        self.part = part
        self.sender = sender
        self._rest = b""
        self._writer: Writer | None = None
        self._count = 0

    def feed(self, data: bytes) -> None:
        data = self._rest + data if self._rest else data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        if cut:
            self._lines(data[:cut])
        if len(self._rest) > LONG_LINE:  # no uuencoded or begin line is this long
            self._rest = self._rest[-64:]

    def _lines(self, block: bytes) -> None:
        pos = 0
        while pos < len(block):
            if self._writer is None:
                start = block.find(b"begin ", pos)
                if start < 0:
                    return
                if start and block[start - 1] != 0x0A:
                    pos = start + 6
                    continue
                end = block.find(b"\n", start) + 1 or len(block)
                line = block[start:end].rstrip(b"\r\n")
                pos = end
                name = line[6:].partition(b" ")[2].strip()
                if is_begin_line(line) and name:
                    self._begin(name.decode("utf-8", "replace"))
            else:
                end = block.find(b"\n", pos) + 1 or len(block)
                line = block[pos:end].rstrip(b"\r\n")
                pos = end
                if line.strip() == b"end":
                    self._writer.commit()
                    self._writer = None
                elif line:
                    self._writer.write(uudecode_line(line))

    def _begin(self, name: str) -> None:
        self._count += 1
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
            self._writer.commit()
            self._writer = None


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
