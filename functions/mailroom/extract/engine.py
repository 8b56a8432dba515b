"""First extraction engine: the stdlib parses the tree, mailroom decides and decodes.

Interim: it reads the whole message into memory. The streaming engine replaces it behind the
same `extract()` signature.
"""

from __future__ import annotations

import contextlib
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from io import BytesIO
from typing import BinaryIO

from mailroom.extract.bodies import FORWARD_SCAN_BYTES, UUScanner, find_inline_forward, unpack_tnef
from mailroom.extract.collect import NO_SENDER, Collector, Sender, Stop, generated_name
from mailroom.extract.decode import decoder_for
from mailroom.extract.headers import Head, header_text, parse_address, read_head
from mailroom.extract.types import Extraction, Limits, Sink

_CHUNK = 1 << 20


def _raw_payload(msg: Message) -> bytes:
    payload = msg.get_payload()
    if isinstance(payload, list):
        return b""
    if isinstance(payload, bytes):
        return payload
    return str(payload).encode("utf-8", "surrogateescape")


def _message_bytes(msg: Message) -> bytes:
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=compat32).flatten(msg)
    return out.getvalue()


DEFAULT_LIMITS = Limits()


def extract(source: BinaryIO, sink: Sink, limits: Limits = DEFAULT_LIMITS) -> Extraction:
    data = source.read()
    result = Extraction()
    root = message_from_bytes(data, policy=compat32)
    result.sender, result.sender_name = parse_address(root.get("from"))
    result.subject = header_text(root, "subject")
    result.message_id = header_text(root, "message-id")
    result.date = header_text(root, "date")
    collector = Collector(sink, limits, result)
    if not root.keys():
        collector.warn("no header found: this does not look like an email message")
    with contextlib.suppress(Stop):
        _walk(root, collector, limits)
    return result


def _walk(root: Message, collector: Collector, limits: Limits) -> None:
    result = collector.result
    stack: list[tuple[Message, str, int, Sender, str]] = [(root, "", 0, NO_SENDER, "text/plain")]
    parts = 0
    while stack:
        msg, path, depth, sender, default = stack.pop()
        parts += 1
        if parts > limits.max_parts:
            collector.warn(f"more than {limits.max_parts} parts: the rest was not extracted")
            return
        if depth > limits.max_depth:
            collector.warn(f"nesting deeper than {limits.max_depth}: deeper parts not extracted")
            continue
        head = read_head(msg, default)
        payload = msg.get_payload()
        if head.maintype == "multipart":
            if isinstance(payload, list):
                child_default = (
                    "message/rfc822" if head.content_type == "multipart/digest" else "text/plain"
                )
                children = [
                    (sub, f"{path}.{i}" if path else str(i), depth + 1, sender, child_default)
                    for i, sub in enumerate(payload, 1)
                ]
                stack.extend(reversed(children))
            continue
        if head.is_forward and isinstance(payload, list) and payload:
            inner = payload[0]
            if not isinstance(inner, Message):
                continue
            addr, name = parse_address(inner.get("from"))
            inner_sender = Sender(addr, name, "attached-message")
            if addr and result.original_sender is None:
                result.original_sender, result.original_sender_name = addr, name
                result.original_sender_via = "attached-message"
            subject = header_text(inner, "subject")
            filename = head.filename or (f"{subject}.eml" if subject else "forwarded-message.eml")
            writer = collector.open(
                filename=filename,
                content_type=head.content_type,
                part=path or "1",
                inline=head.disposition == "inline",
                content_id=head.content_id,
                sender=sender,
                origin="message",
            )
            writer.write(_message_bytes(inner))
            writer.commit()
            inner_path = path or "1"
            stack.append((inner, inner_path, depth + 1, inner_sender, "text/plain"))
            continue
        _leaf(msg, head, path or "1", sender, collector)


def _leaf(msg: Message, head: Head, path: str, sender: Sender, collector: Collector) -> None:
    result = collector.result
    decoder = decoder_for(head.cte)
    raw = _raw_payload(msg)
    decoded = decoder.feed(raw) + decoder.finish()
    for warning in decoder.warnings:
        collector.warn(f"part {path}: {warning}")
    if head.is_body_text:
        if result.original_sender is None and head.content_type in {"text/plain", "text/html"}:
            text = decoded[:FORWARD_SCAN_BYTES].decode(head.charset or "utf-8", "replace")
            found = find_inline_forward(text, head.content_type == "text/html")
            if found:
                result.original_sender, result.original_sender_name = found.address, found.name
                result.original_sender_via = found.via
        if head.content_type == "text/plain":
            scanner = UUScanner(collector, path, sender)
            scanner.feed(decoded)
            scanner.finish()
        return
    filename = head.filename or generated_name(head.content_type, path)
    writer = collector.open(
        filename=filename,
        content_type=head.content_type,
        part=path,
        inline=head.disposition == "inline" or (head.disposition is None and bool(head.content_id)),
        content_id=head.content_id,
        sender=sender,
    )
    for i in range(0, len(decoded), _CHUNK):
        writer.write(decoded[i : i + _CHUNK])
    writer.commit()
    if head.is_tnef:
        files, error = unpack_tnef(decoded)
        if error:
            collector.warn(f"part {path}: winmail.dat could not be unpacked ({error})")
        for n, (name, data) in enumerate(files, 1):
            inner = collector.open(
                filename=name or generated_name("application/octet-stream", f"{path}.{n}"),
                content_type="application/octet-stream",
                part=f"{path}.tnef{n}",
                sender=sender,
                origin="tnef",
            )
            inner.write(data)
            inner.commit()
