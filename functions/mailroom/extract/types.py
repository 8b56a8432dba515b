"""The extraction contract: what the engine reports, and where it writes decoded bytes.

The engine streams: it announces each attachment (`Sink.open`) as soon as the part's headers are
read, writes decoded chunks as they come, and commits with the final size and sha256. A sink
decides where bytes go (S3, nowhere for `mailroom inspect`), so the engine never holds a whole
attachment or message unless a sink chooses to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

OriginalSenderVia = Literal["attached-message", "inline-forward"]


@dataclass(frozen=True, slots=True)
class PartInfo:
    """An attachment as known from its headers, before its body is decoded."""

    index: int  # 1-based, in order of appearance: the <nn> of the object key
    filename: str  # decoded original name (generated when the part has none)
    safe_name: str  # sanitised name for the key; unique within the message once prefixed by nn
    content_type: str  # declared, lower-case, without parameters
    part: str  # MIME path, "1.2.1" style
    inline: bool = False  # Content-Disposition inline, or a Content-ID referenced part
    content_id: str | None = None
    # The From of the forwarded message this part came out of, if any. Neither kind is
    # authenticated by SES: only the outer message's sender is.
    original_sender: str | None = None
    original_sender_name: str | None = None
    original_sender_via: OriginalSenderVia | None = None
    # Never set by the engine: the sink's owner decides it (verified, vouched or claimed;
    # mailroom.policy.Trust) and passes it on with the attachment it commits.
    original_sender_level: str | None = None
    # How the bytes were found: a MIME leaf, a forwarded message kept whole as .eml, a file
    # unpacked from winmail.dat, a uuencoded block in a text body, a member of a zip archive,
    # an attachment of an Outlook .msg, the message's own text body (`keep_body`).
    origin: Literal["mime", "message", "tnef", "uuencode", "archive", "outlook", "body"] = "mime"
    # A detached signature (smime.p7s, PGP) of a multipart/signed: kept, but not a document.
    signature: bool = False
    # The index of the container (zip, .msg) this file was taken out of, if any.
    parent: int | None = None


@dataclass(frozen=True, slots=True)
class Attachment(PartInfo):
    """An attachment once all its bytes are decoded."""

    size: int = 0
    sha256: str = ""
    # What the file is to staff (mailroom.extract.roles) and why; the image's size if read.
    role: str = "document"
    role_reason: str = ""
    width: int | None = None
    height: int | None = None

    @classmethod
    def of(
        cls,
        part: PartInfo,
        size: int,
        sha256: str,
        *,
        role: str = "document",
        role_reason: str = "",
        dimensions: tuple[int, int] | None = None,
    ) -> Attachment:
        fields = {name: getattr(part, name) for name in PartInfo.__dataclass_fields__}
        width, height = dimensions if dimensions is not None else (None, None)
        return cls(
            **fields,
            size=size,
            sha256=sha256,
            role=role,
            role_reason=role_reason,
            width=width,
            height=height,
        )


@dataclass(slots=True)
class Extraction:
    """What one message yielded."""

    sender: str | None = None  # From address, lower-case
    sender_name: str | None = None
    subject: str | None = None
    message_id: str | None = None  # the Message-ID header
    date: str | None = None  # the Date header, as written
    original_sender: str | None = None  # first forwarded-message From found, if any
    original_sender_name: str | None = None
    original_sender_via: OriginalSenderVia | None = None
    attachments: list[Attachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The message's context (issue 20): the first lines of its text, quoted replies and
    # signature trimmed, and file-sharing links from its bodies and Remote-Attachment-Url.
    excerpt: str | None = None
    links: list[str] = field(default_factory=list)


class AttachmentWriter(Protocol):
    def write(self, chunk: bytes) -> None: ...

    def commit(self, attachment: Attachment) -> None:
        """All bytes written; `attachment` carries the final size and sha256."""

    def abort(self) -> None:
        """The part could not be completed; discard what was written."""


class Sink(Protocol):
    def open(self, part: PartInfo) -> AttachmentWriter: ...


class _Discard:
    def write(self, chunk: bytes) -> None:
        pass

    def commit(self, attachment: Attachment) -> None:
        pass

    def abort(self) -> None:
        pass


class DiscardSink:
    """Keeps nothing: for `mailroom inspect` and the benchmark (the engine still hashes)."""

    def open(self, part: PartInfo) -> AttachmentWriter:
        return _Discard()
