"""Reading one MIME entity's header block: type, names, disposition, sender.

Headers are small, so each block is parsed with the stdlib in compat32 mode (the most lenient);
bodies never go through the stdlib. Every function here tolerates garbage and never raises.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from email.header import decode_header
from email.message import Message
from email.utils import decode_params, getaddresses, unquote
from typing import Any

from mailroom.extract.cost import METER

# Types that are bodies or machine reports, not documents, unless the sender named them. Other
# unnamed text (text/calendar, text/csv, text/x-vcard) is a file the reader would save.
_BODY_TYPES = frozenset(
    {
        "text/plain",
        "text/html",
        "text/enriched",
        "text/richtext",
        "text/watch-html",
        "text/x-amp-html",
        "message/delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "message/external-body",
        "message/global-delivery-status",
        "message/global-disposition-notification",
        "message/global-headers",
        "text/rfc822-headers",
    }
)
# Parsed as messages: kept whole as .eml and searched for their own attachments. A
# message/partial fragment is searched too (the first fragment often holds whole files).
FORWARD_TYPES = frozenset({"message/rfc822", "message/global", "message/news", "message/partial"})
SIGNATURE_TYPES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
    }
)
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
# Every header the engine reads from a block: the entity's own, and those that tell an email
# from another text file (engine._MESSAGE_HEADERS).
HEADERS_READ = frozenset(
    {
        "content-type",
        "content-disposition",
        "content-id",
        "content-transfer-encoding",
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "received",
        "return-path",
        "sender",
        "reply-to",
        "delivered-to",
        "remote-attachment-url",  # a link standing in for an attachment (issue 20)
    }
)
ADDRESS_CAP = 4096  # characters of a From-like header read to find its first mailbox
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def fix_8bit(text: str) -> str:
    """Undo compat32's surrogate escapes: raw 8-bit header bytes are UTF-8 or else cp1252."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("cp1252", "replace")
    return text


# Codecs a mail may name whose decoder is slower than linear (punycode's is quadratic: 256 KB
# take seconds): text labelled with one of them is read as UTF-8 instead.
_SLOW_CODECS = frozenset({"punycode", "idna"})


def text_charset(label: str | None) -> str | None:
    """`label` if it names a codec that is safe to decode a whole body with, else None."""
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError, TypeError):
        return None
    return None if name in _SLOW_CODECS else label


def _mostly(raw: bytes, charset: str) -> str | None:
    """`raw` in `charset` if only a few bytes are damaged (a name cut inside a character)."""
    try:
        text = raw.decode(charset, "replace")
    except (LookupError, ValueError, TypeError):
        return None
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    return text if good >= 2 * bad else None


def decode_bytes(raw: bytes, charset: str | None) -> str:
    """Text in its declared charset; if the label is wrong or unknown, UTF-8, else cp1252."""
    label = text_charset((charset or "").strip().strip('"').lower()) or ""
    for candidate in (label, "utf-8"):
        if not candidate:
            continue
        try:
            return raw.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError, TypeError):
            continue
    for candidate in (label, "utf-8"):
        text = _mostly(raw, candidate) if candidate else None
        if text is not None:
            return text
    return raw.decode("cp1252", "replace")


def _decode_word(word: str) -> str:
    try:
        parts = decode_header(word)
    except Exception:  # HeaderParseError and friends: keep the word as written
        return word
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out)


_FOLDING = re.compile(r"\r?\n[ \t]+")


def unfold(value: str) -> str:
    """A header value on one line, as SES gives it in `commonHeaders` (RFC 5322 2.2.3).

    Each line break with the whitespace that folds it becomes one space; the ends are trimmed.
    The SMTP door (for SES's event) and `mailroom import` both read headers through this.
    """
    return _FOLDING.sub(" ", value).strip()


