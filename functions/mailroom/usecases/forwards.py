"""Who is behind a forward, decided before a file that came out of it is written.

The extraction engine streams: a forwarded message (message/rfc822) is written out as an .eml
while its own attachments are found and written. Whether its From is `verified` is known only
once all its bytes are in (its DKIM signature covers the whole body), so `ForwardTrust`, a sink
wrapped around the real one:

- keeps a copy of each forwarded message's bytes (at most dkimcheck.MAX_VERIFY_BYTES; a larger
  one is not verified) as the engine writes its .eml;
- holds back the commit of every file found inside a forward (its bytes are already spooled by
  the real sink; only the write to the bucket waits) until that forward's .eml is complete;
- then decides the level (mailroom.policy.forward_trust), sets it on each held file and commits
  them, so a file's object metadata carries its final level and record_metadata never needs a
  second look;
- gives the files that follow an inline forward ("Forwarded message" block in a body, reported
  by the engine's `on_inline_forward`) that original sender, vouched or claimed: an inline
  forward can never be verified. A file that precedes the body is not attributed to it.

Nested forwards: a forward inside a forward is verified by its own signature or claimed; the
trusted forwarder vouches only for what it forwarded itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from mailroom.dkimcheck import MAX_VERIFY_BYTES, DkimResult, TxtLookup, verify_forward
from mailroom.extract.types import Attachment, AttachmentWriter, PartInfo, Sink
from mailroom.policy import Trust, forward_trust

INLINE: Final = "inline-forward"


@dataclass(frozen=True, slots=True)
class TrustContext:
    """What the levels depend on besides the forwarded bytes."""

    outer_sender: str | None
    outer_authenticated: bool | None
    trusted_forwarders: frozenset[str]
    imported: bool  # `mailroom import`: never authenticated, so never vouched
    lookup: TxtLookup


@dataclass(slots=True)
class _Forward:
    path: str
    parent: _Forward | None
    buffer: bytearray | None = field(default_factory=bytearray)  # None once over the cap
    held: list[tuple[AttachmentWriter, Attachment]] = field(default_factory=list)
    level: Trust | None = None  # decided once the .eml is complete
    check: str | None = None
    author: str | None = None  # the From the signature vouches for (when verified)


@dataclass(frozen=True, slots=True)
class ForwardVerdict:
    """The level of the message's own original sender (for the message record)."""

    level: Trust
    check: str | None  # the DKIM result, or why it was not checked


