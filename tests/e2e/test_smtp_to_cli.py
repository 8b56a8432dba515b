"""Mail in over SMTP, files out through `mailroom list --json`: the whole local pipeline."""

from __future__ import annotations

import copy
import email
import email.policy
import hashlib
import json
import re
import smtplib
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mailroom.adapters.catalog import AuditTrail
from mailroom.audit import Target
from mailroom.cli.main import cli
from mailroom.local.app import LocalMailroom, LocalStackError, MessageOutcome

from .conftest import MAIL_DIR, SUBMIT, run_cli


@dataclass(frozen=True)
class Expected:
    filename: str
    sha256: str
    original_sender: str | None  # the From of the forwarded message it was inside


def expected_attachments(raw: bytes) -> list[Expected]:
    """Every named leaf part, found with the stdlib alone (forwards opened recursively)."""
    found: list[Expected] = []
    stack: list[tuple[email.message.Message, str | None]] = [
        (email.message_from_bytes(raw, policy=email.policy.default), None)
    ]
    while stack:
        message, original = stack.pop()
        for part in message.walk():
            if part.get_content_type() == "message/rfc822" and part is not message:
                inner = part.get_payload()[0]
                stack.append((inner, parseaddr(str(inner["From"]))[1].lower()))
                continue
            if part.is_multipart():
                continue
            name = part.get_filename()
            if name:
                data = part.get_payload(decode=True)
                found.append(Expected(name, hashlib.sha256(data).hexdigest(), original))
    return found


def send(stack: LocalMailroom, raw: bytes, recipient: str = SUBMIT, sender: str = "") -> str:
    """One SMTP transaction; the SES message id from the 250 reply."""
    assert stack.frontdoor is not None
    sender = sender or parseaddr(str(email.message_from_bytes(raw)["From"]))[1]
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail(sender)
        code, reply = smtp.rcpt(recipient)
        assert code == 250, reply
        code, reply = smtp.data(raw)
        assert code == 250, reply
    return reply.decode().split()[-1]


@pytest.fixture(scope="module")
def delivered(stack: LocalMailroom) -> dict[str, MessageOutcome]:
    """Every sample sent once, and all work finished: sample file name -> outcome."""
    samples = sorted(MAIL_DIR.glob("*.eml"))
    assert len(samples) >= 4
    ids = {path.name: send(stack, sample(path.name)) for path in samples}
    outcomes = stack.wait_for_messages(list(ids.values()), timeout=60)
    return {name: outcome for name, outcome in zip(ids, outcomes, strict=True)}


def objects(stack: LocalMailroom, prefix: str) -> list[tuple[str, str]]:
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    versions = s3.list_object_versions(Bucket=stack.config.bucket, Prefix=prefix)
    return sorted((v["Key"], v["VersionId"]) for v in versions.get("Versions", []))


def sample(name: str) -> bytes:
    """A sample as a mail program puts it on the wire: CRLF line endings."""
    return re.sub(rb"\r?\n", b"\r\n", (MAIL_DIR / name).read_bytes())


def test_every_attachment_is_listed_byte_exact_with_its_sender(
    stack: LocalMailroom, delivered: dict[str, MessageOutcome]
) -> None:
    listed = run_cli(stack, "list", "--limit", "500")
    by_sha = {}
    for record in listed:
        by_sha.setdefault(record["sha256"], []).append(record)

    checked = 0
    for name in ("collaborator-two-pdfs.eml", "staff-forward.eml"):
        raw = sample(name)
        sender = parseaddr(str(email.message_from_bytes(raw)["From"]))[1].lower()
        message_id = delivered[name].message_id
        expected = expected_attachments(raw)
        assert expected, name
        for attachment in expected:
            matches = [
                r for r in by_sha.get(attachment.sha256, []) if r["message_id"] == message_id
            ]
            assert len(matches) == 1, (name, attachment.filename)
            record = matches[0]
            assert record["filename"] == attachment.filename
            assert record["file_id"].startswith(f"incoming/{message_id}/")
            assert record["sender"] == sender
            assert record["source"] == "email"
            if attachment.original_sender:
                assert record["original_sender"] == attachment.original_sender
            checked += 1
    assert checked >= 4