def decode_words(value: object) -> str:
    """A header value as text: RFC 2047 words decoded (even glued to quotes), 8-bit repaired."""
    if value is None:
        return ""
    text = fix_8bit(str(value))
    if "=?" not in text:
        return text
    out: list[str] = []
    pos = 0
    last_was_word = False
    for match in _ENCODED_WORD.finditer(text):
        between = text[pos : match.start()]
        # RFC 2047: whitespace between two adjacent encoded words is not part of the text.
        if between and not (last_was_word and not between.strip()):
            out.append(between)
        out.append(_decode_word(match.group()))
        last_was_word = True
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_LINES = re.compile(r"\r\n|\r|\n")
_RAW_LINES = re.compile(rb"\r\n|\r|\n")
_NAME = re.compile(r"[\041-\071\073-\176]+")


def _header_text(block: bytes) -> str:
    """Raw header bytes as text: 8-bit bytes are UTF-8, or else cp1252, line by line."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return "\n".join(decode_bytes(line, "utf-8") for line in _RAW_LINES.split(block))


def parse_header_block(block: bytes) -> Message:
    # Unfold first (RFC 5322 2.2.3): compat32 would leave the line break inside values such as
    # a folded boundary parameter. Decoding 8-bit bytes here, rather than letting compat32
    # carry them as surrogates, keeps raw UTF-8 names intact (compat32 would turn them to "?").
    msg = Message()  # compat32
    kept: set[str] = set()
    for line in _LINES.split(_header_text(_FOLD.sub(b"", block))):
        # As compat32's parser: the name is everything before the first colon, the value the
        # rest with leading blanks dropped. A leading "From " line is an mbox separator.
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")  # obsolete syntax allows blanks before the colon
        if colon and name and _NAME.fullmatch(name):
            # Only the first of each header the engine reads is kept (`Message.get` returns the
            # first): every lookup in a Message is a scan of all its headers, so keeping a block
            # of 60,000 junk headers would make each of a dozen lookups read them all.
            key = name.lower()
            if key in HEADERS_READ and key not in kept:
                kept.add(key)
                msg[name] = value.lstrip(" \t")
            elif not kept:
                kept.add("")  # a header was seen: a later "From " line is not a separator
        elif line.startswith("From ") and not kept:
            msg.set_unixfrom(line)
    return msg


@dataclass(frozen=True, slots=True)
class Head:
    """What the engine needs from one entity's headers."""

    content_type: str  # lower-case type/subtype, text/plain when absent or invalid
    charset: str | None
    boundary: str | None
    filename: str | None  # decoded; None when the part has no name
    disposition: str | None  # "attachment", "inline", or another token, lower-case
    content_id: str | None
    cte: str  # Content-Transfer-Encoding, lower-case, "7bit" when absent

    @property
    def maintype(self) -> str:
        return self.content_type.partition("/")[0]

    @property
    def is_multipart(self) -> bool:
        return self.maintype == "multipart" and bool(self.boundary)

    @property
    def is_forward(self) -> bool:
        return self.content_type in FORWARD_TYPES

    @property
    def is_tnef(self) -> bool:
        name = (self.filename or "").lower()
        return self.content_type in TNEF_TYPES or name == "winmail.dat"

    @property
    def is_body_text(self) -> bool:
        """A body shown to the reader, not a document: unnamed text, not marked attachment."""
        if self.filename or self.disposition == "attachment":
            return False
        return self.content_type in _BODY_TYPES


# The stdlib's parameter splitter (email.message._parseparam) recounts the quotes before every
# ";" and copies the rest of the value for each parameter: quadratic, so a header of a few
# hundred KB of ";" inside an open quote takes minutes. This splits the same way in one pass.
_PARAM_TOKENS = re.compile(r'\\"|"|;')
Params = list[tuple[str, Any]]


