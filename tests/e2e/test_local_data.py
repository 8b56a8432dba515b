"""Issue 19: `--data` keeps every version by its id across restarts; the CLI works with only the
printed exports; doctor compares versions."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import smtplib
import subprocess
import threading
from pathlib import Path
from subprocess import PIPE
from typing import IO
from urllib.parse import quote

import requests
from click.testing import CliRunner, Result

from mailroom.cli.main import cli
from mailroom.local import state as state_file
from mailroom.local.app import LocalMailroom
from mailroom.local.stack import StackConfig
from mailroom.local.state import LocalState
from mailroom.model import FileRecord, file_pk_sk

from .conftest import MAIL_DIR, SUBMIT
from .test_local_command import MAILROOM, _state_in, clean_env, wait_until

RESTARTS = 3
BURST = 12


def sample(name: str) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", (MAIL_DIR / name).read_bytes())


def send(stack: LocalMailroom, raw: bytes) -> str:
    assert stack.frontdoor is not None
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=60) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("elodie.martin@partner-avocats.example")
        assert smtp.rcpt(SUBMIT)[0] == 250
        code, reply = smtp.data(raw)
    assert code == 250, reply
    return reply.decode().split()[-1]


def only(settings: dict[str, str], state_dir: Path) -> dict[str, str | None]:
    """A shell with these settings and nothing else from this one (no AWS_*, no MAILROOM_*);
    `state_dir` decides whether the CLI can see the running stack's state file."""
    env: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("AWS_", "MAILROOM_"))
    }
    env.update(settings)
    env["MAILROOM_STATE_DIR"] = str(state_dir)
    return env


def mailroom(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def ok(env: dict[str, str | None], *args: str) -> Result:
    result = mailroom(env, *args)
    assert result.exit_code == 0, f"mailroom {' '.join(args)}: {result.output}"
    return result


def downloads(
    stack: LocalMailroom, files: dict[str, FileRecord], out: Path, *, with_cli: bool
) -> None:
    """Every recorded file, by the link the dashboard's Open follows and by
    `mailroom get` (`with_cli`), each checked against its recorded sha256."""
    assert stack.api is not None
    env = only(stack.env(), out / "no-state")
    auth = {"Authorization": f"Bearer {stack.api.token}"}
    out.mkdir()
    for n, (file_id, record) in enumerate(sorted(files.items())):
        link = requests.get(
            f"{stack.api.url}/files/{quote(file_id, safe='')}/download", headers=auth, timeout=30
        )
        assert link.status_code == 200, link.text
        fetched = requests.get(link.json()["url"], timeout=30)
        assert fetched.status_code == 200, fetched.text[:300]
        assert hashlib.sha256(fetched.content).hexdigest() == record.sha256, file_id
        if with_cli:
            target = out / f"{n}.bin"
            ok(env, "get", file_id, "-o", str(target), "--force")
            assert hashlib.sha256(target.read_bytes()).hexdigest() == record.sha256, file_id


def test_every_file_stays_downloadable_across_restarts_and_the_exports_are_enough(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    config = StackConfig(submission_addresses=(SUBMIT,))
    recorded: dict[str, FileRecord] = {}
    # an object kept in the layout before versions were kept (one body, no version id)
    legacy = data / "s3" / config.bucket / hashlib.sha256(b"legacy/old.txt").hexdigest()
    legacy.parent.mkdir(parents=True)
    legacy.with_suffix(".json").write_text(json.dumps({"key": "legacy/old.txt", "metadata": {}}))
    legacy.with_suffix(".body").write_bytes(b"kept before versions")
    for run in range(RESTARTS + 1):
        # GIVEN a --data stack (started again after each clean stop) that receives mail
        with LocalMailroom(
            config, smtp_port=0, state_dir=tmp_path / f"state-{run}", data_dir=data
        ) as stack:
            assert stack.reconciled is None  # the previous run stopped cleanly
            # each run's raw message and its two files, and the old layout's object
            assert stack.restored[0] == 3 * run + 1
            if run == 0:  # rewritten in the versioned layout at once
                kept = json.loads(legacy.with_suffix(".json").read_text())
                assert [v["version_id"] for v in kept["versions"]] != []
                assert not legacy.with_suffix(".body").exists()
            message_id = send(stack, sample("collaborator-two-pdfs.eml"))
            (outcome,) = stack.wait_for_messages([message_id], timeout=60)
            assert len(outcome.files) == 2
            recorded.update({f.file_id: f for f in outcome.files})
            dead_letter_queue_is_kept(stack, run)
            # THEN every file recorded in this run and every earlier one downloads by its
            # recorded version through the API's presigned link (the dashboard's Open), and
            # after the last restart with `mailroom get` too
            last = run == RESTARTS
            assert stack.endpoint is not None
            old = stack.endpoint.client("s3").get_object(Bucket=config.bucket, Key="legacy/old.txt")
            assert old["Body"].read() == b"kept before versions"
            downloads(stack, recorded, tmp_path / f"out-{run}", with_cli=last)
            if not last:
                continue
            # AND doctor finds nothing wrong, having compared versions
            doctor = mailroom(only(stack.env(), tmp_path), "doctor", "--grace", "0s", "--json")
            report = json.loads(doctor.stdout)
            assert doctor.exit_code == 0, doctor.stdout
            found = {f["check"]: f for f in report["findings"]}
            assert found["file_object_gone"]["summary"] == (
                "every file record's object exists in its recorded version"
            )
            assert found["dead_letter_file"]["status"] == "ok"
            assert found["receipt_rule"]["status"] == "ok"  # the exports name the rule set
            every_command_works_with_only_the_printed_exports(stack, message_id, tmp_path)
            reprocess_finds_the_function_in_the_state_file(stack, message_id, tmp_path)
            doctor_reports_a_record_whose_version_is_gone(stack, recorded, tmp_path)
    assert len(recorded) == 2 * (RESTARTS + 1)


def dead_letter_queue_is_kept(stack: LocalMailroom, run: int) -> None:
    """Run 0 leaves an event in the extract DLQ; run 1 finds it (body and attributes) and
    takes it out; run 2 finds the queue empty."""
    assert stack.endpoint is not None and stack.provisioned is not None
    sqs = stack.endpoint.client("sqs")
    url = stack.provisioned.dlq_urls["extract-attachments"]
    event = {"Records": [{"eventSource": "aws:ses", "n": 1}]}
    if run == 0:
        attributes = {"ErrorMessage": {"DataType": "String", "StringValue": "Timeout"}}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event), MessageAttributes=attributes)
        return
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", [])
    if run == 1:
        assert [json.loads(m["Body"]) for m in got] == [event]
        assert got[0]["MessageAttributes"]["ErrorMessage"]["StringValue"] == "Timeout"
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    else:
        assert got == []


