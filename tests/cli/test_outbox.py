"""`mailroom outbox` and `mailroom watch` (issue 21) over a local outbox file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mailroom.local.outbox_file import OUTBOX_FILE, Outbox
from tests.cli.conftest import run

EVENT = {
    "kind": "event",
    "id": "m1/recorded",
    "detail_type": "Message Recorded",
    "source": "mailroom",
    "detail": {
        "message_id": "m1",
        "case": "case-42",
        "labels": ["client"],
        "documents": [{"name": "scan.pdf", "size": 1, "sha256_12": "0" * 12, "case": "case-42"}],
        "document_count": 1,
    },
}


def test_outbox_prints_events_and_receipts(cli_env: Path) -> None:
    outbox = Outbox(cli_env.parent / "state" / OUTBOX_FILE)
    outbox.reset()
    outbox.append(EVENT)
    outbox.append({"kind": "receipt", "to": "ann@acme.example", "subject": "Received: 1"})
    shown = run("outbox")
    assert shown.exit_code == 0, shown.output
    assert "Message Recorded  m1  case=case-42  labels=client  scan.pdf" in shown.output
    assert "receipt  to ann@acme.example  Received: 1" in shown.output
    as_json = json.loads(run("outbox", "--json", "--kind", "receipt").stdout)
    assert [e["to"] for e in as_json] == ["ann@acme.example"]


def test_outbox_without_local_mode_says_where_events_go(cli_env: Path) -> None:
    result = run("outbox")
    assert result.exit_code == 1
    assert "EventBridge bus" in result.output


def test_watch_prints_new_entries_live_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "state"
    outbox = Outbox(state / OUTBOX_FILE)
    outbox.reset()
    outbox.append({**EVENT, "id": "old/recorded", "detail": {"message_id": "old"}})
    env = {**os.environ, "MAILROOM_STATE_DIR": str(state)}
    watch = subprocess.Popen(
        [sys.executable, "-m", "mailroom.cli.main", "watch", "--interval", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2.0)  # started, and past what was already there
        outbox.append(EVENT)
        deadline = time.monotonic() + 10
        line = ""
        assert watch.stdout is not None
        while "m1" not in line and time.monotonic() < deadline:
            line = watch.stdout.readline()
        assert "Message Recorded  m1  case=case-42" in line
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=10)
        assert watch.returncode == 0, err
        assert "old" not in line + out and "Traceback" not in err
    finally:
        if watch.poll() is None:
            watch.kill()