def split_params(value: str) -> list[str]:
    """`email.message._parseparam(value)`, linear: a ";" splits unless an odd number of
    quotes (not counting backslash-escaped ones) precedes it within the parameter."""
    METER.charge(len(value))
    pieces = value.split(";")
    # The common case: no backslash, and every piece has its quotes paired, so every ";" splits.
    if "\\" in value or any(piece.count('"') % 2 for piece in pieces):
        pieces = []
        start, inside = 0, False
        for token in _PARAM_TOKENS.finditer(value):
            text = token.group()
            if text == '"':
                inside = not inside
            elif text == ";" and not inside:
                pieces.append(value[start : token.start()])
                start = token.end()
        pieces.append(value[start:])
    plist = []
    for piece in pieces:
        name, eq, rest = piece.partition("=")
        plist.append(f"{name.strip().lower()}={rest.strip()}".strip() if eq else piece.strip())
    return plist


def header_params(msg: Message, header: str) -> Params:
    """`msg._get_params_preserve(header)`: (name, value) pairs, RFC 2231 decoded; [] on garbage."""
    value = msg.get(header)
    if value is None:
        return []
    params = []
    for piece in split_params(str(value)):
        name, eq, val = piece.partition("=")
        params.append((name.strip(), val.strip()) if eq else (piece.strip(), ""))
    try:
        decoded: Params = decode_params(params)
    except Exception:  # a continuation number too long for int(), mixed numbered/unnumbered
        return []
    return decoded


def _param(params: Params, name: str) -> str | None:
    """`msg.get_param(name, header=...)` over already split parameters, as text."""
    for key, raw in params:
        if key.lower() != name:
            continue
        if isinstance(raw, tuple):
            # RFC 2231 (charset, language, text): the text holds the raw bytes as latin-1.
            value = (raw[0], raw[1], unquote(raw[2]))
            try:
                return decode_bytes(bytes(value[2], "raw-unicode-escape"), value[0])
            except Exception:
                return str(value[2])
        return str(unquote(raw))
    return None


def _filename(ctype_params: Params, disposition_params: Params) -> str | None:
    name = _param(disposition_params, "filename")
    if name is None:
        name = _param(ctype_params, "name")
    if name is None:
        return None
    name = decode_words(name.strip())
    return name or None


def _content_type(msg: Message) -> str:
    raw = msg.get("content-type")
    if raw is None:
        return "text/plain"
    value = fix_8bit(str(raw)).split(";", 1)[0].strip().lower()
    # RFC 2045: an invalid type means text/plain, as the stdlib also decides.
    return value if _TOKEN.match(value) else "text/plain"


def read_head(msg: Message, default_type: str = "text/plain") -> Head:
    ctype = _content_type(msg) if msg.get("content-type") is not None else default_type
    disposition = msg.get("content-disposition")
    disp = fix_8bit(str(disposition)).split(";", 1)[0].strip().lower() if disposition else None
    cid = msg.get("content-id")
    cte = msg.get("content-transfer-encoding")
    ctype_params = header_params(msg, "content-type")
    charset = _param(ctype_params, "charset")
    return Head(
        content_type=ctype,
        charset=charset.lower() if charset else None,
        boundary=_param(ctype_params, "boundary") if ctype.startswith("multipart/") else None,
        filename=_filename(ctype_params, header_params(msg, "content-disposition")),
        disposition=disp or None,
        content_id=fix_8bit(str(cid)).strip().strip("<>").strip() or None if cid else None,
        cte=fix_8bit(str(cte)).strip().lower() if cte else "7bit",
    )


def parse_address(value: object) -> tuple[str | None, str | None]:
    """(address lower-case, display name decoded) of the first mailbox in a From-like value."""
    if value is None:
        return None, None
    # The first mailbox is near the start; the stdlib's address parser is not linear on every
    # input, so it only ever sees a bounded prefix.
    text = fix_8bit(str(value)[:ADDRESS_CAP])
    try:
        pairs = getaddresses([text])
    except Exception:
        pairs = []
    for name, addr in pairs:
        if addr and "@" in addr:
            return addr.strip().lower(), decode_words(name).strip() or None
    for name, addr in pairs:
        if addr or name:
            return (addr.strip().lower() or None), decode_words(name).strip() or None
    return None, None


def header_text(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    if value is None:
        return None
    text = " ".join(decode_words(value).split())
    return text or None