def every_command_works_with_only_the_printed_exports(
    stack: LocalMailroom, message_id: str, tmp_path: Path
) -> None:
    # `mailroom local` prints `export NAME=VALUE` for each of stack.env(); no state file here
    env = only(stack.env(), tmp_path / "no-state")
    assert {
        "MAILROOM_EXTRACT_FUNCTION_NAME",
        "MAILROOM_RECORD_FUNCTION_NAME",
        "MAILROOM_EXTRACT_DLQ_URL",
        "MAILROOM_RECORD_DLQ_URL",
        "MAILROOM_RECEIPT_RULE_SET_NAME",
        "MAILROOM_DEAD_LETTER_FILE",
    } <= set(stack.env())
    listed = json.loads(ok(env, "list", "--json").stdout)
    file_id = listed[0]["file_id"]
    ok(env, "show", file_id)
    ok(env, "message", message_id)
    ok(env, "messages")
    ok(env, "get", file_id, "-o", str(tmp_path / "got.bin"), "--force")
    assert ok(env, "url", file_id).stdout.startswith(stack.env()["AWS_ENDPOINT_URL"])
    note = tmp_path / "note.txt"
    note.write_text("uploaded with only the exports\n")
    uploaded = json.loads(ok(env, "upload", str(note), "--sender", "a@b.example", "--json").stdout)
    ok(env, "duplicates", file_id)
    ok(env, "stats")
    ok(env, "cases")
    reprocessed = json.loads(ok(env, "reprocess", message_id, "--json").stdout)
    assert [q["message_id"] for q in reprocessed["queued"]] == [message_id]
    assert "0 event(s)" in ok(env, "redrive", "--dry-run").stdout
    mbox = tmp_path / "import"
    mbox.mkdir()
    (mbox / "one.eml").write_bytes((MAIL_DIR / "collaborator-two-pdfs.eml").read_bytes())
    ok(env, "import", str(mbox))
    stack.wait_idle(60)
    upload_id = uploaded[0]["file_id"] if isinstance(uploaded, list) else uploaded["file_id"]
    ok(env, "delete", upload_id, "--yes")
    doctor = ok(env, "doctor", "--grace", "0s")
    skipped = [line for line in doctor.stdout.splitlines() if line.startswith("[skipped]")]
    assert skipped == ["[skipped] alarm topic ARN not configured"]  # local mode has none