def test_the_non_ascii_filename_survives(
    stack: LocalMailroom, delivered: dict[str, MessageOutcome]
) -> None:
    names = {a.filename for a in expected_attachments(sample("collaborator-two-pdfs.eml"))}
    assert any(not n.isascii() for n in names)
    listed = run_cli(stack, "list", "--sender", "elodie.martin@partner-avocats.example")
    assert names <= {r["filename"] for r in listed}


def test_the_forward_records_the_original_sender(
    stack: LocalMailroom, delivered: dict[str, MessageOutcome]
) -> None:
    outcome = delivered["staff-forward.eml"]
    shown = run_cli(stack, "message", outcome.message_id)
    assert shown["message"]["outcome"] == "extracted"
    assert shown["message"]["from_address"] == "paul.renard@firm.example"
    assert shown["message"]["original_sender"] == "jane.client@client-mail.example"
    pdfs = [f for f in shown["files"] if f["filename"] == "lease-signed.pdf"]
    assert pdfs and pdfs[0]["original_sender"] == "jane.client@client-mail.example"


def test_the_eicar_sample_is_quarantined_and_nothing_reaches_incoming(
    stack: LocalMailroom, delivered: dict[str, MessageOutcome]
) -> None:
    message_id = delivered["virus-eicar.eml"].message_id
    assert objects(stack, f"incoming/{message_id}/") == []
    shown = run_cli(stack, "message", message_id)
    assert shown["message"]["outcome"] == "quarantined"
    assert shown["message"]["verdicts"]["virus"] == "FAIL"
    assert shown["files"] == []
    assert objects(stack, f"raw/{message_id}")  # the raw message is kept
    assert all(message_id not in r["file_id"] for r in run_cli(stack, "list", "--limit", "500"))


def test_mail_without_attachments_is_accounted_for(
    stack: LocalMailroom, delivered: dict[str, MessageOutcome]
) -> None:
    message_id = delivered["no-attachment.eml"].message_id
    shown = run_cli(stack, "message", message_id)
    assert shown["message"]["outcome"] == "no_attachments"
    assert shown["message"]["verdicts"] == {
        "spam": "PASS",
        "virus": "PASS",
        "spf": "GRAY",
        "dkim": "GRAY",
        "dmarc": "GRAY",
    }
    assert objects(stack, f"incoming/{message_id}/") == []


def test_plus_addressing_tags_the_case(stack: LocalMailroom) -> None:
    message_id = send(
        stack, sample("collaborator-two-pdfs.eml"), recipient="Submit+matter-7@MAILROOM.test"
    )
    stack.wait_for_messages([message_id], timeout=60)
    listed = run_cli(stack, "list", "--case", "matter-7")
    assert listed and {r["message_id"] for r in listed} == {message_id}


def test_an_unknown_recipient_gets_550_and_nothing_is_stored(stack: LocalMailroom) -> None:
    assert stack.frontdoor is not None
    before = objects(stack, "raw/")
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("someone@client.test")
        code, _ = smtp.rcpt("nobody@mailroom.test")
        assert code == 550
        code, _ = smtp.rcpt("submit@elsewhere.test")
        assert code == 550
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            smtp.data(b"Subject: hi\r\n\r\nhello\r\n")
        assert refused.value.smtp_code == 503  # no valid recipient: nothing to deliver
    stack.wait_idle()
    assert objects(stack, "raw/") == before


def _big_message(size: int) -> bytes:
    message = EmailMessage()
    message["From"] = "big@client.test"
    message["To"] = SUBMIT
    message["Subject"] = "too big"
    message.set_content("see attached")
    message.add_attachment(
        b"\0" * size, maintype="application", subtype="octet-stream", filename="big.bin"
    )
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF, as on the wire


def test_mail_over_40_mb_is_refused(stack: LocalMailroom) -> None:
    assert stack.frontdoor is not None
    raw = _big_message(31 * 1024 * 1024)  # base64 makes it ~41.5 MB on the wire
    assert len(raw) > 40 * 1024 * 1024
    before = objects(stack, "raw/")
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=60) as smtp:
        # A client that declares its size is refused at MAIL FROM ...
        with pytest.raises(smtplib.SMTPSenderRefused) as declared:
            smtp.sendmail("big@client.test", [SUBMIT], raw)
        assert declared.value.smtp_code == 552
        smtp.rset()
        # ... and one that does not is refused after DATA.
        smtp.mail("big@client.test")
        assert smtp.rcpt(SUBMIT)[0] == 250
        code, _ = smtp.data(raw)
        assert code == 552
    stack.wait_idle()
    assert objects(stack, "raw/") == before


