"""The data folder's lock, and the wording of a dead letter's log line (no AWS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailroom.local.persist import LOCK_FILE, DataDirBusy, DataLock
from mailroom.local.runner import dead_letter_reason


def test_one_stack_per_data_folder_and_a_clean_stop_leaves_no_pid(tmp_path: Path) -> None:
    first = DataLock(tmp_path)
    first.acquire()
    assert first.previous_pid is None  # a new folder: nobody before
    assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"

    # a second holder is refused, with the pid to stop (flock: per open file, so this holds
    # within one process as between two)
    with pytest.raises(DataDirBusy, match=rf"in use by pid {os.getpid()} .*kill {os.getpid()}"):
        DataLock(tmp_path).acquire()

    first.release(clean=True)
    assert (tmp_path / LOCK_FILE).read_text() == ""
    again = DataLock(tmp_path)
    again.acquire()
    assert again.previous_pid is None  # the last stop was clean
    again.release(clean=False)  # work was cut short
    after = DataLock(tmp_path)
    after.acquire()
    assert after.previous_pid == os.getpid()  # so the next start reconciles
    after.release(clean=True)


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    (tmp_path / LOCK_FILE).write_text(f"{pid}\n")  # what a killed stack leaves

    lock = DataLock(tmp_path)
    lock.acquire()

    assert lock.previous_pid == pid
    assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    lock.release(clean=True)


@pytest.mark.parametrize(
    ("attempts", "said"),
    [
        (0, "async invocation not run (the local stack was stopping)"),
        (1, "async invocation failed 1 time"),
        (3, "async invocation failed 3 times"),
    ],
)
def test_a_dead_letter_says_what_happened(attempts: int, said: str) -> None:
    assert dead_letter_reason(attempts) == said
