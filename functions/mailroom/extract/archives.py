"""Containers opened: zip archives (stdlib zipfile), recognised kinds left closed.

An archive part is spooled while it streams past (`tempfile.SpooledTemporaryFile`: memory up
to SPOOL_IN_MEMORY, then a file on /tmp), and opened from that spool once the part is complete
and committed, so the archive itself is always kept. Each member becomes a file whose parent is
the archive, named through the same safe naming as attachments, numbered in the archive's
order (the same archive always gives the same keys).

Nothing the archive's headers claim is trusted: decompressed bytes are counted as they come
out of the decompressor, against the archive's limits (`Limits.max_archive_*`):
- members: at most `max_archive_members` files, the rest are not extracted (a warning);
- bytes: at most `max_archive_bytes` decompressed from one archive;
- ratio: once a member (or the archive) has produced more than ARCHIVE_RATIO_FLOOR bytes, it
  may not exceed `max_archive_ratio` times its compressed size, where the compressed size is
  the smaller of what the header claims and the archive's real size. A zip bomb is refused
  there, after at most a few MiB of work, its partial member discarded;
- depth: an archive inside an archive is opened up to `max_archive_depth` levels.
The central directory is checked before zipfile reads it (its size and entry count come from
the end record, bounded by the archive's real size), so a directory of millions of entries is
refused instead of loaded. Encrypted members are recorded "encrypted, not opened"; members
compressed with a method zipfile lacks (deflate64, ...) "not opened". Each stop is a warning
on the message; the message's other files are extracted as usual.
"""

from __future__ import annotations

import struct
import tempfile
import zipfile
from typing import IO, TYPE_CHECKING

from mailroom.extract.collect import Collector, Sender, Stop, type_from_name

if TYPE_CHECKING:
    from collections.abc import Callable

SPOOL_IN_MEMORY = 1024 * 1024
READ_CHUNK = 256 * 1024
ARCHIVE_RATIO_FLOOR = 1024 * 1024  # below this many bytes out, no ratio is a threat
MAX_DIRECTORY_BYTES = 16 * 1024 * 1024  # a central directory larger than this is not read
# zipfile loads the whole directory (one object per entry): more entries than this many per
# member allowed (folders count too) and the archive is refused before it is read.
DIRECTORY_ENTRIES_PER_MEMBER = 10

ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/x-zip"})
# Closed: recognised as archives, kept, and recorded as not opened.
CLOSED_EXTENSIONS = (
    ".rar",
    ".7z",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz2",
    ".tar.xz",
    ".txz",
    ".gz",
    ".bz2",
    ".xz",
    ".zst",
    ".cab",
    ".arj",
    ".lzh",
)
CLOSED_TYPES = frozenset(
    {
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/x-rar",
        "application/x-7z-compressed",
        "application/x-tar",
        "application/gzip",
        "application/x-gzip",
        "application/x-gtar",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/vnd.ms-cab-compressed",
    }
)
# Zip containers that are documents themselves (Office, OpenDocument, e-books, Java).
_ZIP_DOCUMENTS = (
    ".docx",
    ".docm",
    ".dotx",
    ".xlsx",
    ".xlsm",
    ".xltx",
    ".pptx",
    ".pptm",
    ".potx",
    ".ppsx",
    ".odt",
    ".ods",
    ".odp",
    ".odg",
    ".epub",
    ".jar",
    ".apk",
    ".xps",
    ".oxps",
    ".vsdx",
    ".kmz",
    ".pages",
    ".numbers",
    ".key",
)

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"


def is_zip(content_type: str, filename: str) -> bool:
    name = filename.lower()
    if name.endswith(".zip"):
        return True
    return content_type in ZIP_TYPES and not name.endswith(_ZIP_DOCUMENTS)


def closed_kind(content_type: str, filename: str) -> str | None:
    """The extension (or type) of an archive that is recognised but never opened, else None."""
    name = filename.lower()
    for ext in CLOSED_EXTENSIONS:
        if name.endswith(ext):
            return ext
    return content_type if content_type in CLOSED_TYPES else None


def new_spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)


def directory_size(spool: IO[bytes], size: int) -> tuple[int, int] | None:
    """(entries, bytes) of the central directory as the end record says, or None if there is
    no end record. Reads at most the last 64 KiB + 98 bytes."""
    tail_len = min(size, 0xFFFF + 22 + 20 + 56)
    spool.seek(size - tail_len)
    tail = spool.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    entries, dir_bytes = struct.unpack("<HI", tail[at + 10 : at + 16])
    if entries == 0xFFFF or dir_bytes == 0xFFFFFFFF:
        loc = at - 20
        if loc >= 0 and tail[loc : loc + 4] == _EOCD64_LOCATOR:
            (offset,) = struct.unpack("<Q", tail[loc + 8 : loc + 16])
            if offset + 56 <= size:
                spool.seek(offset)
                record = spool.read(56)
                if record[:4] == _EOCD64:
                    entries, dir_bytes = struct.unpack("<QQ", record[32:48])
    return entries, dir_bytes


