"""Safe object names and deterministic keys.

A key is `incoming/<message-id>/<nn>-<safe-name>`: the same message always yields the same keys,
so a retried invocation overwrites instead of adding copies. The original name is kept in object
metadata; the key only ever holds a sanitised one.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata

MAX_NAME_BYTES = 255  # a file name on every file system staff will download to
MAX_KEY_BYTES = 1024  # S3's limit on an object key

# Windows refuses these as a file's base name, whatever the extension.
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
    | {"com¹", "com²", "com³", "lpt¹", "lpt²", "lpt³"}
)
# Path separators, characters Windows forbids, and anything a shell or URL would trip on;
# `$`, `{` and `}` too: S3 replaces `${filename}` in a form upload's key, and boto3 turns a key
# ending in it into a `starts-with` policy condition (a form that writes any number of keys).
_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|${}\x00-\x1f\x7f]')
_RUNS = re.compile(r"[\s_]+")
_DOTS = re.compile(r"\.{2,}")


def _is_invisible(ch: str) -> bool:
    # Cc: controls, Cf: format (bidi overrides like U+202E, zero-width joiners),
    # Zl/Zp: line and paragraph separators, Cs/Co/Cn: surrogates, private use, unassigned.
    return unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def _is_reserved(name: str) -> bool:
    return name.split(".", maxsplit=1)[0].strip().lower() in _WINDOWS_RESERVED


def _sanitise(name: str, fallback: str, max_bytes: int) -> str:
    name = unicodedata.normalize("NFC", name)
    # Keep only the last component whichever separator the sender's system used.
    name = name.replace("\\", "/")
    name = posixpath.basename(name.rstrip("/")) or name.strip("/")
    name = "".join(ch for ch in name if not _is_invisible(ch))
    name = _UNSAFE_CHARS.sub("_", name)
    name = _RUNS.sub(lambda m: " " if m.group().isspace() else "_", name)
    name = _DOTS.sub(".", name)
    name = name.strip(" .")  # Windows drops trailing dots and spaces; leading dot hides a file
    if not name:
        name = fallback
    stem, dot, ext = name.rpartition(".")
    # Only a short, space-free tail is an extension worth keeping whole.
    if not dot or not stem or " " in ext or len(ext.encode("utf-8")) > min(32, max_bytes // 3):
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = max_bytes - len(suffix.encode("utf-8"))
    if _is_reserved(stem):
        stem = "_" + stem
    stem = _truncate_utf8(stem, room).rstrip(" .")
    if not stem or _is_reserved(stem):
        stem = _truncate_utf8("_" + (stem or fallback), room).rstrip(" .") or "_"
    return unicodedata.normalize("NFC", stem + suffix)


def safe_name(filename: str, fallback: str = "attachment", max_bytes: int = MAX_NAME_BYTES) -> str:
    """Return a name with no path, no `..`, no control or bidi characters, bounded in bytes.

    The extension is kept when the name has to be shortened, so the file still opens with the
    right program once downloaded. Applying it again changes nothing.
    """
    name = filename or ""
    # Removing characters can bring others together (a combining mark, two dots): repeat
    # until nothing changes, so the result is a fixed point.
    for _ in range(4):
        cleaned = _sanitise(name, fallback, max_bytes)
        if cleaned == name:
            break
        name = cleaned
    return name


def attachment_key(prefix: str, message_id: str, index: int, name: str) -> str:
    """`<prefix><message_id>/<nn>-<name>`: under the message's folder, within 1024 bytes."""
    if not message_id or "/" in message_id or message_id in {".", ".."}:
        raise ValueError(f"not a usable message id for a key: {message_id!r}")
    head = f"{prefix}{message_id}/{index:02d}-"
    room = MAX_KEY_BYTES - len(head.encode("utf-8"))
    if room < 16:
        raise ValueError("message id too long to build an object key")
    # The key's last segment ("<nn>-<name>") is the downloaded file's name on some tools: it
    # stays within a file system's 255 bytes too, the index included.
    last = MAX_NAME_BYTES - len(f"{index:02d}-")
    return head + safe_name(name, max_bytes=min(last, room))
