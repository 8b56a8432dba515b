"""Extraction caps, part of the settings object: kept apart so reading settings stays light."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps so no message can exhaust the function; what a cap stops becomes a warning."""

    max_depth: int = 32
    max_parts: int = 2000
    max_total_bytes: int = 256 * 1024 * 1024
