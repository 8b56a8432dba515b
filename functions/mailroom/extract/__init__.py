"""Attachment extraction: pure logic, no AWS. `extract()` is the one entry point."""

from mailroom.extract.engine import extract
from mailroom.extract.types import (
    Attachment,
    AttachmentWriter,
    DiscardSink,
    Extraction,
    Limits,
    PartInfo,
    Sink,
)

__all__ = [
    "Attachment",
    "AttachmentWriter",
    "DiscardSink",
    "Extraction",
    "Limits",
    "PartInfo",
    "Sink",
    "extract",
]
