"""`mailroom local` and `mailroom demo` as a user runs them, and attaching to an emulator."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from mailroom.cli.main import cli
from mailroom.local.app import LocalMailroom
from mailroom.local.emulator import Emulator
from mailroom.local.persist import SNAPSHOT_INTERVAL
from mailroom.local.stack import StackConfig, provision
from mailroom.local.state import LocalState, read_state

from .conftest import MAIL_DIR, SUBMIT

MAILROOM = [sys.executable, "-c", "from mailroom.cli.main import main; main()"]


def clean_env(state_dir: Path) -> dict[str, str]:
    """A shell with no AWS settings at all: only the state dir tells where the stack is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAILROOM_"))}
    env["MAILROOM_STATE_DIR"] = str(state_dir)
    return env


def wait_until(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")


@pytest.fixture
def local_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], LocalState, Path]]:
    env = clean_env(tmp_path)
    process = subprocess.Popen(
        [
            *MAILROOM,
            "local",
            "--port",
            "0",
            "--endpoint-port",
            "0",
            "--api-port",
            "0",
            # issue 22: the verdict policies flow option -> StackConfig -> Settings -> env
            "--spam-policy",
            "quarantine",
            "--virus-policy",
            "fail_only",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        state = wait_until(lambda: _state_in(tmp_path), 60, "the state file")
        yield process, state, tmp_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _state_in(state_dir: Path) -> LocalState | None:
    previous = os.environ.get("MAILROOM_STATE_DIR")
    os.environ["MAILROOM_STATE_DIR"] = str(state_dir)
    try:
        return read_state()
    finally:
        if previous is None:
            del os.environ["MAILROOM_STATE_DIR"]
        else:
            os.environ["MAILROOM_STATE_DIR"] = previous


def test_mailroom_local_serves_another_shell_and_stops_on_sigterm(
    local_process: tuple[subprocess.Popen[str], LocalState, Path],
) -> None:
    process, state, state_dir = local_process
    assert state.smtp_host == "127.0.0.1"
    assert state.endpoint_url.startswith("http://127.0.0.1:")
    assert state.submission_address == SUBMIT

    raw = re.sub(rb"\r?\n", b"\r\n", (MAIL_DIR / "collaborator-two-pdfs.eml").read_bytes())
    with smtplib.SMTP(state.smtp_host, state.smtp_port, timeout=30) as smtp:
        smtp.sendmail("elodie.martin@partner-avocats.example", [SUBMIT], raw)

    def listed() -> list[dict[str, object]]:
        result = subprocess.run(
            [*MAILROOM, "list", "--json"],
            env=clean_env(state_dir),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        records: list[dict[str, object]] = json.loads(result.stdout)
        return records if len(records) >= 2 else []

    records = wait_until(listed, 60, "two file records")
    assert {r["sender"] for r in records} == {"elodie.martin@partner-avocats.example"}
    # The functions run with the policies the command was given (issue 22).
    lam = boto3.client(
        "lambda",
        endpoint_url=state.endpoint_url,
        region_name=state.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    env = lam.get_function_configuration(FunctionName=state.extract_function)["Environment"]
    assert env["Variables"]["MAILROOM_SPAM_POLICY"] == "quarantine"
    assert env["Variables"]["MAILROOM_VIRUS_POLICY"] == "fail_only"

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    exports = dict(re.findall(r"^export (\w+)=(.*)$", out, re.MULTILINE))
    assert exports["AWS_ENDPOINT_URL"] == state.endpoint_url
    assert exports["MAILROOM_BUCKET"] == "mailroom-local"
    assert exports["MAILROOM_TABLE"] == "mailroom-local"
    assert exports["MAILROOM_SUBMISSION_ADDRESS"] == SUBMIT
    assert {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= exports.keys()
    assert '"level"' not in out + err  # the functions' JSON logs stay in their log file
    assert "IN MEMORY only: lost when this stack stops" in err  # no --data
    assert not (state_dir / "local.json").exists()
    assert (state_dir / "functions.log").read_text().count('"message processed"') == 1


def test_mailroom_demo_prints_every_sample_attachment_with_its_sender(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["demo", "--mail", str(MAIL_DIR)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for expected in (
        "elodie.martin@partner-avocats.example",
        "facture-2026-118.pdf",
        "lease-signed.pdf",
        "passport scan.png",
        "jane.client@client-mail.example",
    ):
        assert expected in result.stdout
    summary = dict(re.findall(r"^  (\S+\.eml)\s+(\w+)\s", result.stdout, re.MULTILINE))
    assert summary == {
        "collaborator-two-pdfs.eml": "extracted",
        "no-attachment.eml": "no_attachments",
        "staff-forward.eml": "extracted",
        "virus-eicar.eml": "quarantined",
    }
    assert '"level"' not in result.output
    # The dashboard while the demo runs, and how to keep one running afterwards.
    link = r"^# dashboard: http://127\.0\.0\.1:\d+/#token=[A-Za-z0-9_.-]+ "
    assert re.search(link, result.stderr, re.MULTILINE)
    assert "`mailroom local` keeps one running" in result.stderr


@pytest.mark.parametrize("active", [True, False], ids=["active-rule-set", "named-rule-set"])
def test_attach_runs_the_stand_ins_against_an_emulator_provisioned_elsewhere(
    tmp_path: Path, active: bool
) -> None:
    # GIVEN an emulator someone else provisioned (here by hand, as `terraform apply` would)
    emulator = Emulator()
    endpoint = emulator.start()
    try:
        provision(
            endpoint,
            StackConfig(
                bucket="mailroom-tf",
                table="mailroom-tf",
                name_prefix="tf",
                submission_addresses=("in@firm.test",),
            ),
        )
        if not active:  # Terraform leaves activation to a variable: inactive by default
            endpoint.client("ses").set_active_receipt_rule_set()
        # WHEN the stand-ins attach to it and mail arrives
        rule_set = None if active else "mailroom"
        with LocalMailroom.attach(
            endpoint.url, smtp_port=0, state_dir=tmp_path, rule_set=rule_set
        ) as stack:
            assert stack.config.bucket == "mailroom-tf"
            assert stack.config.table == "mailroom-tf"
            assert stack.submission_address == "in@firm.test"
            raw = re.sub(rb"\r?\n", b"\r\n", (MAIL_DIR / "staff-forward.eml").read_bytes())
            assert stack.frontdoor is not None
            with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
                smtp.sendmail("paul.renard@firm.example", ["in+case-9@firm.test"], raw)
            (outcome,) = stack.wait_for_messages(
                [stack.frontdoor.received[0].message_id], timeout=60
            )
        # THEN the provisioned functions ran, and the files are in the provisioned table
        assert outcome.record is not None
        assert str(outcome.record.outcome) == "extracted"
        assert outcome.record.case == "case-9"
        assert {f.original_sender for f in outcome.files if f.filename == "lease-signed.pdf"} == {
            "jane.client@client-mail.example"
        }
    finally:
        emulator.stop()


def test_a_changed_function_environment_is_a_cold_start(tmp_path: Path) -> None:
    with LocalMailroom(StackConfig(), smtp_port=0, state_dir=tmp_path) as stack:
        assert stack.endpoint is not None and stack.frontdoor is not None
        raw = re.sub(rb"\r?\n", b"\r\n", (MAIL_DIR / "no-attachment.eml").read_bytes())

        def deliver() -> str:
            assert stack.frontdoor is not None
            with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
                smtp.ehlo("client.test")
                smtp.mail("marc.dubois@client-mail.example")
                smtp.rcpt(SUBMIT)
                code, reply = smtp.data(raw)
            assert code == 250
            return reply.decode().split()[-1]

        first = deliver()
        stack.wait_for_messages([first])
        # An operator narrows the allow-list, as `terraform apply` would change the variable.
        lam = stack.endpoint.client("lambda")
        name = "mailroom-local-extract-attachments"
        variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        variables["MAILROOM_ALLOWED_SENDER_DOMAINS"] = "firm.example"
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
        second = deliver()
        before, after = stack.wait_for_messages([first, second])

    assert before.record is not None and str(before.record.outcome) == "no_attachments"
    assert after.record is not None and str(after.record.outcome) == "rejected"


def _workers_logging_to(state_dir: Path) -> list[int]:
    """Sandbox processes started for the stack whose state is in `state_dir`."""
    marker = str(state_dir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                environ = (entry / "environ").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if b"mailroom.local.worker" in cmdline and marker in environ and state != "Z":
                found.append(int(entry.name))
    return found


def test_with_data_a_killed_stack_keeps_what_it_had_recorded(tmp_path: Path) -> None:
    data, state_dir = tmp_path / "data", tmp_path / "state"
    command = [*MAILROOM, "local", "--port", "0", "--endpoint-port", "0", "--data", str(data)]

    def start() -> tuple[subprocess.Popen[str], LocalState]:
        process = subprocess.Popen(
            command,
            env=clean_env(state_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return process, wait_until(lambda: _state_in(state_dir), 60, "the state file")

    def listed() -> list[dict[str, object]]:
        result = subprocess.run(
            [*MAILROOM, "list", "--json"],
            env=clean_env(state_dir),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        records: list[dict[str, object]] = json.loads(result.stdout)
        return records if len(records) >= 2 else []

    process, state = start()
    try:
        assert state.data_dir == str(data.resolve())
        raw = re.sub(rb"\r?\n", b"\r\n", (MAIL_DIR / "collaborator-two-pdfs.eml").read_bytes())
        with smtplib.SMTP(state.smtp_host, state.smtp_port, timeout=30) as smtp:
            smtp.sendmail("elodie.martin@partner-avocats.example", [SUBMIT], raw)
        before = wait_until(listed, 60, "two file records")
        time.sleep(SNAPSHOT_INTERVAL + 1)  # what a crash may lose: the last interval
        # WHEN the stack dies without stopping (no flush, no cleanup)
        process.kill()
        process.wait(10)
        process.communicate()
        assert wait_until(lambda: not _workers_logging_to(state_dir), 10, "no orphan sandbox")
        (state_dir / "local.json").unlink(missing_ok=True)
        # THEN a new stack on the same data has the records
        process, state = start()
        after = wait_until(listed, 60, "the restored records")
        assert sorted(r["file_id"] for r in after) == sorted(r["file_id"] for r in before)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
            assert "data kept in" in err