def test_a_duplicate_ses_event_changes_nothing(
    stack: LocalMailroom, delivered: dict[str, MessageOutcome]
) -> None:
    assert stack.frontdoor is not None and stack.runner is not None
    message_id = delivered["collaborator-two-pdfs.eml"].message_id
    received = next(r for r in stack.frontdoor.received if r.message_id == message_id)
    (event,) = received.events
    function_arn = event["Records"][0]["ses"]["receipt"]["action"]["functionArn"]
    before_objects = objects(stack, f"incoming/{message_id}/")
    before = run_cli(stack, "message", message_id)

    stack.runner.invoke(function_arn, event)
    stack.runner.invoke(function_arn, event)
    stack.wait_idle()

    assert objects(stack, f"incoming/{message_id}/") == before_objects
    assert run_cli(stack, "message", message_id) == before


@pytest.mark.parametrize(
    "name", ["Relevé de compte (final) 2026.pdf", "notes + minutes 50%.txt", "日本語 ファイル.pdf"]
)
def test_an_object_with_an_awkward_key_is_dispatched_and_recorded(
    stack: LocalMailroom, name: str
) -> None:
    assert stack.endpoint is not None
    key = f"incoming/upload-e2e/{name}"
    body = f"content of {name}".encode()
    stack.endpoint.client("s3").put_object(Bucket=stack.config.bucket, Key=key, Body=body)
    stack.wait_idle()

    shown = run_cli(stack, "show", key)
    assert shown["file_id"] == key
    assert shown["source"] == "upload"
    assert shown["sha256"] == hashlib.sha256(body).hexdigest()
    assert shown["size"] == len(body)


def test_each_new_version_of_an_object_is_delivered_once(stack: LocalMailroom) -> None:
    assert stack.endpoint is not None and stack.notifier is not None
    s3 = stack.endpoint.client("s3")
    key = "incoming/upload-versions/report.txt"
    stack.wait_idle()
    dispatched = stack.notifier.dispatched

    s3.put_object(Bucket=stack.config.bucket, Key=key, Body=b"first draft")
    stack.wait_idle()
    first = run_cli(stack, "show", key)
    s3.put_object(Bucket=stack.config.bucket, Key=key, Body=b"final version")
    stack.wait_idle()
    second = run_cli(stack, "show", key)

    assert stack.notifier.dispatched == dispatched + 2
    assert first["sha256"] == hashlib.sha256(b"first draft").hexdigest()
    assert second["sha256"] == hashlib.sha256(b"final version").hexdigest()
    assert second["version_id"] != first["version_id"]


def test_a_failing_async_invocation_is_retried_then_dead_lettered(stack: LocalMailroom) -> None:
    assert stack.frontdoor is not None and stack.runner is not None
    received = stack.frontdoor.received[0]
    event = received.events[0]
    # The same event for a message whose raw object does not exist: extraction must fail.
    missing = "0" * 40
    broken = _with_message_id(event, missing)
    function_arn = event["Records"][0]["ses"]["receipt"]["action"]["functionArn"]
    letters_before = len(stack.dead_letters())

    stack.runner.invoke_async(function_arn, broken)
    stack.wait_idle()

    letters = stack.dead_letters()[letters_before:]
    assert len(letters) == 1
    assert letters[0].attempts == 3  # the first try and Lambda's two retries
    assert missing in (stack.state_dir / "dead-letters.jsonl").read_text()
    # ... and in the function's DLQ, as on AWS: the body is the original event.
    assert stack.endpoint is not None and stack.provisioned is not None
    sqs = stack.endpoint.client("sqs")
    queued = sqs.receive_message(
        QueueUrl=stack.provisioned.dlq_urls["extract-attachments"],
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in queued]
    assert broken in bodies
    shown = run_cli(stack, "message", missing)
    assert shown["message"]["outcome"] == "failed"


