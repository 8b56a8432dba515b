"""Attachment extraction: pure logic, no AWS. `extract()` is the one entry point."""

from mailroom.extract.engine import extract
from mailroom.extract.types import (
    Attachment,
    AttachmentWriter,
    DiscardSink,
    Extraction,
    PartInfo,
    Sink,
)
from mailroom.limits import Limits

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
