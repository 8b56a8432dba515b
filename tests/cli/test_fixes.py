"""The bugs and output problems of issue 10, each pinned by a test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from mailroom.cli.main import cli
from mailroom.policy import Outcome
from tests.cli.conftest import Stack, hours_ago, run

BODY = b"%PDF-1.7 the bytes\n" * 100


# -- get --output --


def test_get_into_a_missing_directory_ending_with_a_slash_creates_it(
    stack: Stack, tmp_path: Path
) -> None:
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)
    target = tmp_path / "Downloads" / "new"

    result = run("get", record.file_id, "--output", f"{target}/")

    assert result.exit_code == 0, result.stderr
    assert (target / "report.pdf").read_bytes() == BODY
    assert result.stdout.strip() == str(target / "report.pdf")


def test_get_into_a_missing_directory_without_a_slash_fails_naming_the_path(
    stack: Stack, tmp_path: Path
) -> None:
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)
    wanted = tmp_path / "missing" / "report.pdf"

    result = run("get", record.file_id, "--output", str(wanted))

    assert result.exit_code == 1
    assert f"cannot write {wanted}: {wanted.parent} does not exist" in result.stderr
    assert ".mailroom-" not in result.stderr
    assert not (tmp_path / "missing").exists()


def test_get_refuses_symlinks_and_fifos_even_with_force(stack: Stack, tmp_path: Path) -> None:
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    link = tmp_path / "link.pdf"
    link.symlink_to(victim)
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)

    via_link = run("get", record.file_id, "-o", str(link), "--force")
    via_fifo = run("get", record.file_id, "-o", str(fifo), "--force")

    assert via_link.exit_code == 1
    assert f"{link} is a symbolic link: refusing to replace it" in via_link.stderr
    assert link.is_symlink()
    assert victim.read_bytes() == b"keep me"
    assert via_fifo.exit_code == 1
    assert "is a FIFO" in via_fifo.stderr


def test_get_writes_through_a_character_device(stack: Stack) -> None:
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)

    result = run("get", record.file_id, "--output", "/dev/null", "--force")

    assert result.exit_code == 0, result.stderr
    assert Path("/dev/null").is_char_device()
    assert result.stdout.strip() == "/dev/null"


def test_a_write_error_names_the_users_path_not_a_temporary_file(stack: Stack) -> None:
    # /dev/full fails every write with ENOSPC, for root too (CI runs as root, so a
    # read-only directory would not fail there).
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)

    result = run("get", record.file_id, "-o", "/dev/full", "--force")

    assert result.exit_code == 1
    assert "cannot write /dev/full: No space left on device" in result.stderr
    assert ".part" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_parent_that_is_a_file_is_named_as_such(stack: Stack, tmp_path: Path) -> None:
    record = stack.add_file("m1", "report.pdf", received_at=hours_ago(1), body=BODY)
    (tmp_path / "notes").write_text("a file")

    result = run("get", record.file_id, "-o", str(tmp_path / "notes" / "out.pdf"))
    slash = run("get", record.file_id, "-o", f"{tmp_path / 'notes'}/")

    assert result.exit_code == 1
    assert f"{tmp_path / 'notes'} is not a directory" in result.stderr
    assert slash.exit_code == 1
    assert "it is not a directory" in slash.stderr


# -- options --


def test_limit_has_a_range_and_a_huge_number_is_a_usage_error(stack: Stack) -> None:
    huge = run("list", "--limit", "99999999999999999999")
    zero = run("messages", "--limit", "0")

    assert huge.exit_code == 2
    assert "Traceback" not in huge.stderr
    assert "ValueError" not in huge.stderr
    assert "10000" in huge.stderr
    assert zero.exit_code == 2


def test_every_number_option_has_a_range() -> None:
    loose = []
    for name, command in cli.commands.items():
        for param in command.params:
            numeric = click.types.IntParamType | click.types.FloatParamType
            ranged = click.types._NumberRangeBase
            if isinstance(param.type, numeric) and not isinstance(param.type, ranged):
                loose.append(f"{name} {param.name}")
    assert loose == []


def test_every_option_has_help() -> None:
    missing = [
        f"{name} --{param.name}"
        for name, command in cli.commands.items()
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not param.help
    ]
    assert missing == []
    assert "local" in cli.commands


def test_debug_works_after_the_subcommand_and_from_the_environment(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_TABLE", "no-such-table")

    after = run("list", "--debug")
    from_env = run("list", env={"MAILROOM_DEBUG": "1"})
    without = run("list")

    assert after.exit_code == 1
    assert "Traceback (most recent call last)" in after.stderr
    assert "Traceback (most recent call last)" in from_env.stderr
    assert "Traceback" not in without.stderr


def test_times_are_utc_with_z_by_default_and_local_with_an_offset_on_request(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    stack.add_file("m1", "a.pdf", received_at="2026-11-29T17:43:00.000Z")

    utc = run("list", "--since", "2026-11-29")
    local = run("list", "--since", "2026-11-29", "--local-time")
    shown = run("show", "incoming/m1/01-a.pdf", "--local-time")
    helped = run("list", "--help")

    assert "2026-11-29 17:43Z" in utc.stdout
    assert "2026-11-30 06:43+13:00" in local.stdout
    assert "2026-11-30 06:43:00+13:00" in shown.stdout
    assert "UTC day" in helped.stdout
    monkeypatch.undo()
    time.tzset()


def test_piped_listing_keeps_ids_whole_and_upper_case_headers(stack: Stack) -> None:
    long_name = "Relevé de compte mars 2026 final version signée par le client.pdf"
    record = stack.add_file(
        "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81",
        long_name,
        received_at=hours_ago(1),
        sender="staff@firm.example",
        original_sender="client.name@client-example.com",
    )

    result = run("list", env={"COLUMNS": "80"})

    header, row = result.stdout.splitlines()
    assert header == header.upper()
    assert row.endswith(record.file_id)
    assert "client.name@client-example.com via staff@firm.example" in row


def test_message_on_a_quarantined_message_lists_the_held_files(stack: Stack) -> None:
    held = ["quarantine/msg-q/01-invoice.exe", "quarantine/msg-q/02-notes.pdf"]
    stack.add_message(
        "msg-q",
        received_at=hours_ago(1),
        outcome=Outcome.QUARANTINED,
        reason="virus verdict FAIL",
        attachment_count=2,
        file_ids=held,
    )

    text = run("message", "msg-q")
    data = json.loads(run("message", "msg-q", "--json").stdout)

    assert text.exit_code == 0, text.stderr
    assert "HELD IN QUARANTINE (2, never served)" in text.stdout
    assert all(f"  {key}" in text.stdout.splitlines() for key in held)
    assert data["held"] == held
    assert data["files"] == []


def test_upload_rejects_an_empty_or_missing_sender(stack: Stack, tmp_path: Path) -> None:
    f = tmp_path / "a.pdf"
    f.write_bytes(b"1")

    empty = run("upload", str(f), "--sender", "")
    blank = run("upload", str(f), "--sender", "  <> ")
    missing = run("upload", str(f))

    assert empty.exit_code == 2
    assert "is not an email address" in empty.stderr
    assert blank.exit_code == 2
    assert missing.exit_code == 2
    assert "--sender" in missing.stderr
    assert stack.s3.list_objects_v2(Bucket="mailroom-cli-test").get("KeyCount", 0) == 0


# -- completion, formats, local mode without its extra --


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F"), ("zsh", "#compdef mailroom"), ("fish", "complete")],
)
def test_completion_prints_a_script_for_each_shell(shell: str, marker: str) -> None:
    result = run("completion", shell)

    assert result.exit_code == 0, result.stderr
    assert marker in result.stdout
    assert "_MAILROOM_COMPLETE" in result.stdout


def test_completion_completes_command_names(cli_env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from mailroom.cli.main import main; main()"],
        env={
            **os.environ,
            "_MAILROOM_COMPLETE": "bash_complete",
            "COMP_WORDS": "mailroom dup",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "duplicates" in done.stdout


def test_json_and_format_disagreeing_is_a_usage_error(stack: Stack) -> None:
    result = run("list", "--json", "--format", "csv")

    assert result.exit_code == 2
    assert "contradict" in result.stderr


def test_messages_as_csv(stack: Stack) -> None:
    stack.add_message("m1", received_at=hours_ago(1), outcome=Outcome.FAILED, reason="boom, bang")

    result = run("messages", "--format", "csv")

    header, row = result.stdout.splitlines()
    assert header.startswith("message_id,received_at,raw_key,outcome")
    assert row.startswith("m1,")
    assert '"boom, bang"' in row


def test_local_and_demo_say_how_to_install_the_extra_when_moto_is_missing(cli_env: Path) -> None:
    code = (
        "import sys; sys.modules['moto'] = None\n"
        "from mailroom.cli.main import main\n"
        "sys.argv = ['mailroom', sys.argv[1], '--port', '0']\n"
        "main()"
    )
    for command in ("local", "demo"):
        done = subprocess.run(
            [sys.executable, "-c", code, command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert "install mailroom[local]" in done.stderr
        assert "missing: moto" in done.stderr
        assert "Traceback" not in done.stderr
