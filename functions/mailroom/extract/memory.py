"""A sink that keeps every attachment in memory: for tests and small local tools only."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailroom.extract.types import Attachment, PartInfo


@dataclass
class Kept:
    info: PartInfo
    chunks: list[bytes] = field(default_factory=list)
    committed: Attachment | None = None
    aborted: bool = False

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


class _Writer:
    def __init__(self, kept: Kept) -> None:
        self.kept = kept

    def write(self, chunk: bytes) -> None:
        if self.kept.committed is not None or self.kept.aborted:
            raise RuntimeError("write after commit or abort")
        self.kept.chunks.append(bytes(chunk))

    def commit(self, attachment: Attachment) -> None:
        self.kept.committed = attachment

    def abort(self) -> None:
        self.kept.aborted = True


class MemorySink:
    """Keeps each attachment's bytes, in the order the engine opened them."""

    def __init__(self) -> None:
        self.opened: list[Kept] = []

    def open(self, part: PartInfo) -> _Writer:
        kept = Kept(part)
        self.opened.append(kept)
        return _Writer(kept)

    def named(self, filename: str) -> Kept:
        matches = [k for k in self.opened if k.info.filename == filename]
        if len(matches) != 1:
            raise KeyError(f"{filename!r} among {[k.info.filename for k in self.opened]}")
        return matches[0]
