"""Outlook .msg items (a mail dragged into another mail): their attachments, and their sender.

A .msg is an OLE2 compound file (MS-CFB) holding MAPI properties as streams (MS-OXMSG). It is
read with olefile (BSD-2, one pure-Python module) from the spool the engine wrote it to, never
from memory; olefile reads a stream whole, so, like a winmail.dat, a .msg over MSG_CAP is kept
but not opened, and no single stream over MSG_CAP is read.

What is taken: each attachment's bytes (PR_ATTACH_DATA_BIN), named by PR_ATTACH_LONG_FILENAME,
else PR_ATTACH_FILENAME, else PR_DISPLAY_NAME, typed by PR_ATTACH_MIME_TAG; an embedded Outlook
item (PR_ATTACH_DATA_OBJ, a storage) is walked the same way for its own attachments, up to
MAX_NESTING levels, with its own sender. The sender is PR_SENDER_SMTP_ADDRESS, else an
address-shaped PR_SENDER_EMAIL_ADDRESS or PR_SENT_REPRESENTING_*: a claim, like the From of a
forwarded .eml, never authenticated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from mailroom.extract.collect import SinkFailure, Stop

MSG_CAP = 64 * 1024 * 1024
STRING_CAP = 64 * 1024
MAX_NESTING = 4
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ATTACH = "__attach_version1.0_#"
_EMBEDDED = "__substg1.0_3701000D"
_DATA = "__substg1.0_37010102"
_NAME_TAGS = ("3707", "3704", "3001")  # long filename, 8.3 filename, display name
_MIME_TAG = "370E"
_SENDER_TAGS = ("5D01", "0C1F", "5D02", "0065")  # sender SMTP, sender, sent-representing ...
_SENDER_NAME_TAGS = ("0C1A", "0042")
_SUBJECT_TAG = "0037"


@dataclass(frozen=True, slots=True)
class MsgSender:
    address: str | None
    name: str | None


# (name, content type or None, bytes, the sender of the item it came from, nesting level)
Emit = Callable[[str, str | None, bytes, MsgSender, int], None]


def looks_like_msg(head: bytes) -> bool:
    return head.startswith(OLE_MAGIC)


class _Reader:
    def __init__(self, ole: object, emit: Emit, warn: Callable[[str], None]) -> None:
        self.ole = ole
        self.emit = emit
        self.warn = warn
        self.read_total = 0
        paths = ole.listdir(streams=True, storages=True)  # type: ignore[attr-defined]
        self.paths = {tuple(p.lower() for p in path) for path in paths}

    def _has(self, path: list[str]) -> bool:
        return tuple(p.lower() for p in path) in self.paths

    def _stream(self, path: list[str], cap: int) -> bytes | None:
        if not self._has(path):
            return None
        size = int(self.ole.get_size("/".join(path)))  # type: ignore[attr-defined]
        if size > cap or self.read_total + size > MSG_CAP:
            self.warn(f"{path[-1]}: stream of {size} bytes over the cap; not read")
            return None
        self.read_total += size
        data: bytes = self.ole.openstream("/".join(path)).read()  # type: ignore[attr-defined]
        return data

    def string(self, prefix: list[str], tag: str) -> str | None:
        raw = self._stream([*prefix, f"__substg1.0_{tag}001F"], STRING_CAP)
        if raw is not None:
            text = raw.decode("utf-16-le", "replace")
        else:
            raw = self._stream([*prefix, f"__substg1.0_{tag}001E"], STRING_CAP)
            if raw is None:
                return None
            text = raw.decode("cp1252", "replace")
        text = text.split("\x00", 1)[0].strip()
        return text or None

    def sender(self, prefix: list[str]) -> MsgSender:
        address = None
        for tag in _SENDER_TAGS:
            value = self.string(prefix, tag)
            if value and "@" in value:
                address = value.lower()
                break
        name = None
        for tag in _SENDER_NAME_TAGS:
            name = self.string(prefix, tag)
            if name:
                break
        return MsgSender(address, name)

    def item(self, prefix: list[str], level: int) -> None:
        sender = self.sender(prefix)
        storages = sorted(
            {
                path[len(prefix)]
                for path in self.paths
                if len(path) > len(prefix)
                and path[: len(prefix)] == tuple(p.lower() for p in prefix)
                and path[len(prefix)].startswith(_ATTACH)
            }
        )
        for storage in storages:
            where = [*prefix, storage]
            if self._has([*where, _EMBEDDED]):
                if level >= MAX_NESTING:
                    self.warn(f"Outlook item nested deeper than {MAX_NESTING} levels; not opened")
                    continue
                self.item([*where, _EMBEDDED], level + 1)
                continue
            data = self._stream([*where, _DATA], MSG_CAP)
            if data is None:
                continue  # a link, an OLE object, or an attachment without bytes
            name = next(
                (n for n in (self.string(where, tag) for tag in _NAME_TAGS) if n), "attachment"
            )
            mime = self.string(where, _MIME_TAG)
            self.emit(name, mime.lower() if mime else None, data, sender, level)
            del data


def read_msg(
    source: IO[bytes], size: int, emit: Emit, warn: Callable[[str], None]
) -> MsgSender | None:
    """Hand each attachment of the .msg in `source` to `emit`; the item's sender, or None when
    the file could not be read (a warning says why)."""
    if size > MSG_CAP:
        warn(f"Outlook item of {size} bytes too large to open; kept whole")
        return None
    source.seek(0)
    if not looks_like_msg(source.read(8)):
        warn("not an Outlook item (no compound-file header); kept, not opened")
        return None
    source.seek(0)
    try:
        import olefile  # noqa: PLC0415 - only messages carrying a .msg need it

        with olefile.OleFileIO(source) as ole:
            reader = _Reader(ole, emit, warn)
            sender = reader.sender([])
            reader.item([], 1)
            return sender
    except (Stop, SinkFailure):
        raise
    except Exception as exc:  # olefile raises many kinds on damaged input (and RecursionError)
        warn(f"Outlook item could not be read ({type(exc).__name__}); kept, not opened")
    return None
