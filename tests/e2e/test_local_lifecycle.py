"""Issue 9: `--data` keeps bucket and table across restarts; stopping under load loses nothing."""

from __future__ import annotations

import json
import os
import re
import smtplib
import time
from pathlib import Path

from mailroom.local.app import LocalMailroom
from mailroom.local.stack import StackConfig

from .conftest import MAIL_DIR, SUBMIT


def sample(name: str) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", (MAIL_DIR / name).read_bytes())


def send(stack: LocalMailroom, raw: bytes, sender: str = "client@partner.example") -> str:
    assert stack.frontdoor is not None
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=60) as smtp:
        smtp.ehlo("client.test")
        smtp.mail(sender)
        assert smtp.rcpt(SUBMIT)[0] == 250
        code, reply = smtp.data(raw)
    assert code == 250, reply
    return reply.decode().split()[-1]


def workers_of_this_process() -> list[int]:
    """Live worker processes (sandboxes) whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"mailroom.local.worker" in cmdline:
            state = stat.rsplit(")", 1)[1].split()[0]
            if state != "Z":
                found.append(int(entry.name))
    return found


def test_with_data_the_bucket_and_table_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = StackConfig(submission_addresses=(SUBMIT,))
    # GIVEN a stack with --data that received mail, an upload, and a deleted object
    with LocalMailroom(config, smtp_port=0, state_dir=tmp_path / "one", data_dir=data) as first:
        assert first.endpoint is not None
        message_id = send(first, sample("collaborator-two-pdfs.eml"))
        (before,) = first.wait_for_messages([message_id], timeout=60)
        s3 = first.endpoint.client("s3")
        s3.put_object(
            Bucket=config.bucket,
            Key="incoming/upload-kept/note one.txt",
            Body=b"kept across restarts",
            ContentType="text/plain",
            Metadata={"origin": "test"},
        )
        s3.put_object(Bucket=config.bucket, Key="incoming/upload-gone/x.txt", Body=b"gone")
        first.wait_idle()
        s3.delete_object(Bucket=config.bucket, Key="incoming/upload-gone/x.txt")
    assert before.record is not None and len(before.files) == 2

    # WHEN it starts again on the same directory
    with LocalMailroom(config, smtp_port=0, state_dir=tmp_path / "two", data_dir=data) as again:
        assert again.endpoint is not None and again.notifier is not None
        record, files = again.catalog().get_message(message_id)
        s3 = again.endpoint.client("s3")
        kept = s3.get_object(Bucket=config.bucket, Key="incoming/upload-kept/note one.txt")
        raw = s3.get_object(Bucket=config.bucket, Key=f"raw/{message_id}")["Body"].read()
        listed = s3.list_objects_v2(Bucket=config.bucket, Prefix="incoming/upload-gone/")
        _, uploaded = again.catalog().get_message("upload-kept")
        restored = again.restored
        dispatched = again.notifier.dispatched
        # every record's version, by its recorded id, and the deleted upload's too
        versions = {
            f.file_id: s3.get_object(Bucket=config.bucket, Key=f.file_id, VersionId=f.version_id)
            for f in files
        }
        gone = s3.list_object_versions(Bucket=config.bucket, Prefix="incoming/upload-gone/")

    # THEN records, objects and metadata are back; the deleted object is not; nothing re-ran
    assert record is not None and str(record.outcome) == "extracted"
    assert sorted(f.file_id for f in files) == sorted(f.file_id for f in before.files)
    assert {f.sha256 for f in files} == {f.sha256 for f in before.files}
    assert kept["Body"].read() == b"kept across restarts"
    assert kept["ContentType"] == "text/plain"
    assert kept["Metadata"] == {"origin": "test"}
    assert raw.endswith(sample("collaborator-two-pdfs.eml"))
    assert listed.get("KeyCount", 0) == 0
    assert {k: v["VersionId"] for k, v in versions.items()} == {
        f.file_id: f.version_id for f in before.files
    }
    assert all(f.version_id for f in before.files)
    assert [m["IsLatest"] for m in gone["DeleteMarkers"]] == [True]
    assert [v["IsLatest"] for v in gone["Versions"]] == [False]
    assert [f.file_id for f in uploaded] == ["incoming/upload-kept/note one.txt"]
    # raw, two attachments, the upload, and the deleted upload's version (noncurrent under its
    # delete marker, as S3 keeps it)
    assert restored[0] == 5
    assert restored[1] >= 4  # message record, two file records, the upload's record
    assert dispatched == 0  # a restore is not an ObjectCreated

    # AND without --data a new stack starts empty, as the banner says
    with LocalMailroom(config, smtp_port=0, state_dir=tmp_path / "three") as empty:
        assert empty.catalog().get_message(message_id) == (None, [])


def test_stopping_under_load_finishes_or_dead_letters_every_invocation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = StackConfig(submission_addresses=(SUBMIT,))
    stack = LocalMailroom(config, smtp_port=0, state_dir=tmp_path, data_dir=data).start()
    try:
        assert stack.endpoint is not None
        lam = stack.endpoint.client("lambda")
        role = stack.endpoint.client("iam").list_roles()["Roles"][0]["Arn"]
        lam.create_function(
            FunctionName="test-spin",
            Runtime="python3.12",
            Role=role,
            Handler="tests.e2e.handlers.spin",
            Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
            Timeout=600,
        )
        # GIVEN functions that will not finish by themselves, and mail arriving
        for n in range(2):
            lam.invoke(
                FunctionName="test-spin", InvocationType="Event", Payload=json.dumps({"n": n})
            )
        sent = [send(stack, sample("collaborator-two-pdfs.eml")) for _ in range(4)]
        assert workers_of_this_process()
    finally:
        # WHEN the stack stops while they run
        started = time.monotonic()
        stack.stop()
        print(f"stop under load took {time.monotonic() - started:.2f} s")

    # THEN no sandbox is left, and every invocation either finished or is dead-lettered
    assert workers_of_this_process() == []
    letters = [
        json.loads(line)
        for line in (data / "dead-letters.jsonl").read_text().splitlines()  # kept with the data
        if line.strip()
    ]
    spun = sorted(json.dumps(x["event"]) for x in letters if x["function"].endswith("test-spin"))
    assert spun == [json.dumps({"n": 0}), json.dumps({"n": 1})]
    with LocalMailroom(config, smtp_port=0, state_dir=tmp_path / "after", data_dir=data) as again:
        catalog = again.catalog()
        for message_id in sent:
            record, files = catalog.get_message(message_id)
            finished = record is not None and str(record.outcome) == "extracted"
            finished = finished and len(files) == 2
            if not finished:  # then its event (SES's or S3's) is in the dead-letter file
                assert any(message_id in json.dumps(x["event"]) for x in letters), message_id
        # AND the stop cut work short, so the new stack reconciled on start: every message ends
        # extracted with its two files, without anyone running `doctor --fix`
        assert again.reconciled is not None
        assert again.reconciled.messages + again.reconciled.objects > 0
        again.wait_idle(90)
        for message_id in sent:
            record, files = catalog.get_message(message_id)
            assert record is not None and str(record.outcome) == "extracted", message_id
            assert len(files) == 2, message_id