class ZipExpansion:
    """Opens one zip (already committed as a file) and hands its members to the collector."""

    def __init__(
        self,
        collector: Collector,
        *,
        path: str,
        parent: int,
        sender: Sender,
        depth: int,
        nested: Callable[[str, str, int, IO[bytes], int, int], None],
    ) -> None:
        self.collector = collector
        self.limits = collector.limits
        self.path = path
        self.parent = parent
        self.sender = sender
        self.depth = depth  # 1 for an archive attached to the message
        self.nested = nested  # opens a container found inside (zip in zip, .msg in zip)
        self.total = 0

    def warn(self, text: str) -> None:
        self.collector.warn(f"part {self.path}: {text}")

    def run(self, spool: IO[bytes], size: int) -> None:
        found = directory_size(spool, size)
        if found is None:
            self.warn("not a readable zip archive (no end record); kept, not opened")
            return
        entries, dir_bytes = found
        too_many = entries > DIRECTORY_ENTRIES_PER_MEMBER * self.limits.max_archive_members
        if too_many or dir_bytes > min(size, MAX_DIRECTORY_BYTES):
            self.warn(
                f"zip directory of {dir_bytes} bytes ({entries} entries) refused; kept, not opened"
            )
            return
        spool.seek(0)
        try:
            archive = zipfile.ZipFile(spool)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            self.warn(f"not a readable zip archive ({type(exc).__name__}); kept, not opened")
            return
        with archive:
            self._members(archive, size)

    def _members(self, archive: zipfile.ZipFile, size: int) -> None:
        limits = self.limits
        taken = 0
        for info in archive.infolist():
            if info.is_dir():
                continue
            if taken >= limits.max_archive_members:
                self.warn(
                    f"more than {limits.max_archive_members} files in the archive: "
                    "the rest were not extracted"
                )
                return
            taken += 1
            member_path = f"{self.path}.z{taken}"
            if info.flag_bits & 0x1:
                self.warn(f"{info.filename!r}: encrypted, not opened")
                continue
            if not self._member(archive, info, member_path, size):
                return

    def _member(
        self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, member_path: str, size: int
    ) -> bool:
        """Extract one member; False when a limit stops the whole archive."""
        limits = self.limits
        name = info.filename
        content_type = type_from_name(name)
        writer = self.collector.open(
            filename=name,
            content_type=content_type,
            part=member_path,
            sender=self.sender,
            origin="archive",
            parent=self.parent,
        )
        # The claimed compressed size, never more than the archive really holds.
        compressed = max(1, min(info.compress_size, size))
        kind = (
            "zip" if is_zip(content_type, name) else "msg" if _is_msg(content_type, name) else None
        )
        if kind is not None and self.depth >= limits.max_archive_depth:
            self.warn(
                f"{name!r}: nested deeper than {limits.max_archive_depth} archives; not opened"
            )
            kind = None
        spool = new_spool() if kind else None
        produced = 0
        try:
            with archive.open(info) as member:
                while True:
                    chunk = member.read(READ_CHUNK)
                    if not chunk:
                        break
                    produced += len(chunk)
                    self.total += len(chunk)
                    refusal = self._refusal(produced, compressed, size)
                    if refusal:
                        writer.abort()
                        self.warn(f"{name!r}: {refusal}; expansion stopped, the archive is kept")
                        return False
                    writer.write(chunk)
                    if spool is not None:
                        spool.write(chunk)
        except Stop:
            raise
        except NotImplementedError:
            writer.abort()
            self.warn(f"{name!r}: compression method not supported, not opened")
            return True
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
            writer.abort()
            self.warn(f"{name!r}: damaged ({type(exc).__name__}), not extracted")
            if spool is not None:
                spool.close()
            return True
        attachment = writer.commit()
        if spool is not None and kind is not None:
            try:
                self.nested(kind, member_path, attachment.index, spool, produced, self.depth + 1)
            finally:
                spool.close()
        return True

    def _refusal(self, produced: int, compressed: int, size: int) -> str | None:
        limits = self.limits
        if self.total > limits.max_archive_bytes:
            return f"more than {limits.max_archive_bytes} bytes decompressed from the archive"
        ratio = limits.max_archive_ratio
        if produced > ARCHIVE_RATIO_FLOOR and produced > ratio * compressed:
            return f"compression ratio over {ratio}:1 (a zip bomb?) refused"
        if self.total > ARCHIVE_RATIO_FLOOR and self.total > ratio * size:
            return f"archive expands over {ratio} times its size (a zip bomb?) refused"
        return None


def _is_msg(content_type: str, filename: str) -> bool:
    return filename.lower().endswith(".msg") or content_type == "application/vnd.ms-outlook"