def _with_message_id(event: dict, message_id: str) -> dict:
    changed = copy.deepcopy(event)
    changed["Records"][0]["ses"]["mail"]["messageId"] = message_id
    return changed


def test_waiting_for_a_message_that_never_came_ends_with_a_clear_error(
    stack: LocalMailroom,
) -> None:
    with pytest.raises(LocalStackError, match=r"1 message\(s\): never0sent"):
        stack.wait_for_messages(["never0sent"], timeout=1)


def test_a_test_can_set_the_verdicts_the_door_reports(stack: LocalMailroom) -> None:
    raw = b"X-Mailroom-Local-Verdicts: spf=PASS; dkim=PASS; dmarc=PASS\r\n" + sample(
        "no-attachment.eml"
    )
    message_id = send(stack, raw)
    stack.wait_for_messages([message_id], timeout=60)
    shown = run_cli(stack, "message", message_id)
    assert shown["message"]["verdicts"] == {
        "spam": "PASS",
        "virus": "PASS",
        "spf": "PASS",
        "dkim": "PASS",
        "dmarc": "PASS",
    }


def test_waiting_counts_every_file_of_a_message_whose_record_keeps_only_the_first_ids(
    stack: LocalMailroom,
) -> None:
    # GIVEN a message with more attachments than the record lists (file_ids is capped)
    mail = EmailMessage()
    mail["From"] = "clerk@partner-avocats.example"
    mail["To"] = SUBMIT
    mail["Subject"] = "scans"
    mail.set_content("the scans")
    for n in range(120):
        mail.add_attachment(f"page {n}".encode(), "application", "pdf", filename=f"p{n:03}.pdf")
    message_id = send(stack, mail.as_bytes(policy=email.policy.SMTP))  # CRLF, as SMTP wants

    # WHEN waiting for it: the wait ends only once all 120 file records exist
    (outcome,) = stack.wait_for_messages([message_id], timeout=120)

    assert outcome.record is not None and outcome.record.file_ids_truncated
    assert outcome.record.file_count == 120
    assert len(outcome.files) == 120


def test_a_256_kb_body_of_blank_lines_ends_no_attachments(stack: LocalMailroom) -> None:
    # The hostile shape that once took hours (a quadratic body scan): now it costs what benign
    # text of the same size does, so the wait's bound is generous.
    raw = (
        f"From: someone@partner-avocats.example\r\nTo: {SUBMIT}\r\nSubject: blank\r\n"
        "Message-ID: <blank-256k@partner-avocats.example>\r\n\r\n"
    ).encode() + b"\r\n" * (128 * 1024)

    (outcome,) = stack.wait_for_messages([send(stack, raw)], timeout=60)

    assert outcome.record is not None
    assert str(outcome.record.outcome) == "no_attachments"


