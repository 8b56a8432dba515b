"""Turning found parts into attachments: numbering, names, hashing, caps, the sink.

Both the MIME walker and the body scanners (uuencode, TNEF) hand their finds to one
`Collector`, so numbering, unique names and the total-size cap are decided in one place.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from typing import Literal

from mailroom.extract.images import HEAD_BYTES, image_size
from mailroom.extract.roles import classify, is_image
from mailroom.extract.types import (
    Attachment,
    AttachmentWriter,
    Extraction,
    OriginalSenderVia,
    PartInfo,
    Sink,
)
from mailroom.limits import Limits
from mailroom.naming import MAX_NAME_BYTES, safe_name

Origin = Literal["mime", "message", "tnef", "uuencode", "archive", "outlook", "body"]
MAX_FILENAME_CHARS = 1024  # an original name longer than this is hostile; keep its start

# Extensions mimetypes gets wrong or does not know, for names we have to make up.
_EXTENSIONS = {
    "application/octet-stream": ".bin",
    "application/pdf": ".pdf",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".pgp",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "text/rfc822-headers": ".txt",
}


def extension_for(content_type: str) -> str:
    ext = _EXTENSIONS.get(content_type)
    if ext is None:
        ext = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return ext


def type_from_name(name: str) -> str:
    """A content type guessed from a file name, for files that come without one."""
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def generated_name(content_type: str, part: str) -> str:
    """A name for a part that has none: its MIME path and an extension from its type."""
    return f"part-{part.replace('.', '-') or '1'}{extension_for(content_type)}"


@dataclass(frozen=True, slots=True)
class Sender:
    """The From of the (forwarded) message a part belongs to, and how we learnt it."""

    address: str | None
    name: str | None
    via: OriginalSenderVia | None


NO_SENDER = Sender(None, None, None)


class Stop(Exception):
    """A cap was reached: extraction ends here, with a warning already recorded."""


class SinkFailure(Exception):
    """The sink failed: its error must reach the caller unchanged, not become a warning."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class Collector:
    def __init__(self, sink: Sink, limits: Limits, result: Extraction) -> None:
        self.sink = sink
        self.limits = limits
        self.result = result
        self.total = 0
        self.stopped = False
        self._names: set[str] = set()
        self._seen: dict[str, int] = {}
        self._next_index = 1
        self._open: dict[int, Writer] = {}
        # Content-IDs referenced by `cid:` in the HTML bodies read so far (lower-case).
        self.referenced: set[str] = set()

    def warn(self, text: str) -> None:
        if text not in self.result.warnings:
            self.result.warnings.append(text)

    def unique(self, name: str) -> str:
        """The sanitised name, made unique within the message (case-insensitively)."""
        base = safe_name(name)
        candidate, n = base, self._seen.get(base.lower(), 1)
        while candidate.lower() in self._names:
            n += 1
            stem, dot, ext = base.rpartition(".")
            if not dot or not stem:
                stem, ext = base, ""
            suffix = f" ({n}){'.' + ext if ext else ''}"
            # Shorten the stem first so the counter survives the length bound.
            room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
            stem = stem.encode("utf-8")[: max(room, 1)].decode("utf-8", "ignore")
            candidate = safe_name(stem + suffix)
        self._names.add(candidate.lower())
        self._seen[base.lower()] = n  # the next duplicate starts counting here, not at 1
        return candidate

    def open(
        self,
        *,
        filename: str,
        content_type: str,
        part: str,
        inline: bool = False,
        content_id: str | None = None,
        sender: Sender = NO_SENDER,
        origin: Origin = "mime",
        signature: bool = False,
        parent: int | None = None,
        role: tuple[str, str] | None = None,
        index: int | None = None,
    ) -> Writer:
        """Announce a file. `role` forces (role, reason) instead of the rule's; `index` is given
        only for the kept body (0, so that keeping it shifts no other file's key)."""
        if self.stopped:
            raise Stop
        info = PartInfo(
            index=self._next_index if index is None else index,
            filename=filename[:MAX_FILENAME_CHARS],
            safe_name=self.unique(filename),
            content_type=content_type,
            part=part,
            inline=inline,
            content_id=content_id,
            original_sender=sender.address,
            original_sender_name=sender.name,
            original_sender_via=sender.via,
            origin=origin,
            signature=signature,
            parent=parent,
        )
        if index is None:
            self._next_index += 1
        try:
            out = self.sink.open(info)
        except Exception as exc:
            raise SinkFailure(exc) from exc
        writer = Writer(self, info, out, role)
        self._open[info.index] = writer
        return writer

    def closed(self, writer: Writer) -> None:
        self._open.pop(writer.info.index, None)

    def abort_open(self) -> None:
        """Abort whatever is still open, innermost (latest) first."""
        for index in sorted(self._open, reverse=True):
            writer = self._open.pop(index)
            try:
                writer.abort()
            except SinkFailure:
                continue

    def committed(self, attachment: Attachment) -> None:
        self.result.attachments.append(attachment)
        # Keep the list in index order even when a forwarded .eml finishes after its contents.
        if (
            len(self.result.attachments) > 1
            and attachment.index < self.result.attachments[-2].index
        ):
            self.result.attachments.sort(key=lambda a: a.index)

    def count(self, n: int) -> None:
        self.total += n
        if self.total > self.limits.max_total_bytes:
            self.stopped = True
            self.warn(
                f"total decoded size over the limit of {self.limits.max_total_bytes} bytes: "
                "extraction stopped, the remaining parts were not extracted"
            )
            raise Stop


class Writer:
    """Counts, hashes and forwards one attachment's decoded bytes to the sink."""

    def __init__(
        self,
        owner: Collector,
        info: PartInfo,
        out: AttachmentWriter,
        role: tuple[str, str] | None = None,
    ) -> None:
        self.owner = owner
        self.info = info
        self.out = out
        self.size = 0
        self.hash = hashlib.sha256()
        self.done = False
        self.role = role
        # An image's first bytes, to read its width and height from its header.
        self.head: bytearray | None = (
            bytearray() if role is None and is_image(info.content_type, info.filename) else None
        )

    def write(self, chunk: bytes) -> None:
        if not chunk or self.done:
            return
        self.owner.count(len(chunk))
        self.size += len(chunk)
        self.hash.update(chunk)
        if self.head is not None and len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        try:
            self.out.write(chunk)
        except Exception as exc:
            raise SinkFailure(exc) from exc

    def _role(self) -> tuple[tuple[str, str], tuple[int, int] | None]:
        info = self.info
        dimensions = image_size(bytes(self.head)) if self.head is not None else None
        self.head = None
        if self.role is not None:
            return self.role, dimensions
        cid = (info.content_id or "").lower()
        role = classify(
            content_type=info.content_type,
            filename=info.filename,
            size=self.size,
            inline=info.inline,
            referenced=bool(cid) and cid in self.owner.referenced,
            dimensions=dimensions,
            limits=self.owner.limits,
        )
        return role, dimensions

    def commit(self) -> Attachment:
        (role, reason), dimensions = self._role()
        attachment = Attachment.of(
            self.info,
            self.size,
            self.hash.hexdigest(),
            role=role,
            role_reason=reason,
            dimensions=dimensions,
        )
        if not self.done:
            self.done = True
            self.owner.closed(self)
            try:
                self.out.commit(attachment)
            except Exception as exc:
                raise SinkFailure(exc) from exc
            self.owner.committed(attachment)
        return attachment

    def abort(self) -> None:
        if not self.done:
            self.done = True
            self.owner.closed(self)
            try:
                self.out.abort()
            except Exception as exc:
                raise SinkFailure(exc) from exc
