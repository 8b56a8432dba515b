"""The local stack's state file: where the CLI finds a running `mailroom local`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailroom.local.state import (
    LocalState,
    clear_state,
    read_state,
    state_path,
    write_state,
)


def _state(pid: int) -> LocalState:
    return LocalState(
        endpoint_url="http://127.0.0.1:5000",
        region="eu-west-1",
        bucket="mailroom-local",
        table="mailroom-local",
        smtp_host="127.0.0.1",
        smtp_port=2525,
        submission_address="submit@mailroom.test",
        pid=pid,
    )


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAILROOM_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_state_round_trips_while_its_process_lives(state_dir: Path) -> None:
    written = _state(os.getpid())
    assert write_state(written) == state_dir / "local.json"
    assert read_state() == written


def test_no_file_means_no_stack(state_dir: Path) -> None:
    assert read_state() is None


def test_a_dead_pid_means_no_stack(state_dir: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    write_state(_state(int(finished.stdout)))
    assert read_state() is None


def test_a_damaged_file_means_no_stack(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    (state_dir / "local.json").write_text("{not json")
    assert read_state() is None
    (state_dir / "local.json").write_text('{"pid": 1}')
    assert read_state() is None


def test_clear_with_a_pid_leaves_another_stacks_file(state_dir: Path) -> None:
    write_state(_state(os.getpid()))
    clear_state(pid=os.getpid() + 1)
    assert state_path().exists()
    clear_state(pid=os.getpid())
    assert not state_path().exists()
    clear_state()  # nothing there: no error


def test_xdg_state_home_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILROOM_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_path() == tmp_path / "xdg" / "mailroom" / "local.json"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_path() == tmp_path / "home" / ".local" / "state" / "mailroom" / "local.json"
