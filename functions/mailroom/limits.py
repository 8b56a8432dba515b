"""Extraction caps, part of the settings object: kept apart so reading settings stays light."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps so no message can exhaust the function; what a cap stops becomes a warning."""

    max_depth: int = 32
    max_parts: int = 2000
    max_total_bytes: int = 256 * 1024 * 1024
    # Containers (issue 20). Zip archives and Outlook .msg files are opened when this is on.
    expand_archives: bool = True
    max_archive_members: int = 500  # files taken from one archive; the rest are not extracted
    max_archive_bytes: int = 100 * 1024 * 1024  # decompressed, counted as it is decompressed
    # Decompressed bytes per compressed byte (the archive's real size, never a header's claim),
    # checked once a member or an archive has produced more than ARCHIVE_RATIO_FLOOR bytes.
    max_archive_ratio: int = 100
    max_archive_depth: int = 2  # an archive in an archive is opened; one level further is not
    # Roles (mailroom.extract.roles): what counts as a small inline image or a tracker.
    inline_image_max_bytes: int = 100 * 1024
    inline_image_max_pixels: int = 600  # longer side
    tracker_max_pixels: int = 3  # both sides at most this: 1x1 pixels, 2x2 spacers
    signature_repeats: int = 1  # an inline image seen this often from one domain: a signature
    keep_body: bool = False  # store the message's text body as a `body`-role file
