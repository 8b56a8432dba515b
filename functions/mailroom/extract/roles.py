"""What a file is to staff: a document, or something set aside (never dropped) with its reason.

The rule, in order (the first that applies):

1. `body`: the message's own text, stored only when `keep_body` is on.
2. `tracker`: an image whose header says it is at most `tracker_max_pixels` on each side (a 1x1
   GIF, a 2x2 spacer), or an image of at most TRACKER_MAX_BYTES whose size cannot be read.
3. `inline-image`: an image shown inside the HTML body (its Content-ID is referenced by a
   `cid:` URL of the HTML, or the part is inline / has a Content-ID) that is small: at most
   `inline_image_max_bytes` and, when its header tells, at most `inline_image_max_pixels` on its
   longer side. A large pasted photo or scan stays a document.
4. `document`: everything else, whatever its disposition (an inline PDF from Apple Mail is a
   document).

`signature` is decided later, by the recording use case, because it needs the catalogue: an
`inline-image` whose sha256 already came `signature_repeats` times from the same sender domain.
Only the engine's roles are decided here; `signature_role` is the pure half of that rule.
"""

from __future__ import annotations

from typing import Final

from mailroom.limits import Limits

DOCUMENT: Final = "document"
INLINE_IMAGE: Final = "inline-image"
SIGNATURE: Final = "signature"
TRACKER: Final = "tracker"
BODY: Final = "body"
ROLES: Final = (DOCUMENT, INLINE_IMAGE, SIGNATURE, TRACKER, BODY)

TRACKER_MAX_BYTES = 128  # an image this small whose header cannot be read is a pixel stand-in
_IMAGE_EXTENSIONS = (".png", ".gif", ".jpg", ".jpeg", ".jpe", ".bmp", ".webp")


def is_image(content_type: str, filename: str) -> bool:
    """An image by its declared type, or by its name when the type says nothing."""
    if content_type.startswith("image/"):
        return True
    generic = content_type in {"", "application/octet-stream"}
    return generic and filename.lower().endswith(_IMAGE_EXTENSIONS)


def _kb(size: int) -> str:
    return f"{size} bytes" if size < 1024 else f"{size // 1024} KB"


def classify(
    *,
    content_type: str,
    filename: str,
    size: int,
    inline: bool,
    referenced: bool,
    dimensions: tuple[int, int] | None,
    limits: Limits,
) -> tuple[str, str]:
    """(role, reason) of one file, from what the engine saw of it."""
    if not is_image(content_type, filename):
        return DOCUMENT, "not an image" if not inline else "inline, but not an image"
    if dimensions is not None:
        width, height = dimensions
        shape = f"{width}x{height}"
        if max(width, height) <= limits.tracker_max_pixels:
            return TRACKER, f"image {shape}: a tracking pixel or spacer"
    else:
        shape = "size unknown"
        if size <= TRACKER_MAX_BYTES:
            return TRACKER, f"image of {size} bytes whose size cannot be read: a pixel stand-in"
    if not (inline or referenced):
        return DOCUMENT, f"image attached, not shown in the body ({shape}, {_kb(size)})"
    how = "referenced by cid: in the HTML body" if referenced else "inline part"
    if size > limits.inline_image_max_bytes:
        return DOCUMENT, f"{how}, but large ({_kb(size)}): kept as a document"
    if dimensions is not None and max(dimensions) > limits.inline_image_max_pixels:
        return DOCUMENT, f"{how}, but large ({shape}): kept as a document"
    return INLINE_IMAGE, f"{how}, small ({shape}, {_kb(size)})"


def signature_role(role: str, repeats_before: int, repeats: int) -> tuple[str, str] | None:
    """The signature rule: an inline image already seen `repeats` times (`signature_repeats`)
    from the sender's domain becomes a `signature`; None when the rule does not apply."""
    if role != INLINE_IMAGE or repeats_before < repeats:
        return None
    return SIGNATURE, (
        f"inline image already received {repeats_before} times from this sender domain"
    )
