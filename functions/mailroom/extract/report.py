"""`mailroom inspect --json`: the extraction of one local file, as one JSON-ready object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailroom.extract.engine import DEFAULT_LIMITS, extract
from mailroom.extract.types import DiscardSink, Extraction
from mailroom.limits import Limits


def to_report(path: str, result: Extraction, envelope_sender: str | None = None) -> dict[str, Any]:
    """The inspect object. As in the Lambda, `sender` is the From address, else the envelope's."""
    fallback = envelope_sender.strip().lower() or None if envelope_sender else None
    return {
        "path": path,
        "sender": result.sender or fallback,
        "sender_name": result.sender_name,
        "original_sender": result.original_sender,
        "subject": result.subject,
        "message_id": result.message_id,
        "attachments": [
            {
                "filename": a.filename,
                "safe_name": a.safe_name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "inline": a.inline,
                "part": a.part,
            }
            for a in result.attachments
        ],
        "warnings": list(result.warnings),
    }


def inspect_path(
    path: Path, envelope_sender: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Any]:
    """Extract `path` without keeping any bytes; only an unreadable path raises (OSError)."""
    with path.open("rb") as source:
        result = extract(source, DiscardSink(), limits)
    return to_report(str(path), result, envelope_sender)