def reprocess_finds_the_function_in_the_state_file(
    stack: LocalMailroom, message_id: str, tmp_path: Path
) -> None:
    # A shell with no settings at all finds the stack by its state file alone
    state_dir = tmp_path / "state-file"
    previous = os.environ.get(state_file.STATE_DIR_ENV)
    os.environ[state_file.STATE_DIR_ENV] = str(state_dir)
    try:
        state_file.write_state(stack.local_state(os.getpid()))
    finally:
        if previous is None:
            del os.environ[state_file.STATE_DIR_ENV]
        else:
            os.environ[state_file.STATE_DIR_ENV] = previous
    env = only({}, state_dir)
    reprocessed = json.loads(ok(env, "reprocess", message_id, "--json").stdout)
    assert [q["message_id"] for q in reprocessed["queued"]] == [message_id]
    stack.wait_idle(60)


def doctor_reports_a_record_whose_version_is_gone(
    stack: LocalMailroom, recorded: dict[str, FileRecord], tmp_path: Path
) -> None:
    assert stack.endpoint is not None
    first = min(recorded.values(), key=lambda f: f.received_at)
    # WHEN a record names a version the key does not have (what a restore under new version
    # ids did before versions were kept); the key itself still exists
    key = file_pk_sk(first.file_id)
    stack.endpoint.client("dynamodb").update_item(
        TableName=stack.config.table,
        Key={"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}},
        UpdateExpression="SET version_id = :v",
        ExpressionAttributeValues={":v": {"S": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}},
    )
    # THEN doctor names it (the key alone still exists) and exits 1
    result = mailroom(only(stack.env(), tmp_path), "doctor", "--grace", "0s", "--json")
    report = json.loads(result.stdout)
    found = {f["check"]: f for f in report["findings"]}
    assert result.exit_code == 1
    assert found["file_object_gone"]["status"] == "problem"
    assert found["file_object_gone"]["items"] == [first.file_id]


def test_a_stack_killed_mid_burst_reconciles_on_restart_and_its_folder_is_locked(
    tmp_path: Path,
) -> None:
    data, state_dir = tmp_path / "data", tmp_path / "state"
    command = [
        *MAILROOM,
        "local",
        *("--port", "0", "--endpoint-port", "0", "--api-port", "0"),
        *("--data", str(data)),
    ]

    def start() -> tuple[subprocess.Popen[str], LocalState]:
        process = subprocess.Popen(
            command, env=clean_env(state_dir), stdout=PIPE, stderr=PIPE, text=True
        )
        return process, wait_until(lambda: _state_in(state_dir), 90, "the state file")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*MAILROOM, *args],
            env=clean_env(state_dir),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    process, state = start()
    try:
        # GIVEN a second stack on the same folder (its own state dir): it refuses, naming the pid
        second = subprocess.run(
            command,
            env=clean_env(tmp_path / "other-state"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode != 0
        assert f"is in use by pid {process.pid}" in second.stderr, second.stderr

        # WHEN the stack is killed (SIGKILL: no flush, no clean stop) in the middle of a burst
        raw = sample("collaborator-two-pdfs.eml")
        accepted: list[str] = []

        def burst() -> None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                for _ in range(BURST):
                    with smtplib.SMTP(state.smtp_host, state.smtp_port, timeout=30) as smtp:
                        smtp.ehlo("client.test")
                        smtp.mail("elodie.martin@partner-avocats.example")
                        smtp.rcpt(SUBMIT)
                        code, reply = smtp.data(raw)
                    if code == 250:
                        accepted.append(reply.decode().split()[-1])

        sender = threading.Thread(target=burst)
        sender.start()
        wait_until(lambda: len(accepted) >= BURST // 2, 120, "half the burst accepted")
        killed = process.pid
        process.kill()
        process.communicate(timeout=30)
        sender.join(60)
        assert BURST // 2 <= len(accepted) < BURST

        # THEN a new stack takes the dead one's lock over and reconciles on start
        process, state = start()
        assert process.stderr is not None
        err = _lines_of(process.stderr)
        note = wait_until(
            lambda: next((x for x in err if "stop cleanly" in x), None), 60, "the note"
        )
        assert f"pid {killed} did not stop cleanly: reconciled on start" in note, note
        queued = re.search(r"re-queued (\d+) message\(s\) and (\d+) object\(s\)", note)
        assert queued is not None and int(queued[1]) + int(queued[2]) > 0, note

        # AND once that work is done, doctor is clean and every accepted message is whole
        def healthy() -> bool:
            return cli("doctor", "--grace", "0s", "--json").returncode == 0

        wait_until(healthy, 180, "a clean doctor")
        for message_id in accepted:
            shown = json.loads(cli("message", message_id, "--json").stdout)
            assert shown["message"]["outcome"] == "extracted", message_id
            assert len(shown["files"]) == 2, message_id
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)


def _lines_of(stream: IO[str]) -> list[str]:
    """Lines read from `stream` by a thread of their own, as they come."""
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return lines
