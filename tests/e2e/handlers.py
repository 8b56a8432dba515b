"""Test functions the local runner can be pointed at (handler strings `tests.e2e.handlers.X`).

They stand for a function gone wrong: spinning on the CPU, eating memory, failing. Imported only
inside the runner's worker processes.
"""

from __future__ import annotations

import os
import time
from typing import Any


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("print"):
        print('{"_aws": "an EMF metric line"}')
        os.write(1, b"a C-level write to fd 1\n")
    return {
        "event": event,
        "function": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
        "env": os.environ.get("MAILROOM_TEST_VALUE"),
    }


def spin(event: dict[str, Any], context: Any) -> None:
    """Burn CPU until killed (a regex gone quadratic looks like this)."""
    deadline = time.monotonic() + float(event.get("seconds", 3600))
    count = 0
    while time.monotonic() < deadline:
        count += 1


def hog(event: dict[str, Any], context: Any) -> int:
    """Hold more memory than the function's MemorySize allows, then keep going."""
    blocks = [bytearray(16 * 1024 * 1024) for _ in range(int(event.get("blocks", 64)))]
    for block in blocks:
        block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, not virtual
    time.sleep(float(event.get("hold", 30)))
    return len(blocks)


def fail(event: dict[str, Any], context: Any) -> None:
    raise ValueError(f"failing on purpose: {event.get('why', 'test')}")