def _rewritten(source: Path, target: Path, change: str) -> None:
    """A copy of the zip with one byte of member `change` flipped (its CRC recomputed)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == change:
                data = bytes([data[0] ^ 0x01]) + data[1:]
            new.writestr(info, data)


def test_a_three_message_case_exports_verifies_and_fails_once_a_byte_changes(
    stack: LocalMailroom, tmp_path: Path
) -> None:
    ids = [
        send(stack, sample(name), recipient="submit+export-3@mailroom.test")
        for name in ("collaborator-two-pdfs.eml", "staff-forward.eml", "collaborator-two-pdfs.eml")
    ]
    stack.wait_for_messages(ids, timeout=60)
    listed = run_cli(stack, "list", "--case", "export-3", "--limit", "100")
    out = tmp_path / "export-3.zip"

    summary = run_cli(stack, "export", "--case", "export-3", str(out))

    assert summary["documents"] == len(listed) >= 3
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = archive.namelist()
        # Every listed document, byte-exact under a unique name, from the three messages.
        assert {row["file_id"] for row in manifest["files"]} == {r["file_id"] for r in listed}
        assert {row["message_id"] for row in manifest["files"]} == set(ids)
        documents = [n for n in names if n.startswith("documents/")]
        assert len(documents) == len(set(n.lower() for n in documents)) == len(listed)
        for row in manifest["files"]:
            assert hashlib.sha256(archive.read(row["name"])).hexdigest() == row["sha256"]
        assert {"manifest.csv", "SHA256SUMS", "SHA256SUMS.sig", "signing-key.pem"} <= set(names)
        sums = archive.read("SHA256SUMS").decode()
        assert all(f"  {n}\n" in sums for n in names if not n.startswith("SHA256SUMS"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mailroom-export-")]

    # A recipient pins the stack's public key (`mailroom config --public-key`).
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    assert stack.runner is not None
    with stack.runner.exclusive():
        shown = CliRunner().invoke(cli, ["config", "--public-key"], env=env)
    assert shown.exit_code == 0, shown.output
    pinned = tmp_path / "stack-key.pem"
    pinned.write_text(shown.stdout)
    assert summary["key_fingerprint"] in shown.stderr

    checked = _verify(stack, out, "--key", str(pinned))
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["ok"] is True
    assert json.loads(checked.stdout)["signed_by"] == summary["key_fingerprint"]

    tampered = tmp_path / "tampered.zip"
    victim = manifest["files"][1]["name"]
    _rewritten(out, tampered, victim)
    failed = _verify(stack, tampered)
    assert failed.exit_code == 1
    problems = json.loads(failed.stdout)["problems"]
    assert problems and all(victim in p for p in problems)


def _verify(stack: LocalMailroom, path: Path, *args: str) -> Any:
    # No AWS at all: no endpoint, no names, no credentials.
    env = {"AWS_ENDPOINT_URL": None, "MAILROOM_BUCKET": None, "AWS_PROFILE": None}
    return CliRunner().invoke(cli, ["verify-export", str(path), *args, "--json"], env=env)


def test_export_with_raw_runs_as_a_job_of_the_export_function_and_verifies(
    stack: LocalMailroom, tmp_path: Path
) -> None:
    """Issue 22: `--with-raw` goes through the export function (raw/ is never read with staff
    credentials): the local runner runs it on the invoke, the CLI follows the job item,
    downloads exports/<job>.zip, verifies it, and the raw .eml inside is the stored one."""
    [message_id] = [
        send(stack, sample("staff-forward.eml"), recipient="submit+raw-1@mailroom.test")
    ]
    stack.wait_for_messages([message_id], timeout=60)
    out = tmp_path / "raw-1.zip"

    summary = run_cli(stack, "export", "--case", "raw-1", "--with-raw", str(out))

    assert summary["raw_messages"] == 1 and summary["documents"] >= 1
    assert summary["path"] == str(out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mailroom-export-")]
    s3 = stack.endpoint.client("s3")  # type: ignore[union-attr]
    stored = s3.get_object(Bucket=stack.config.bucket, Key=f"raw/{message_id}")["Body"].read()
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        [raw] = manifest["raw"]
        assert raw["message_id"] == message_id
        assert archive.read(raw["name"]) == stored
        assert raw["sha256"] == hashlib.sha256(stored).hexdigest()
    checked = _verify(stack, out)
    assert checked.exit_code == 0, checked.output
    # The zip stays under exports/ (the lifecycle rule expires it); the job says who asked.
    job = summary["job"]
    assert s3.head_object(Bucket=stack.config.bucket, Key=f"exports/{job}.zip")
    item = stack.endpoint.client("dynamodb").get_item(  # type: ignore[union-attr]
        TableName=stack.config.table, Key={"pk": {"S": f"EXPORT#{job}"}, "sk": {"S": "JOB"}}
    )["Item"]
    assert (item["status"]["S"], item["requested_via"]["S"]) == ("done", "cli")

    # Issue 22's audit trail: the function's entry (server) for this export; a plain CLI
    # export of the same case adds the CLI's own entry (reported by the client).
    trail = AuditTrail(stack.endpoint.client("dynamodb"), stack.config.table, 365)  # type: ignore[union-attr]
    [server] = trail.entries_of([Target.case("raw-1")])
    assert (server.reported_by, server.origin, server.details["job"]) == ("server", "function", job)
    assert server.details["with_raw"] is True and server.actor == item["requested_by"]["S"]
    run_cli(stack, "export", "--case", "raw-1", str(tmp_path / "plain.zip"))
    entries = list(trail.entries_of([Target.case("raw-1")]))
    assert sorted((e.reported_by, e.origin) for e in entries) == [
        ("client", "cli"),
        ("server", "function"),
    ]
    assert all(e.action == "export" and e.actor for e in entries)
