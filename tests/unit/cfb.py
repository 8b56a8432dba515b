"""A small compound-file (MS-CFB, version 3) writer: Outlook .msg fixtures for the tests.

Written from the specification ([MS-CFB] 2.2-2.9), not taken from any corpus: 512-byte sectors,
streams under 4,096 bytes in the mini stream (64-byte mini sectors), one FAT and one mini FAT,
the DIFAT in the header (up to 109 FAT sectors: files up to ~6.8 MB), siblings of a storage
chained as a right-leaning binary tree (all black: readers do not check colours).
A tree is a dict: a name maps to bytes (a stream) or to a dict (a storage).
"""

from __future__ import annotations

import struct
from itertools import pairwise
from typing import Union

Tree = dict[str, Union[bytes, "Tree"]]
SECTOR = 512
MINI = 64
CUTOFF = 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _key(name: str) -> tuple[int, str]:
    return len(name), name.upper()


class _Entry:
    def __init__(self, name: str, kind: int, data: bytes = b"") -> None:
        self.name, self.kind, self.data = name, kind, data
        self.left = self.right = self.child = NOSTREAM
        self.start, self.size = END, 0


def write_cfb(tree: Tree) -> bytes:
    entries = [_Entry("Root Entry", 5)]

    def add(storage: Tree, parent: _Entry) -> None:
        ids = []
        for name in sorted(storage, key=_key):
            value = storage[name]
            entry = _Entry(name, 1 if isinstance(value, dict) else 2)
            if not isinstance(value, dict):
                entry.data = value
            entries.append(entry)
            ids.append(len(entries) - 1)
            if isinstance(value, dict):
                add(value, entry)
        for a, b in pairwise(ids):
            entries[a].right = b
        parent.child = ids[0] if ids else NOSTREAM

    add(tree, entries[0])
    # The mini stream: small streams, each in whole 64-byte mini sectors.
    mini = bytearray()
    minifat: list[int] = []
    big: list[_Entry] = []
    for entry in entries[1:]:
        if entry.kind != 2:
            continue
        entry.size = len(entry.data)
        if entry.size >= CUTOFF:
            big.append(entry)
            continue
        if entry.size == 0:
            continue
        count = -(-entry.size // MINI)
        entry.start = len(minifat)
        minifat.extend(range(entry.start + 1, entry.start + count))
        minifat.append(END)
        mini += entry.data + b"\0" * (count * MINI - entry.size)

    def sectors(n: int) -> int:
        return -(-n // SECTOR)

    dir_sectors = sectors(len(entries) * 128)
    minifat_sectors = sectors(len(minifat) * 4)
    mini_sectors = sectors(len(mini))
    big_sectors = sum(sectors(e.size) for e in big)
    body = dir_sectors + minifat_sectors + mini_sectors + big_sectors
    fat_sectors = 1
    while fat_sectors * (SECTOR // 4) < body + fat_sectors:
        fat_sectors += 1
    assert fat_sectors <= 109, "fixture too large for a header-only DIFAT"
    fat: list[int] = [FATSECT] * fat_sectors
    data = bytearray()

    def chain(payload: bytes) -> int:
        first = len(fat)
        count = sectors(len(payload))
        fat.extend(range(first + 1, first + count))
        fat.append(END)
        data.extend(payload + b"\0" * (count * SECTOR - len(payload)))
        return first

    directory_at = len(fat)
    fat.extend(range(directory_at + 1, directory_at + dir_sectors))
    fat.append(END)
    data.extend(b"\0" * (dir_sectors * SECTOR))  # filled in below
    minifat_at = chain(b"".join(struct.pack("<I", v) for v in minifat)) if minifat else END
    if mini:
        entries[0].start, entries[0].size = chain(bytes(mini)), len(mini)
    for entry in big:
        entry.start = chain(entry.data)
    dir_bytes = bytearray()
    for entry in entries:
        name = entry.name.encode("utf-16-le")
        dir_bytes += name + b"\0" * (64 - len(name))
        dir_bytes += struct.pack("<HBB", len(name) + 2, entry.kind, 1)
        dir_bytes += struct.pack("<III", entry.left, entry.right, entry.child)
        dir_bytes += b"\0" * 16 + b"\0" * 4 + b"\0" * 16
        dir_bytes += struct.pack("<IQ", entry.start, entry.size)
    dir_bytes += b"\0" * (dir_sectors * SECTOR - len(dir_bytes))
    for i in range(len(entries), dir_sectors * SECTOR // 128):  # unused entries: no siblings
        at = i * 128
        dir_bytes[at + 68 : at + 80] = struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM)
    data[0 : len(dir_bytes)] = dir_bytes
    fat.extend([FREE] * (fat_sectors * SECTOR // 4 - len(fat)))
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)
    difat = list(range(fat_sectors)) + [FREE] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIII", 0, fat_sectors, directory_at, 0)
        + struct.pack("<IIIII", CUTOFF, minifat_at, minifat_sectors, END, 0)
        + b"".join(struct.pack("<I", v) for v in difat)
    )
    assert len(header) == SECTOR
    return header + fat_bytes + bytes(data)


def _text(value: str) -> bytes:
    return value.encode("utf-16-le") + b"\0\0"


def msg_item(
    subject: str,
    sender: str,
    sender_name: str,
    attachments: list[tuple[str, str, bytes] | Tree],
    *,
    embedded: bool = False,
) -> Tree:
    """The streams of an Outlook message ([MS-OXMSG] 2.1-2.2): subject, sender, attachments.
    An attachment is (long name, MIME type, bytes), or a Tree from msg_item(embedded=True)."""
    item: Tree = {
        "__properties_version1.0": b"\0" * (24 if embedded else 32),
        "__substg1.0_0037001F": _text(subject),
        "__substg1.0_0C1F001F": _text(sender),
        "__substg1.0_0C1A001F": _text(sender_name),
        "__substg1.0_1000001F": _text("Please see attached."),
        "__recip_version1.0_#00000000": {"__properties_version1.0": b"\0" * 8},
    }
    for n, attachment in enumerate(attachments):
        storage: Tree = {"__properties_version1.0": b"\0" * 8}
        if isinstance(attachment, dict):
            storage["__substg1.0_3701000D"] = attachment
        else:
            name, mime, payload = attachment
            storage["__substg1.0_3707001F"] = _text(name)
            storage["__substg1.0_3704001F"] = _text(name[:8])
            storage["__substg1.0_370E001F"] = _text(mime)
            storage["__substg1.0_37010102"] = payload
        item[f"__attach_version1.0_#{n:08X}"] = storage
    if not embedded:
        item["__nameid_version1.0"] = {"__substg1.0_00020102": b"", "__substg1.0_00030102": b""}
    return item
