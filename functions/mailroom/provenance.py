"""Provenance carried in S3 user metadata, from the extractor to record_metadata.

S3 user metadata must be ASCII and at most 2 KB in total, so text is percent-encoded UTF-8 and
each value is bounded; a bounded value is marked so the reader knows it was cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

MAX_METADATA_BYTES = 2048
_TRUNCATED = "~"  # appended to a value that had to be cut; _encode escapes every real "~"

# Field budgets in encoded characters; they sum well under 2 KB with the key names.
_BUDGET = {
    "source": 16,
    "message-id": 64,  # SES ids are 40 characters, import and upload ids fewer
    "sender": 256,
    "sender-name": 64,
    "original-sender": 256,
    "original-sender-via": 24,
    "original-sender-level": 8,  # verified, vouched or claimed (mailroom.policy.Trust)
    "filename": 512,
    "content-type": 80,  # the longest Office type is 73
    "sha256": 64,
    "received-at": 32,
    "case": 64,  # a case tag is at most 64 characters (policy._CASE_TAG)
    "part": 40,
    "inline": 8,
    "authenticated": 1,
    "auth-reason": 64,
    "spam": 1,
    "mailbox": 56,  # the message record keeps the whole path
    "role": 64,  # "<role>;<reason>" (issue 20); a long reason is cut
    "parent": 6,  # the index of the container (zip, .msg) within the message
    "probe": 6,  # issue 18: smoke or canary (mailroom.probes)
    "expires-at": 12,  # a probe's records expire then (epoch seconds)
    # Issue 22: a released message's files (mailroom.release); the reason is cut further if
    # the other values leave less room (the message record keeps it whole).
    "released-at": 24,
    "released-by": 128,
    "release-reason": 384,
}
_CUT_LAST = "release-reason"


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What every attachment of one message shares in its provenance."""

    message_id: str
    received_at: str
    sender: str | None
    sender_name: str | None
    case: str | None
    authenticated: bool | None = None
    auth_reason: str | None = None
    suspected_spam: bool = False
    source: str = "email"  # "import" for `mailroom import`
    mailbox: str | None = None
    probe: str | None = None  # issue 18: the stack's own smoke or canary mail
    expires_at: int | None = None  # a probe's records expire then (epoch seconds)
    release: tuple[str, str, str] | None = None  # issue 22: (by, at, reason) of a release


