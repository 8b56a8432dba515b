"""The streaming extraction engine: one pass over the raw message, in bounded memory.

The source is read in large chunks. A push parser per message (the outer one, and one for each
forwarded message/rfc822 inside it) keeps only the unparsed tail of the last chunk. It finds
delimiter lines with `bytes.find` of "\\n--" plus the prefix all open boundaries share (a long
needle lets the search skip ahead, and base64 never contains a dash), hands body bytes by
position to an incremental decoder, and the decoder's output goes to the hasher and the sink.
No copy of the whole message or of a whole attachment is ever held, with one exception: a
winmail.dat is buffered to be unpacked, because TNEF is not streamable (capped by TNEF_CAP).

Multipart nesting is an explicit stack, not recursion; forwarded messages nest one parser per
level and are capped by `Limits.max_depth` like multiparts.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from email.message import Message
from typing import IO, BinaryIO, Literal, Protocol

from mailroom.extract import context as body_context
from mailroom.extract.archives import ZipExpansion, closed_kind, is_zip, new_spool
from mailroom.extract.bodies import (
    FORWARD_SCAN_BYTES,
    HTML_SCAN_CHARS,
    UUScanner,
    find_inline_forward,
    html_to_text,
    unpack_tnef,
)
from mailroom.extract.collect import (
    NO_SENDER,
    Collector,
    Sender,
    SinkFailure,
    Stop,
    Writer,
    generated_name,
    type_from_name,
)
from mailroom.extract.decode import Decoder, decoder_for
from mailroom.extract.headers import (
    SIGNATURE_TYPES,
    Head,
    header_text,
    parse_address,
    parse_header_block,
    read_head,
    text_charset,
)
from mailroom.extract.outlook import MsgSender, looks_like_msg, read_msg
from mailroom.extract.roles import BODY, DOCUMENT
from mailroom.extract.types import Extraction, Sink
from mailroom.limits import Limits

DEFAULT_LIMITS = Limits()
CHUNK = 1 << 20  # read size: large enough that per-chunk Python overhead is negligible
HEADER_CAP = 1 << 20  # one entity's header block; beyond this the rest is treated as body
TNEF_CAP = 64 << 20  # a winmail.dat larger than this is kept whole but not unpacked
_LINE_WINDOW = 260  # a delimiter line: "--" (close), transport padding, line break
# A header line (anything else starts the body): as the stdlib's feedparser, plus RFC 5322's
# obsolete blanks before the colon ("Subject : ...").
_HEADER_LINE = re.compile(rb"From |[\041-\071\073-\176]+[ \t]*:|[\t ]")
# A run of such lines, each ended by a line break, none starting with "--" (a possible delimiter).
_HEADER_RUN = re.compile(rb"(?:(?!--)(?:From |[\041-\071\073-\176]++[ \t]*+:|[\t ])[^\n]*+\n)*+")

_HEADERS, _BODY, _DISCARD, _DONE = range(4)
_BOM = b"\xef\xbb\xbf"  # some tools write a UTF-8 byte-order mark before a saved message
# At least one of these makes the input an email (a text file with "key: value" lines is not).
_MESSAGE_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "received",
        "return-path",
        "sender",
        "reply-to",
        "delivered-to",
    }
)


class _Consumer(Protocol):
    def write_range(self, buf: bytes, start: int, end: int) -> None:
        """Take `buf[start:end]` (passed by position so big bodies are not copied)."""

    def close(self) -> None: ...


class _Level:
    """One open multipart: its delimiter and where its children go."""

    __slots__ = ("boundary", "child_default", "children", "depth", "path")

    def __init__(self, boundary: bytes, path: str, depth: int, child_default: str) -> None:
        self.boundary = boundary  # b"--" + boundary
        self.path = path
        self.depth = depth
        self.children = 0
        self.child_default = child_default


def _raw_boundary(boundary: str, block: bytes) -> bytes:
    """The boundary as the bytes the body uses: a non-ASCII one may be UTF-8 or a legacy 8-bit."""
    for encoding in ("utf-8", "cp1252", "latin-1"):
        raw = boundary.encode(encoding, "replace")
        if raw in block:
            return raw
    return boundary.encode("utf-8", "replace")


def _child(path: str, n: int) -> str:
    return f"{path}.{n}" if path else str(n)


SNIFF_BYTES = 4096  # of an unnamed or mislabelled part, read before deciding what it is
_EML_CONTENT_TYPES = frozenset({"application/octet-stream", "application/x-msdownload", ""})
_MSG_TYPES = frozenset({"application/vnd.ms-outlook", "application/x-msg"})
_SNIFF_NAMES = {"from", "received", "message-id", "return-path", "date"}


def looks_like_message(head: bytes) -> bool:
    """The first bytes of an email: header lines up to a blank line (or the end of `head`),
    with at least two header names of a message, one of them From, Received, Message-ID,
    Return-Path or Date. Reads `head` once."""
    names: set[str] = set()
    for raw in head.removeprefix(_BOM).split(b"\n")[:200]:
        line = raw.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            continue
        if not _HEADER_LINE.match(line) or line.startswith(b"From "):
            if line.startswith(b"From ") and not names:
                continue  # an mbox separator line before the headers
            return False
        names.add(line.split(b":", 1)[0].strip().decode("latin-1").lower())
    return len(names & _MESSAGE_HEADERS) >= 2 and bool(names & _SNIFF_NAMES)


def _is_msg(head: Head) -> bool:
    return (head.filename or "").lower().endswith(".msg") or head.content_type in _MSG_TYPES


class _Context:
    """What all the parsers of one message share."""

    def __init__(self, collector: Collector, limits: Limits) -> None:
        self.collector = collector
        self.limits = limits
        self.result = collector.result
        self.parts = 0
        # Told the sender of an inline forward as soon as a body yields one (the sink's owner
        # attributes the files that follow to it); None: nobody asks.
        self.on_inline_forward: Callable[[str, str | None], None] | None = None
        self.body_kept = False  # keep_body: the first text body of the message is stored
        self.excerpt_from_html = False  # the excerpt came from HTML; a plain body replaces it

    def warn(self, text: str) -> None:
        self.collector.warn(text)

    def open_container(  # noqa: PLR0917 - one call site each, all values at hand
        self,
        kind: str,
        path: str,
        index: int,
        spool: IO[bytes],
        size: int,
        depth: int,
        sender: Sender,
    ) -> None:
        """Open a committed container (`zip` or `msg`) from its spool: its files follow it."""
        if kind == "zip":
            ZipExpansion(
                self.collector,
                path=path,
                parent=index,
                sender=sender,
                depth=depth,
                nested=lambda kind, where, idx, inner, n, d: self.open_container(
                    kind, where, idx, inner, n, d, sender
                ),
            ).run(spool, size)
        else:
            _OutlookItem(self, path, index, depth).run(spool, size)


class MessageParser:
    """Push parser for one message: `feed()` raw bytes as they come, then `close()`."""

    def __init__(
        self,
        ctx: _Context,
        prefix: str,
        depth: int,
        sender: Sender,
        on_headers: Callable[[Message], None],
    ) -> None:
        self.ctx = ctx
        self.prefix = prefix
        self.sender = sender
        self.on_headers: Callable[[Message], None] | None = on_headers
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.line_start = True  # self.pos sits at the start of a line
        self.stack: list[_Level] = []
        self.needle = b"\n--"  # "\n" + what every open delimiter starts with
        self.by_length: list[tuple[int, dict[bytes, int]]] = []  # open boundaries by length
        self.consumer: _Consumer | None = None
        self.state = _HEADERS
        self.lines: list[bytes] = []
        self.header_bytes = 0
        self.entity = (prefix, depth, "text/plain")  # path, depth, default content type

    # -- driving -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.state == _DONE:
            return
        self.buf = self.buf[self.pos :] + data if self.pos < len(self.buf) else data
        self.pos = 0
        self._run()

    def close(self) -> None:
        if self.state == _DONE:
            return
        self.eof = True
        self._run()

    def _run(self) -> None:
        while True:
            if self.state == _HEADERS:
                progressed = self._headers()
            elif self.state == _BODY:
                progressed = self._scan(emit=True)
            elif self.state == _DISCARD:
                progressed = self._scan(emit=False)
            else:
                self.buf, self.pos = b"", 0
                return
            if not progressed:
                return

    def _finish(self) -> None:
        """End of input: close what is open and say what was left unterminated."""
        if self.consumer is not None:
            consumer, self.consumer = self.consumer, None
            consumer.close()
        if self.stack:
            self.ctx.warn(
                f"part {self.stack[-1].path or 'message'}: missing close boundary "
                "(the message ends inside a multipart)"
            )
            self.stack.clear()
            self._stack_changed()
        self.state = _DONE

    # -- headers -------------------------------------------------------------------------

    def _headers(self) -> bool:
        buf, p = self.buf, self.pos
        body_at: int | None = None
        while body_at is None:
            # Whole header lines in one step (in C), so a block of many short lines costs no
            # Python per line; a line that may end the block is looked at one by one below.
            run = _HEADER_RUN.match(buf, p).end()  # type: ignore[union-attr]  # `*+` always matches
            if run > p:
                room = HEADER_CAP - self.header_bytes
                if run - p > room:  # up to the cap; the line that passes it is taken below
                    run = buf.rfind(b"\n", p, p + room) + 1 or p
                if run > p:
                    self.lines.append(buf[p:run])
                    self.header_bytes += run - p
                    p = run
            nl = buf.find(b"\n", p)
            if nl < 0:
                if not self.eof:
                    if self.header_bytes + len(buf) - p <= HEADER_CAP:
                        self.pos = p
                        return False
                    self.ctx.warn(f"part {self.entity[0] or 'message'}: header block too long")
                    body_at = p
                    break
                line, end = buf[p:], len(buf)
                if not line:
                    body_at = p
                    break
            else:
                line, end = buf[p : nl + 1], nl + 1
            if line in (b"\r\n", b"\n"):
                body_at = end
                self.line_start = True
                break
            if line.startswith(b"--") and self.stack and isinstance(self._delimiter(p), tuple):
                body_at = p  # a part with headers and no body: the delimiter follows at once
                self.line_start = True
                break
            if not _HEADER_LINE.match(line):
                body_at = p
                self.line_start = True
                break
            self.lines.append(line)
            self.header_bytes += len(line)
            p = end
            if self.header_bytes > HEADER_CAP:
                self.ctx.warn(f"part {self.entity[0] or 'message'}: header block too long")
                body_at = p
                self.line_start = True
            elif nl < 0:
                body_at = p
        self.pos = body_at
        block, self.lines, self.header_bytes = b"".join(self.lines), [], 0
        self._entity(block)
        return True

    def _entity(self, block: bytes) -> None:
        path, depth, default = self.entity
        ctx = self.ctx
        ctx.parts += 1
        if ctx.parts > ctx.limits.max_parts:
            ctx.warn(
                f"more than {ctx.limits.max_parts} MIME parts: extraction stopped there, "
                "the remaining parts were not extracted"
            )
            raise Stop
        msg = parse_header_block(block)
        root = self.on_headers is not None
        if self.on_headers is not None:
            on_headers, self.on_headers = self.on_headers, None
            on_headers(msg)
        head = read_head(msg, default)
        leaf_path = _child(path, 1) if root else path
        self.state = _BODY
        if depth > ctx.limits.max_depth:
            ctx.warn(
                f"part {leaf_path}: nested deeper than {ctx.limits.max_depth} levels; "
                "its contents were not extracted"
            )
            return
        if head.maintype == "multipart":
            if not head.boundary:
                ctx.warn(f"part {leaf_path}: multipart without a boundary; contents skipped")
                return
            child_default = "message/rfc822" if head.content_type == "multipart/digest" else ""
            boundary = b"--" + _raw_boundary(head.boundary, block)
            self.stack.append(_Level(boundary, path, depth, child_default or "text/plain"))
            self._stack_changed()
            self.state = _DISCARD  # the preamble
            return
        self.consumer = self._consumer(head, leaf_path, depth)

    def _consumer(self, head: Head, path: str, depth: int) -> _Consumer | None:
        decoder = decoder_for(head.cte)
        if head.is_forward:
            return _Forward(self.ctx, head, path, depth=depth, sender=self.sender, decoder=decoder)
        if head.is_body_text:
            return _Text(self.ctx, head, path, self.sender, decoder, outer=self.prefix == "")
        name = (head.filename or "").lower()
        unnamed_binary = not head.filename and head.content_type in _EML_CONTENT_TYPES
        if unnamed_binary or name.endswith(".eml") or _is_msg(head):
            return _Sniff(self, head, path, depth, decoder)
        return self._file(head, path, decoder)

    def _file(self, head: Head, path: str, decoder: Decoder, kind: str | None = None) -> _File:
        collector = self.ctx.collector
        role: tuple[str, str] | None = None
        filename = head.filename or generated_name(head.content_type, path)
        limits = self.ctx.limits
        if kind is None and is_zip(head.content_type, filename):
            kind = "zip"
        if kind in {"zip", "msg"} and not limits.expand_archives:
            what = "archive" if kind == "zip" else "Outlook item"
            role, kind = (DOCUMENT, f"{what}, not opened (expand_archives is off)"), None
        closed = closed_kind(head.content_type, filename) if kind is None else None
        if closed is not None and role is None:
            role = (DOCUMENT, f"archive not opened ({closed})")
        writer = collector.open(
            filename=filename,
            content_type=head.content_type,
            part=path,
            inline=head.disposition == "inline" or (not head.disposition and bool(head.content_id)),
            content_id=head.content_id,
            sender=self.sender,
            signature=head.content_type in SIGNATURE_TYPES,
            role=role,
        )
        if closed is not None:
            self.ctx.warn(f"part {path}: {filename!r}: archive not opened ({closed})")
        return _File(
            self.ctx, head, path, sender=self.sender, decoder=decoder, writer=writer, kind=kind
        )

    # -- bodies, preambles, epilogues ----------------------------------------------------

    def _delimiter(self, p: int) -> tuple[int, bool, int] | Literal[True] | None:
        """At a line start `p`: (level, is_close, end of line), None if no delimiter, True if
        more input is needed to tell. The innermost matching level wins."""
        buf = self.buf
        avail = len(buf) - p
        if avail < 2:
            return None if self.eof else True
        if buf[p] != 0x2D or buf[p + 1] != 0x2D:
            return None
        best: tuple[int, bool, int] | None = None
        # One dictionary lookup per boundary length, not one comparison per open level: a
        # hostile body of dash lines under a deep stack costs no more than a shallow one.
        for length, table in self.by_length:
            if avail < length:
                if not self.eof and any(b.startswith(buf[p:]) for b in table):
                    return True
                continue
            level = table.get(buf[p : p + length])
            if level is None:
                continue
            start = p + length
            nl = buf.find(b"\n", start, start + _LINE_WINDOW)
            end: int | None
            if nl >= 0:
                rest, end = buf[start:nl], nl + 1
            elif len(buf) - start < _LINE_WINDOW:  # the line may still end shortly
                if not self.eof:
                    return True
                rest, end = buf[start:], len(buf)
            else:  # a long line: only a close delimiter with junk after it can be one
                rest, end = buf[start : start + 2], None
            rest = rest.removesuffix(b"\r")
            # A close delimiter followed by junk ("--b-->") still closes, as in most mail
            # readers; a separator must be followed by whitespace only, since a longer line
            # may be the delimiter of a nested boundary that extends this one.
            if rest[:2] == b"--":
                found = (level, True, end if end is not None else self._line_end(p))
            elif end is not None and not rest.strip(b" \t"):
                found = (level, False, end)
            else:
                continue
            if best is None or level > best[0]:
                best = found
        return best

    def _line_end(self, p: int) -> int:
        nl = self.buf.find(b"\n", p)
        return nl + 1 if nl >= 0 else len(self.buf)

    def _stack_changed(self) -> None:
        tables: dict[int, dict[bytes, int]] = {}
        for index, entry in enumerate(self.stack):
            tables.setdefault(len(entry.boundary), {})[entry.boundary] = index
        self.by_length = sorted(tables.items())
        # A longer needle lets bytes.find skip ahead much faster than a bare "\n--".
        prefix = b"--"
        if self.stack:
            prefix = self.stack[0].boundary[:64]
            for level in self.stack[1:]:
                while not level.boundary.startswith(prefix):
                    prefix = prefix[:-1]
        self.needle = b"\n" + prefix

    def _emit(self, start: int, end: int, emit: bool) -> None:
        if emit and end > start and self.consumer is not None:
            self.consumer.write_range(self.buf, start, end)
        self.pos = end

    def _scan(self, emit: bool) -> bool:
        buf, start = self.buf, self.pos
        if not self.stack:  # a top-level body, or the last epilogue: everything to the end
            self._emit(start, len(buf), emit)
            if self.eof:
                self._finish()
                return True
            return False
        if self.line_start:
            found = self._delimiter(start)
            if found is True:
                return False
            if found is not None:
                self._at_delimiter(start, start, found, emit)
                return True
            self.line_start = False
        search, needle = start, self.needle
        while True:
            i = buf.find(needle, search)
            if i < 0:
                end = len(buf)
                if self.eof:
                    self._emit(start, end, emit)
                    self._finish()
                    return True
                # Keep back what could begin a delimiter split across chunks: a last partial
                # line that is a prefix of the needle. Anything else (a base64 line cut by the
                # chunk) goes on now, so the next chunk starts a fresh buffer instead of being
                # copied onto a kept-back tail.
                tail = buf.rfind(b"\n", max(start, end - len(needle)), end)
                if tail >= 0 and needle.startswith(buf[tail:end]):
                    end = tail
                if end > start and buf[end - 1] == 0x0D:
                    end -= 1
                self._emit(start, end, emit)
                return False
            found = self._delimiter(i + 1)
            if found is None:
                search = i + 1
                continue
            end = i - 1 if i > start and buf[i - 1] == 0x0D else i
            if found is True:
                self._emit(start, end, emit)
                return False
            self._at_delimiter(start, end, found, emit)
            return True

    def _at_delimiter(self, start: int, end: int, found: tuple[int, bool, int], emit: bool) -> None:
        level, close, line_end = found
        self._emit(start, end, emit)
        self.pos, self.line_start = line_end, True
        if self.consumer is not None:
            consumer, self.consumer = self.consumer, None
            consumer.close()
        while len(self.stack) - 1 > level:
            inner = self.stack.pop()
            self.ctx.warn(f"part {inner.path}: missing close boundary")
        self._stack_changed()
        if close:
            self.stack.pop()
            self._stack_changed()
            self.state = _DISCARD if self.stack else _DONE
            if self.state == _DONE:
                self.buf, self.pos = b"", 0
            return
        parent = self.stack[level]
        parent.children += 1
        self.entity = (_child(parent.path, parent.children), parent.depth + 1, parent.child_default)
        self.state = _HEADERS


class _File:
    """A leaf that is a document: decode, hash, write; unpack it too if it is a winmail.dat."""

    def __init__(
        self,
        ctx: _Context,
        head: Head,
        path: str,
        *,
        sender: Sender,
        decoder: Decoder,
        writer: Writer,
        kind: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.path = path
        self.sender = sender
        self.decoder = decoder
        self.writer = writer
        self.tnef: list[bytes] | None = [] if head.is_tnef else None
        self.tnef_size = 0
        # A zip or an Outlook item: spooled as it passes, opened once committed.
        self.kind = kind if kind in {"zip", "msg"} else None
        self.spool: IO[bytes] | None = new_spool() if self.kind else None
        self.spool_size = 0

    def write_range(self, buf: bytes, start: int, end: int) -> None:
        out = self.decoder.feed_range(buf, start, end)
        if out:
            self.writer.write(out)
            if self.tnef is not None:
                self._keep(out)
            if self.spool is not None:
                self.spool.write(out)
                self.spool_size += len(out)

    def _keep(self, out: bytes) -> None:
        assert self.tnef is not None
        self.tnef_size += len(out)
        if self.tnef_size > TNEF_CAP:
            self.ctx.warn(f"part {self.path}: winmail.dat too large to unpack; kept whole")
            self.tnef = None
        else:
            self.tnef.append(out)

    def close(self) -> None:
        out = self.decoder.finish()
        if out:
            self.writer.write(out)
            if self.tnef is not None:
                self._keep(out)
            if self.spool is not None:
                self.spool.write(out)
                self.spool_size += len(out)
        for warning in self.decoder.warnings:
            self.ctx.warn(f"part {self.path}: {warning}")
        attachment = self.writer.commit()
        if self.tnef is not None:
            self._unpack(b"".join(self.tnef))
        if self.spool is not None and self.kind is not None:
            spool, self.spool = self.spool, None
            try:
                self.ctx.open_container(
                    self.kind,
                    self.path,
                    attachment.index,
                    spool,
                    self.spool_size,
                    1,
                    self.sender,
                )
            finally:
                spool.close()

    def _unpack(self, data: bytes) -> None:
        self.tnef = None
        files, error = unpack_tnef(data)
        del data
        if error:
            self.ctx.warn(f"part {self.path}: winmail.dat could not be unpacked ({error})")
        elif not files:
            self.ctx.warn(f"part {self.path}: winmail.dat holds no attached files")
        collector = self.ctx.collector
        for n, (name, payload) in enumerate(files, 1):
            path = f"{self.path}.tnef{n}"
            writer = collector.open(
                filename=name or generated_name("application/octet-stream", path),
                content_type=type_from_name(name) if name else "application/octet-stream",
                part=path,
                sender=self.sender,
                origin="tnef",
            )
            writer.write(payload)
            writer.commit()


class _Text:
    """A body: scanned for an inline-forward marker, uuencoded files, the message's context
    (excerpt, file-sharing links, `cid:` references), then dropped, or kept with `keep_body`."""

    def __init__(
        self,
        ctx: _Context,
        head: Head,
        path: str,
        sender: Sender,
        decoder: Decoder,
        *,
        outer: bool = False,
    ) -> None:
        self.ctx = ctx
        self.head = head
        self.path = path
        self.decoder = decoder
        self.outer = outer
        readable = head.content_type in {"text/plain", "text/html"}
        self.wants_forward = ctx.result.original_sender is None and readable
        # Links and cid: references are read from every readable body; the excerpt from the
        # outer message's first plain body (else its first HTML one).
        self.sample: list[bytes] | None = [] if readable else None
        self.sample_size = 0
        self.uu = UUScanner(ctx.collector, path, sender) if head.maintype == "text" else None
        self.body: Writer | None = None
        if readable and outer and ctx.limits.keep_body and not ctx.body_kept:
            ctx.body_kept = True
            ext = ".html" if head.content_type == "text/html" else ".txt"
            self.body = ctx.collector.open(
                filename="body" + ext,
                content_type=head.content_type,
                part=path,
                sender=sender,
                origin="body",
                role=(BODY, "the message's text body (keep_body)"),
                index=0,
            )

    def write_range(self, buf: bytes, start: int, end: int) -> None:
        self._take(self.decoder.feed_range(buf, start, end))

    def _take(self, out: bytes) -> None:
        if not out:
            return
        if self.sample is not None and self.sample_size < FORWARD_SCAN_BYTES:
            self.sample.append(out[: FORWARD_SCAN_BYTES - self.sample_size])
            self.sample_size += len(self.sample[-1])
        if self.uu is not None:
            self.uu.feed(out)
        if self.body is not None:
            self.body.write(out)

    def close(self) -> None:
        self._take(self.decoder.finish())
        if self.uu is not None:
            self.uu.finish()
        if self.body is not None:
            self.body.commit()
        if self.sample is None:
            return
        result = self.ctx.result
        charset = text_charset(self.head.charset) or "utf-8"
        raw = b"".join(self.sample)
        self.sample = None
        try:
            text = raw.decode(charset, "replace")
        except (LookupError, ValueError, TypeError):  # unknown or garbled charset label
            text = raw.decode("utf-8", "replace")
        del raw
        is_html = self.head.content_type == "text/html"
        wants_excerpt = self.outer and (
            result.excerpt is None or (self.ctx.excerpt_from_html and not is_html)
        )
        forward = self.wants_forward and result.original_sender is None
        # An HTML body is turned into text once, for the forward search and the excerpt.
        plain = html_to_text(text[:HTML_SCAN_CHARS]) if is_html and forward else None
        if forward:
            found = find_inline_forward(plain if plain is not None else text)
            if found is not None:
                result.original_sender = found.address
                result.original_sender_name = found.name
                result.original_sender_via = found.via
                if self.ctx.on_inline_forward is not None and found.address:
                    self.ctx.on_inline_forward(found.address, found.name)
        cids = self.ctx.collector.referenced if is_html else None
        body_context.scan_links(text, result.links, cids)
        if wants_excerpt:
            if plain is None:
                start = text[: body_context.EXCERPT_SCAN_CHARS]
                plain = html_to_text(start) if is_html else start
            found_excerpt = body_context.excerpt(plain)
            if found_excerpt is not None:
                result.excerpt = found_excerpt
                self.ctx.excerpt_from_html = is_html


class _Sniff:
    """An unnamed binary part, a part named .eml or .msg: its first decoded bytes decide
    whether it is a forwarded message (parsed like message/rfc822), an Outlook item or a file.
    Nothing is announced until then, so numbering stays in order of appearance."""

    def __init__(
        self, parser: MessageParser, head: Head, path: str, depth: int, decoder: Decoder
    ) -> None:
        self.parser = parser
        self.head = head
        self.path = path
        self.depth = depth
        self.decoder = decoder
        self.buffer = bytearray()
        self.target: _Consumer | None = None

    def write_range(self, buf: bytes, start: int, end: int) -> None:
        out = self.decoder.feed_range(buf, start, end)
        if out:
            self._pass(out)

    def _pass(self, out: bytes) -> None:
        if self.target is not None:
            self.target.write_range(out, 0, len(out))
            return
        self.buffer += out
        if len(self.buffer) >= SNIFF_BYTES:
            self._decide()

    def _decide(self) -> None:
        head, data = self.head, bytes(self.buffer)
        self.buffer = bytearray()
        plain = Decoder()  # what follows is already decoded
        parser = self.parser
        if looks_like_msg(data) and _is_msg(head):
            self.target = parser._file(head, self.path, plain, kind="msg")
        elif looks_like_message(data[:SNIFF_BYTES]):
            forward_head = dataclasses.replace(head, content_type="message/rfc822")
            self.target = _Forward(
                parser.ctx,
                forward_head,
                self.path,
                depth=self.depth,
                sender=parser.sender,
                decoder=plain,
            )
        else:
            self.target = parser._file(head, self.path, plain)
        if data:
            self.target.write_range(data, 0, len(data))

    def close(self) -> None:
        out = self.decoder.finish()
        if out:
            self._pass(out)
        if self.target is None:
            self._decide()
        for warning in self.decoder.warnings:
            self.parser.ctx.warn(f"part {self.path}: {warning}")
        assert self.target is not None
        self.target.close()


class _OutlookItem:
    """An Outlook .msg, committed as a file: its attachments follow it, each with the item's
    sender as their original sender (a claim, as with a forwarded .eml)."""

    def __init__(self, ctx: _Context, path: str, index: int, depth: int) -> None:
        self.ctx = ctx
        self.path = path
        self.index = index
        self.depth = depth
        self.count = 0

    def run(self, spool: IO[bytes], size: int) -> None:
        read_msg(spool, size, self._emit, lambda text: self.ctx.warn(f"part {self.path}: {text}"))

    def _emit(
        self, name: str, content_type: str | None, data: bytes, sender: MsgSender, level: int
    ) -> None:
        ctx = self.ctx
        result = ctx.result
        if sender.address and result.original_sender is None:
            result.original_sender, result.original_sender_name = sender.address, sender.name
            result.original_sender_via = "attached-message"
        self.count += 1
        path = f"{self.path}.m{self.count}"
        ctype = content_type if content_type and "/" in content_type else type_from_name(name)
        from_item = (
            Sender(sender.address, sender.name, "attached-message") if sender.address else NO_SENDER
        )
        writer = ctx.collector.open(
            filename=name,
            content_type=ctype,
            part=path,
            sender=from_item,
            origin="outlook",
            parent=self.index,
        )
        for at in range(0, len(data), CHUNK):
            writer.write(data[at : at + CHUNK])
        attachment = writer.commit()
        limits = ctx.limits
        kind = "zip" if is_zip(ctype, name) else None
        if kind is None and name.lower().endswith(".msg") and looks_like_msg(data[:8]):
            kind = "msg"  # an Outlook item attached as a file, not embedded
        if kind is not None and limits.expand_archives:
            if self.depth >= limits.max_archive_depth:
                ctx.warn(f"part {path}: {name!r}: nested too deep; not opened")
                return
            ctx.open_container(
                kind,
                path,
                attachment.index,
                io.BytesIO(data),
                len(data),
                self.depth + 1,
                from_item,
            )


class _Forward:
    """A forwarded message: kept whole as an .eml and parsed for its own attachments.

    The .eml is announced once the inner headers are read (its name comes from the inner
    Subject), so it is numbered before the files found inside it.
    """

    def __init__(
        self,
        ctx: _Context,
        head: Head,
        path: str,
        *,
        depth: int,
        sender: Sender,
        decoder: Decoder,
    ) -> None:
        self.ctx = ctx
        self.head = head
        self.path = path
        self.outer_sender = sender
        self.decoder = decoder
        self.writer: Writer | None = None
        self.pending: list[bytes] = []
        self.inner = MessageParser(ctx, path, depth + 1, NO_SENDER, self._inner_headers)

    def _inner_headers(self, msg: Message) -> None:
        address, name = parse_address(msg.get("from"))
        result = self.ctx.result
        if address and result.original_sender is None:
            result.original_sender, result.original_sender_name = address, name
            result.original_sender_via = "attached-message"
        self.inner.sender = Sender(address, name, "attached-message") if address else NO_SENDER
        subject = header_text(msg, "subject")
        head = self.head
        filename = head.filename or (f"{subject}.eml" if subject else "forwarded-message.eml")
        self.writer = self.ctx.collector.open(
            filename=filename,
            content_type=head.content_type,
            part=self.path,
            inline=head.disposition == "inline",
            content_id=head.content_id,
            sender=self.outer_sender,
            origin="message",
        )
        pending, self.pending = self.pending, []
        for data in pending:
            self.writer.write(data)

    def _pass(self, out: bytes) -> None:
        if self.writer is None:
            self.pending.append(out)
            self.inner.feed(out)  # may announce the .eml, which then writes what is pending
        else:
            self.writer.write(out)
            self.inner.feed(out)

    def write_range(self, buf: bytes, start: int, end: int) -> None:
        out = self.decoder.feed_range(buf, start, end)
        if out:
            self._pass(out)

    def close(self) -> None:
        out = self.decoder.finish()
        if out:
            self._pass(out)
        for warning in self.decoder.warnings:
            self.ctx.warn(f"part {self.path}: {warning}")
        self.inner.close()
        if self.writer is None:  # an empty forward: the inner headers were never announced
            self.inner.on_headers = None
            self._inner_headers(Message())
        assert self.writer is not None
        self.writer.commit()


def extract(
    source: BinaryIO,
    sink: Sink,
    limits: Limits = DEFAULT_LIMITS,
    *,
    on_inline_forward: Callable[[str, str | None], None] | None = None,
) -> Extraction:
    """Extract every attachment of the message read from `source` into `sink`.

    `on_inline_forward(address, name)` is called once, when a body's inline-forward block
    ("Forwarded message") yields the original sender, before the files that follow it open.

    Never raises for what the message contains: damage and caps become warnings. Only errors
    from reading `source` or from the sink propagate (open attachments are aborted first).
    """
    result = Extraction()
    collector = Collector(sink, limits, result)
    ctx = _Context(collector, limits)
    ctx.on_inline_forward = on_inline_forward

    def outer_headers(msg: Message) -> None:
        if not {name.lower() for name in msg} & _MESSAGE_HEADERS:
            ctx.warn("no message header found: this does not look like an email message")
        result.sender, result.sender_name = parse_address(msg.get("from"))
        result.subject = header_text(msg, "subject")
        result.message_id = header_text(msg, "message-id")
        result.date = header_text(msg, "date")
        remote = header_text(msg, "remote-attachment-url")
        if remote and remote.lower().startswith(("https://", "http://")):
            result.links.append(remote[: body_context.MAX_LINK_CHARS])

    parser = MessageParser(ctx, "", 0, NO_SENDER, outer_headers)
    start: bytes | None = b""  # the first bytes, until we know if they are a byte-order mark
    try:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            if start is not None:
                start += chunk
                if len(start) < len(_BOM) and _BOM.startswith(start):
                    continue
                chunk, start = start.removeprefix(_BOM), None
            if chunk and not _guarded(collector, parser.feed, chunk):
                return result
        _guarded(collector, parser.close, b"")
    except BaseException:
        collector.abort_open()
        raise
    return result


def _guarded(collector: Collector, step: Callable[..., None], chunk: bytes) -> bool:
    """Run one parser step; False once a cap stops extraction (already a warning).

    Malformed input never raises (the parsers turn damage into warnings), so any other
    exception is our own bug: it propagates, with open attachments aborted, and the caller
    records the message `failed` and retries it, instead of calling a partial result complete.
    """
    try:
        if chunk:
            step(chunk)
        else:
            step()
    except Stop:
        collector.abort_open()
        return False
    except SinkFailure as failure:
        collector.abort_open()
        raise failure.error from None
    except Exception:
        collector.abort_open()
        raise
    return True
