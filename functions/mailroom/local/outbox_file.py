"""The outbox file of local mode (see `mailroom.local.outbox`): light, so that `mailroom outbox`
and `mailroom watch` read it without loading the emulator."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUTBOX_FILE = "outbox.jsonl"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Outbox:
    """The JSON-lines file; appends are serialised, each line written whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("", encoding="utf-8")

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps({"at": _now(), **entry}, separators=(",", ":"), default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def read_outbox(path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Entries from byte `offset` on, and the offset after the last whole line read."""
    if not path.is_file():
        return [], offset
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    entries = []
    end = data.rfind(b"\n") + 1  # a line being written is read next time
    for line in data[:end].splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries, offset + end