@dataclass(frozen=True, slots=True)
class Provenance:
    source: str  # "email", "upload" or "import"
    message_id: str
    received_at: str
    filename: str
    sha256: str = ""
    content_type: str = ""
    sender: str | None = None
    sender_name: str | None = None
    original_sender: str | None = None
    original_sender_via: str | None = None
    original_sender_level: str | None = None  # None with an original sender: claimed
    case: str | None = None
    part: str | None = None
    inline: bool = False
    authenticated: bool | None = None  # None: not email, or not evaluated
    auth_reason: str | None = None
    suspected_spam: bool = False
    mailbox: str | None = None  # source "import": the mailbox's path
    role: str | None = None  # mailroom.extract.roles; None: a document (uploads, older objects)
    role_reason: str | None = None
    parent: int | None = None  # index of the archive or .msg this file was taken from
    probe: str | None = None  # issue 18: smoke or canary; its file records get role "probe"
    expires_at: int | None = None  # epoch seconds
    released_by: str | None = None  # issue 22: the message was released from quarantine
    released_at: str | None = None
    release_reason: str | None = None

    def to_metadata(self) -> dict[str, str]:
        values = {
            "source": self.source,
            "message-id": self.message_id,
            "received-at": self.received_at,
            "filename": self.filename,
            "sha256": self.sha256,
            "content-type": self.content_type,
            "sender": self.sender,
            "sender-name": self.sender_name,
            "original-sender": self.original_sender,
            "original-sender-via": self.original_sender_via,
            "original-sender-level": self.original_sender_level,
            "case": self.case,
            "part": self.part,
            "inline": "1" if self.inline else None,
            "authenticated": None if self.authenticated is None else str(int(self.authenticated)),
            "auth-reason": self.auth_reason,
            "spam": "1" if self.suspected_spam else None,
            "mailbox": self.mailbox,
            "role": f"{self.role};{self.role_reason or ''}" if self.role else None,
            "parent": None if self.parent is None else str(self.parent),
            "probe": self.probe,
            "expires-at": None if self.expires_at is None else str(self.expires_at),
            "released-at": self.released_at,
            "released-by": self.released_by,
            "release-reason": self.release_reason,
        }
        meta = {k: _encode(v, _BUDGET[k]) for k, v in values.items() if v}
        if _CUT_LAST in meta and metadata_size(meta) > MAX_METADATA_BYTES:
            room = MAX_METADATA_BYTES - metadata_size(meta) + len(meta[_CUT_LAST])
            meta[_CUT_LAST] = _encode(str(values[_CUT_LAST]), max(len(_TRUNCATED), room))
        assert metadata_size(meta) <= MAX_METADATA_BYTES  # guaranteed by the budgets
        return meta

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str]) -> Provenance | None:
        """Read provenance back; None when the object carries none (an upload by other means)."""
        lowered = {k.lower(): v for k, v in meta.items()}
        if "source" not in lowered or "message-id" not in lowered:
            return None

        def get(key: str) -> str | None:
            value = lowered.get(key)
            return _decode(value) if value else None

        return cls(
            source=get("source") or "email",
            message_id=get("message-id") or "",
            received_at=get("received-at") or "",
            filename=get("filename") or "",
            sha256=get("sha256") or "",
            content_type=get("content-type") or "",
            sender=get("sender"),
            sender_name=get("sender-name"),
            original_sender=get("original-sender"),
            original_sender_via=get("original-sender-via"),
            original_sender_level=get("original-sender-level"),
            case=get("case"),
            part=get("part"),
            inline=lowered.get("inline") == "1",
            authenticated={"1": True, "0": False}.get(lowered.get("authenticated", "")),
            auth_reason=get("auth-reason"),
            suspected_spam=lowered.get("spam") == "1",
            mailbox=get("mailbox"),
            role=(get("role") or "").partition(";")[0] or None,
            role_reason=(get("role") or "").partition(";")[2] or None,
            parent=int(lowered["parent"]) if lowered.get("parent", "").isdigit() else None,
            probe=get("probe"),
            expires_at=(
                int(lowered["expires-at"]) if lowered.get("expires-at", "").isdigit() else None
            ),
            released_by=get("released-by"),
            released_at=get("released-at"),
            release_reason=get("release-reason"),
        )


def _encode(value: str, budget: int) -> str:
    encoded = _quote(value)
    if len(encoded) <= budget:
        return encoded
    # Cut between characters, never inside a %XX escape or a character's UTF-8 sequence.
    kept: list[str] = []
    room = budget - len(_TRUNCATED)
    for char in value:
        piece = _quote(char)
        if len(piece) > room:
            break
        kept.append(piece)
        room -= len(piece)
    return "".join(kept) + _TRUNCATED


def _quote(value: str) -> str:
    # quote() keeps "~" as is: escape it so a trailing "~" can only be the cut marker.
    return quote(value, safe=" @.+-_:/()[],;'!").replace("~", "%7E")


def _decode(value: str) -> str:
    truncated = value.endswith(_TRUNCATED)
    text = unquote(value[:-1] if truncated else value, errors="replace")
    return text + "…" if truncated else text


def metadata_size(meta: Mapping[str, str]) -> int:
    """Bytes S3 counts against the 2 KB limit: keys (with x-amz-meta-) and values, UTF-8."""
    return sum(len(f"x-amz-meta-{k}".encode()) + len(v.encode()) for k, v in meta.items())