class ForwardTrust:
    """A Sink around the real one; see the module's notes."""

    def __init__(self, sink: Sink, context: TrustContext) -> None:
        self._sink = sink
        self._context = context
        self._forwards: list[_Forward] = []  # in the order the engine opened them
        self._inline: tuple[str, str | None] | None = None
        self._inline_level: Trust | None = None

    # -- the engine's side --

    def open(self, part: PartInfo) -> AttachmentWriter:
        writer = self._sink.open(part)
        owner = self._owner(part.part)
        if part.origin == "message":
            forward = _Forward(part.part, owner)
            self._forwards.append(forward)
            return _ForwardWriter(self, forward, writer, owner)
        return _FileWriter(self, writer, owner)

    def inline_forward(self, address: str, name: str | None) -> None:
        """The engine's on_inline_forward: files that follow are forwarded on its behalf."""
        if self._inline is None:
            self._inline = (address.lower(), name)
            self._inline_level = self._level(dkim=None, top_level=True)

    # -- what the message record needs --

    def verdict(self, original_sender: str | None, via: str | None) -> ForwardVerdict | None:
        """The level of the original sender the engine reported for the whole message."""
        if not original_sender:
            return None
        if via == INLINE:
            return ForwardVerdict(self._inline_level or Trust.CLAIMED, "inline forward: no DKIM")
        for forward in self._forwards:  # the first forward opened is the one the engine names
            if forward.level is not None:
                verified = forward.level is Trust.VERIFIED
                if verified and forward.author != original_sender.lower():
                    continue
                return ForwardVerdict(forward.level, forward.check)
        return ForwardVerdict(Trust.CLAIMED, "not checked")

    # -- plumbing --

    def _owner(self, path: str) -> _Forward | None:
        """The innermost forward still open whose part path contains `path`."""
        best: _Forward | None = None
        for forward in self._forwards:
            inside = path.startswith(forward.path + ".")
            if (
                inside
                and forward.level is None
                and (best is None or len(forward.path) > len(best.path))
            ):
                best = forward
        return best

    def _level(self, dkim: DkimResult | None, *, top_level: bool) -> Trust:
        ctx = self._context
        return forward_trust(
            dkim_verified=dkim is not None and dkim.verified,
            outer_authenticated=ctx.outer_authenticated if top_level else False,
            outer_sender=ctx.outer_sender,
            trusted_forwarders=ctx.trusted_forwarders,
            imported=ctx.imported,
        )

    def _decide(self, forward: _Forward) -> None:
        dkim: DkimResult | None = None
        if forward.buffer is None:
            forward.check = f"not checked: over {MAX_VERIFY_BYTES} bytes"
        else:
            dkim = verify_forward(bytes(forward.buffer), None, self._context.lookup)
            forward.check = dkim.reason
            forward.author = dkim.author
        forward.buffer = None
        forward.level = self._level(dkim, top_level=forward.parent is None)
        held, forward.held = forward.held, []
        for writer, attachment in held:
            self._commit(writer, attachment, forward)

    def _commit(
        self, writer: AttachmentWriter, attachment: Attachment, owner: _Forward | None
    ) -> None:
        if owner is not None:
            assert owner.level is not None
            level = owner.level
            if level is Trust.VERIFIED and (attachment.original_sender or "") != owner.author:
                level = self._level(None, top_level=owner.parent is None)
            attachment = dataclasses.replace(attachment, original_sender_level=str(level))
        elif (
            attachment.original_sender is None
            and attachment.origin != "message"  # a forwarded .eml speaks for itself
            and self._inline is not None
        ):
            address, name = self._inline
            attachment = dataclasses.replace(
                attachment,
                original_sender=address,
                original_sender_name=name,
                original_sender_via=INLINE,
                original_sender_level=str(self._inline_level or Trust.CLAIMED),
            )
        writer.commit(attachment)

    def _finish(
        self, writer: AttachmentWriter, attachment: Attachment, owner: _Forward | None
    ) -> None:
        """Commit now, or hold until the owning forward's level is known."""
        if owner is not None and owner.level is None:
            owner.held.append((writer, attachment))
        else:
            self._commit(writer, attachment, owner)


class _FileWriter:
    def __init__(self, trust: ForwardTrust, writer: AttachmentWriter, owner: _Forward | None):
        self._trust = trust
        self._writer = writer
        self._owner = owner

    def write(self, chunk: bytes) -> None:
        self._writer.write(chunk)

    def commit(self, attachment: Attachment) -> None:
        self._trust._finish(self._writer, attachment, self._owner)

    def abort(self) -> None:
        self._writer.abort()


class _ForwardWriter(_FileWriter):
    """The .eml of a forward: its bytes are kept (bounded) for the DKIM check."""

    def __init__(
        self,
        trust: ForwardTrust,
        forward: _Forward,
        writer: AttachmentWriter,
        owner: _Forward | None,
    ) -> None:
        super().__init__(trust, writer, owner)
        self._forward = forward

    def write(self, chunk: bytes) -> None:
        buffer = self._forward.buffer
        if buffer is not None:
            if len(buffer) + len(chunk) > MAX_VERIFY_BYTES:
                self._forward.buffer = None  # too large to verify: not held in memory
            else:
                buffer.extend(chunk)
        super().write(chunk)

    def commit(self, attachment: Attachment) -> None:
        self._trust._decide(self._forward)  # releases the files found inside it
        super().commit(attachment)

    def abort(self) -> None:
        self._forward.buffer = None
        self._trust._decide(self._forward)  # its files are still written, unverified
        super().abort()


OnInlineForward = Callable[[str, str | None], None]
