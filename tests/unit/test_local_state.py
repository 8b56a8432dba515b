"""The local stack's state file: where the CLI finds a running `mailroom local`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from mailroom.cli.config import EXPORT_NAMES, OPS_NAMES
from mailroom.local.state import (
    OPS_FIELDS,
    LocalState,
    clear_state,
    ops_env,
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


def test_the_fields_other_commands_need_round_trip(state_dir: Path) -> None:
    # reprocess, redrive and doctor find functions, DLQs and the rule set here.
    written = replace(
        _state(os.getpid()),
        extract_function="mailroom-local-extract-attachments",
        record_function="mailroom-local-record-metadata",
        extract_dlq_url="http://127.0.0.1:4525/123456789012/mailroom-local-extract-attachments-dlq",
        record_dlq_url="http://127.0.0.1:4525/123456789012/mailroom-local-record-metadata-dlq",
        rule_set="mailroom",
        dead_letter_file="/tmp/dead-letters.jsonl",
        data_dir="/tmp/data",
        export_signing_key_arn="arn:aws:kms:eu-west-1:123456789012:key/export",
        export_function="mailroom-local-export-case",
    )
    write_state(written)
    assert read_state() == written
    assert written.endpoint_port == 5000
    # the same names under the CLI's own (Terraform's output names), in the file and as exports
    outputs = json.loads((state_dir / "local.json").read_text())["outputs"]
    names = {
        "extract_function_name": "mailroom-local-extract-attachments",
        "record_function_name": "mailroom-local-record-metadata",
        "extract_dlq_url": written.extract_dlq_url,
        "record_dlq_url": written.record_dlq_url,
        "receipt_rule_set_name": "mailroom",
        "dead_letter_file": "/tmp/dead-letters.jsonl",
        "export_signing_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/export",
        "export_function": "mailroom-local-export-case",
    }
    assert outputs == names
    assert ops_env(written) == {f"MAILROOM_{k.upper()}": v for k, v in names.items()}
    # the CLI's names, all (and the export signing key, issue 22)
    assert set(OPS_FIELDS) == set(OPS_NAMES + EXPORT_NAMES) - {"alarm_topic_arn"}


def test_an_older_state_file_without_the_new_fields_still_reads(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    old = {
        "endpoint_url": "http://127.0.0.1:5000",
        "region": "eu-west-1",
        "bucket": "b",
        "table": "t",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "submission_address": "submit@mailroom.test",
        "pid": os.getpid(),
    }
    (state_dir / "local.json").write_text(json.dumps(old))
    state = read_state()
    assert state is not None and state.extract_function == "" and state.data_dir == ""


def test_a_second_stack_is_refused_with_the_running_ones_pid_and_ports(
    state_dir: Path,
) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from mailroom.cli.main import cli  # noqa: PLC0415

    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            write_state(replace(_state(other.pid), endpoint_url="http://127.0.0.1:4525"))
            result = CliRunner().invoke(cli, ["local", "--port", "0", "--endpoint-port", "0"])
        finally:
            other.kill()
    assert result.exit_code != 0
    assert f"pid {other.pid}" in result.output
    assert "127.0.0.1:2525" in result.output
    assert "http://127.0.0.1:4525" in result.output


def test_help_says_where_the_state_lives() -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from mailroom.cli.main import cli  # noqa: PLC0415

    result = CliRunner().invoke(cli, ["local", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "in memory" in text and "lost" in text
    assert "--data DIR" in text
    assert "--endpoint-port" in text and "4525" in text
