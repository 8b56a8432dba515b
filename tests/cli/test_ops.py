"""`reprocess`, `redrive` and `doctor` against moto, with Lambda played in-process.

The commands go through their real adapters and boto3; the Lambda service is the stand-in of
`ops_lambda` (an Event invoke is accepted and queued; `drain()` runs the real handlers, retries,
and dead-letters as Lambda does). Assertions are on the table, the bucket and the queues.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from mailroom.cli.config import Overrides, resolve, resolve_ops
from mailroom.handlers import extract_attachments, record_metadata
from mailroom.policy import Outcome
from mailroom.usecases.doctor import s3_created_event
from tests.cli.conftest import BUCKET, REGION, TABLE, Stack, hours_ago, run
from tests.cli.ops_lambda import Function, LambdaStandIn, lambda_stand_in
from tests.conftest import SAMPLE_MAIL

EXTRACT = "mailroom-test-extract-attachments"
RECORD = "mailroom-test-record-metadata"
RULE_SET = "mailroom-test"


@dataclass
class Ops:
    stack: Stack
    sqs: Any
    ses: Any
    sns: Any
    extract_dlq: str
    record_dlq: str
    topic: str
    lam: LambdaStandIn

    def put_raw(self, message_id: str, body: bytes) -> None:
        self.stack.s3.put_object(Bucket=BUCKET, Key=f"raw/{message_id}", Body=body)

    def message_item(self, message_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.stack.ddb.get_item(
            TableName=TABLE, Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MESSAGE"}}
        ).get("Item")
        return item

    def keys(self, prefix: str) -> list[str]:
        listed = self.stack.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])


@pytest.fixture
def ops(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ops]:
    sqs = boto3.client("sqs", region_name=REGION)
    extract_dlq = sqs.create_queue(QueueName="extract-dlq")["QueueUrl"]
    record_dlq = sqs.create_queue(QueueName="record-dlq")["QueueUrl"]
    ses = boto3.client("ses", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="mailroom-alarms")["TopicArn"]
    for name, value in {
        "MAILROOM_EXTRACT_FUNCTION_NAME": EXTRACT,
        "MAILROOM_RECORD_FUNCTION_NAME": RECORD,
        "MAILROOM_EXTRACT_DLQ_URL": extract_dlq,
        "MAILROOM_RECORD_DLQ_URL": record_dlq,
        "MAILROOM_RECEIPT_RULE_SET_NAME": RULE_SET,
        "MAILROOM_ALARM_TOPIC_ARN": topic,
    }.items():
        monkeypatch.setenv(name, value)
    stand_in = LambdaStandIn(
        {
            EXTRACT: Function(extract_attachments.handler, extract_dlq),
            RECORD: Function(record_metadata.handler, record_dlq),
        },
        sqs=sqs,
    )
    with lambda_stand_in(stand_in):
        yield Ops(stack, sqs, ses, sns, extract_dlq, record_dlq, topic, stand_in)


def sample(name: str) -> bytes:
    return (SAMPLE_MAIL / name).read_bytes()


def as_ses_stored(raw: bytes) -> bytes:
    """The raw object as SES stores it: its scan verdicts prepended as headers."""
    return b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n" + raw


# What SES reported for the records these tests write by hand (strict policy delivers them).
CLEAN_VERDICTS = {"M": {"spam": {"S": "PASS"}, "virus": {"S": "PASS"}}}


def outcome_of(ops: Ops, message_id: str) -> str | None:
    item = ops.message_item(message_id)
    return item["outcome"]["S"] if item else None


# -- reprocess --


def test_reprocess_queues_the_rebuilt_event_and_the_function_does_the_work(ops: Ops) -> None:
    # GIVEN a message that failed, its raw object kept
    ops.put_raw("m-failed", sample("collaborator-two-pdfs.eml"))
    ops.stack.add_message(
        "m-failed",
        received_at=hours_ago(2),
        outcome=Outcome.FAILED,
        reason="RuntimeError: boom",
        envelope_sender="elodie.martin@partner-avocats.example",
        from_address="elodie.martin@partner-avocats.example",
        recipients=["submit+case-42@mailroom.test"],
        case="case-42",
        verdicts={"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"},
    )

    result = run("reprocess", "m-failed")

    # THEN it was only queued: nothing written with the caller's credentials
    assert result.exit_code == 0, result.stderr
    assert "m-failed" in result.stdout and "failed" in result.stdout
    assert "queued 1 message(s) for " + EXTRACT in result.stderr
    assert [name for name, _ in ops.lam.queued] == [EXTRACT]
    assert ops.keys("incoming/") == []

    # WHEN Lambda runs it: the same code produces the files and the final record
    ops.lam.drain()
    assert outcome_of(ops, "m-failed") == "extracted"
    assert len(ops.keys("incoming/m-failed/")) == 2
    item = ops.message_item("m-failed")
    assert item is not None
    assert item["case"]["S"] == "case-42"
    assert item["verdicts"]["M"]["dmarc"]["S"] == "PASS"


def test_reprocess_by_outcome_takes_only_that_outcome_and_reports_json(ops: Ops) -> None:
    for mid, outcome in (("a", Outcome.FAILED), ("b", Outcome.EXTRACTED), ("c", Outcome.FAILED)):
        ops.put_raw(mid, sample("no-attachment.eml"))
        # virus PASS as SES reported it: the rebuilt event carries it, so strict policy delivers
        clean = {"spam": "PASS", "virus": "PASS"}
        ops.stack.add_message(mid, received_at=hours_ago(1), outcome=outcome, verdicts=clean)

    result = run("reprocess", "--outcome", "failed", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(q["message_id"] for q in report["queued"]) == ["a", "c"]
    assert report["skipped"] == []
    ops.lam.drain()
    assert [outcome_of(ops, m) for m in ("a", "b", "c")] == [
        "no_attachments",
        "extracted",  # untouched
        "no_attachments",
    ]


def test_reprocess_since_leaves_older_failures(ops: Ops) -> None:
    ops.put_raw("old", sample("no-attachment.eml"))
    ops.stack.add_message("old", received_at="2020-01-01T00:00:00.000Z", outcome=Outcome.FAILED)
    ops.put_raw("new", sample("no-attachment.eml"))
    ops.stack.add_message("new", received_at=hours_ago(1), outcome=Outcome.FAILED)

    result = run("reprocess", "--outcome", "failed", "--since", "7d", "--json")

    assert [q["message_id"] for q in json.loads(result.stdout)["queued"]] == ["new"]


def test_reprocess_processing_records_that_this_code_may_not_know_yet(ops: Ops) -> None:
    # An outcome written by a newer extractor ("processing") is read as a plain item.
    ops.put_raw("stuck", sample("no-attachment.eml"))
    ops.stack.ddb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "MSG#stuck"},
            "sk": {"S": "MESSAGE"},
            "type": {"S": "message"},
            "message_id": {"S": "stuck"},
            "received_at": {"S": hours_ago(3)},
            "raw_key": {"S": "raw/stuck"},
            "outcome": {"S": "processing"},
            "outcome_key": {"S": "processing"},
            "verdicts": CLEAN_VERDICTS,
            "sort_key": {"S": hours_ago(3) + "#stuck"},
        },
    )

    result = run("reprocess", "--outcome", "processing")

    assert result.exit_code == 0, result.stderr
    ops.lam.drain()
    assert outcome_of(ops, "stuck") == "no_attachments"


def test_reprocess_a_raw_message_without_record_keeps_the_ses_virus_verdict(ops: Ops) -> None:
    # SES prepends its verdicts to the stored message: a FAIL stays a FAIL when rebuilt.
    raw = b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: FAIL\r\n" + sample(
        "collaborator-two-pdfs.eml"
    )
    ops.put_raw("norecord", raw)

    result = run("reprocess", "norecord")

    assert result.exit_code == 0, result.stderr
    assert "(no record)" in result.stdout
    ops.lam.drain()
    assert outcome_of(ops, "norecord") == "quarantined"
    assert ops.keys("incoming/") == []
    assert len(ops.keys("quarantine/norecord/")) == 2


def test_reprocess_reports_what_it_cannot_queue(ops: Ops) -> None:
    ops.stack.add_message("gone", received_at=hours_ago(1), outcome=Outcome.FAILED)

    result = run("reprocess", "gone", "nothing-at-all")

    assert result.exit_code == 1
    assert "skipped gone: raw object raw/gone is gone" in result.stderr
    assert "skipped nothing-at-all: no record and no raw object" in result.stderr
    assert ops.lam.queued == []


def test_reprocess_usage(ops: Ops) -> None:
    assert run("reprocess").exit_code == 2
    assert run("reprocess", "a", "--outcome", "failed").exit_code == 2
    assert run("reprocess", "a", "--since", "7d").exit_code == 2
    assert run("reprocess", "--outcome", "extracted").exit_code == 2


def test_reprocess_without_function_name_says_how_to_give_it(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILROOM_EXTRACT_FUNCTION_NAME")

    result = run("reprocess", "x")

    assert result.exit_code == 2
    assert "--extract-function" in result.stderr
    assert "MAILROOM_EXTRACT_FUNCTION_NAME" in result.stderr


# -- redrive --


def _dead_letter(ops: Ops, url: str, body: str) -> None:
    ops.sqs.send_message(QueueUrl=url, MessageBody=body)


def test_redrive_hands_each_event_back_and_empties_the_queue(ops: Ops) -> None:
    events = [{"Records": [{"n": n}]} for n in range(13)]  # more than one batch of ten
    for event in events:
        _dead_letter(ops, ops.record_dlq, json.dumps(event))

    result = run("redrive", "--function", "record_metadata")

    assert result.exit_code == 0, result.stderr
    assert "record_metadata: 13 of 13 event(s) redriven to " + RECORD in result.stdout
    assert sorted(e["Records"][0]["n"] for _, e in ops.lam.queued) == list(range(13))
    assert {name for name, _ in ops.lam.queued} == {RECORD}
    assert ops.depth(ops.record_dlq) == 0

    # Idempotent: nothing left, nothing done.
    again = run("redrive", "--function", "record_metadata", "--json")
    assert json.loads(again.stdout)[0]["redriven"] == 0
    assert len(ops.lam.queued) == 13


def test_redrive_unwraps_an_on_failure_destination_record(ops: Ops) -> None:
    event = {"Records": [{"eventSource": "aws:ses"}]}
    record = {"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": event}
    _dead_letter(ops, ops.extract_dlq, json.dumps(record))

    result = run("redrive", "--function", "extract_attachments")

    assert result.exit_code == 0, result.stderr
    assert ops.lam.queued == [(EXTRACT, event)]


def test_redrive_dry_run_counts_and_moves_nothing(ops: Ops) -> None:
    for n in range(3):
        _dead_letter(ops, ops.extract_dlq, json.dumps({"Records": [{"n": n}]}))

    result = run("redrive", "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert "extract_attachments: 3 event(s) in the dead-letter queue (dry run)" in result.stdout
    assert "record_metadata: 0 event(s)" in result.stdout
    assert ops.lam.queued == []
    assert ops.depth(ops.extract_dlq) == 3  # released, visible again


def test_redrive_keeps_what_it_cannot_read(ops: Ops) -> None:
    _dead_letter(ops, ops.record_dlq, "not json")
    _dead_letter(ops, ops.record_dlq, json.dumps({"Records": [{"n": 1}]}))

    result = run("redrive", "--function", "record_metadata")

    assert result.exit_code == 1
    assert "record_metadata: 1 of 2 event(s) redriven" in result.stdout
    assert "body is not JSON" in result.stderr
    assert ops.depth(ops.record_dlq) == 1


# -- doctor --


def _create_extract_function() -> str:
    # SES checks the rule's function exists; moto only stores it (the stand-in runs it).
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="mailroom-test-functions",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("README.txt", "placeholder")
    created = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=EXTRACT,
        Runtime="python3.12",
        Role=role,
        Handler="mailroom.handlers.extract_attachments.handler",
        Code={"ZipFile": code.getvalue()},
    )
    return str(created["FunctionArn"])


def _activate_rule(ops: Ops) -> None:
    arn = _create_extract_function()
    ops.ses.create_receipt_rule_set(RuleSetName=RULE_SET)
    ops.ses.create_receipt_rule(
        RuleSetName=RULE_SET,
        Rule={
            "Name": "store-and-extract",
            "Enabled": True,
            "Recipients": ["submit@mailroom.test"],
            "Actions": [
                {"S3Action": {"BucketName": BUCKET, "ObjectKeyPrefix": "raw/"}},
                {
                    "LambdaAction": {
                        "FunctionArn": arn,
                        "InvocationType": "Event",
                    }
                },
            ],
        },
    )
    ops.ses.set_active_receipt_rule_set(RuleSetName=RULE_SET)


def _subscribe(ops: Ops) -> None:
    queue = ops.sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    arn = ops.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    ops.sns.subscribe(TopicArn=ops.topic, Protocol="sqs", Endpoint=arn)


def doctor_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("doctor", "--grace", "0", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f["check"]: f["status"] for f in report["findings"]}


def test_doctor_on_a_healthy_stack_exits_zero(ops: Ops) -> None:
    _activate_rule(ops)
    _subscribe(ops)
    ops.put_raw("m1", sample("no-attachment.eml"))
    ops.stack.add_message("m1", received_at=hours_ago(1), outcome=Outcome.NO_ATTACHMENTS)
    record = ops.stack.add_file("m2", "a.pdf", received_at=hours_ago(1))
    ops.put_raw("m2", sample("no-attachment.eml"))
    ops.stack.add_message(
        "m2", received_at=hours_ago(1), outcome=Outcome.EXTRACTED, file_ids=[record.file_id]
    )

    result = run("doctor", "--grace", "0")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "PROBLEM" not in result.stdout
    assert "[     ok] every raw message has a message record" in result.stdout
    assert "rule set mailroom-test is active; rule store-and-extract" in result.stdout


def test_doctor_finds_every_problem_and_fix_repairs_what_it_can(ops: Ops) -> None:
    # GIVEN one of each problem
    ops.put_raw("lost", as_ses_stored(sample("collaborator-two-pdfs.eml")))  # raw, no record
    ops.put_raw("stuck", sample("no-attachment.eml"))
    ops.stack.ddb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "MSG#stuck"},
            "sk": {"S": "MESSAGE"},
            "message_id": {"S": "stuck"},
            "received_at": {"S": hours_ago(1)},
            "raw_key": {"S": "raw/stuck"},
            "outcome": {"S": "processing"},
            "outcome_key": {"S": "processing"},
            "verdicts": CLEAN_VERDICTS,
            "sort_key": {"S": hours_ago(1) + "#stuck"},
        },
    )
    ops.stack.s3.put_object(
        Bucket=BUCKET, Key="incoming/up-1/orphan.pdf", Body=b"%PDF-1.4 orphan"
    )  # an object without a file record
    gone = ops.stack.add_file("m3", "gone.pdf", received_at=hours_ago(1), store=False)
    ops.put_raw("m3", sample("no-attachment.eml"))
    ops.stack.add_message(
        "m3", received_at=hours_ago(1), outcome=Outcome.EXTRACTED, file_ids=[gone.file_id]
    )
    ops.stack.add_message("noraw", received_at=hours_ago(1), outcome=Outcome.REJECTED)
    _dead_letter(ops, ops.record_dlq, json.dumps({"Records": []}))
    ops.ses.create_receipt_rule_set(RuleSetName=RULE_SET)  # exists, not active

    # WHEN the doctor looks
    code, report = doctor_json()

    # THEN it reports each, exits 1, and says what to run
    assert code == 1
    found = {f["check"]: f for f in report["findings"]}
    assert statuses(report) == {
        "raw_without_record": "problem",
        "stuck_processing": "problem",
        "incoming_without_record": "problem",
        "raw_object_gone": "problem",
        "file_object_gone": "problem",
        "dlq_extract_attachments": "ok",
        "dlq_record_metadata": "problem",
        "receipt_rule": "problem",
        "alarm_subscriber": "problem",
    }
    assert found["raw_without_record"]["items"] == ["lost"]
    assert found["raw_without_record"]["fix"] == "mailroom reprocess lost"
    assert found["stuck_processing"]["items"] == ["stuck"]
    assert found["incoming_without_record"]["items"] == ["incoming/up-1/orphan.pdf"]
    assert found["raw_object_gone"]["items"] == ["noraw"]
    assert found["file_object_gone"]["items"] == [gone.file_id]
    assert found["dlq_record_metadata"]["fix"] == "mailroom redrive --function record_metadata"
    assert "not active" in found["receipt_rule"]["summary"]
    assert found["alarm_subscriber"]["fix"].startswith("aws sns subscribe")

    # WHEN it fixes: the functions do the work
    fixed = run("doctor", "--grace", "0", "--fix")
    assert "fix: queued 2 message(s) for " + EXTRACT in fixed.stderr
    assert "fix: queued 1 object(s) for " + RECORD in fixed.stderr
    ops.lam.drain()
    assert outcome_of(ops, "lost") == "extracted"
    assert outcome_of(ops, "stuck") == "no_attachments"
    item = ops.stack.catalog.get_file("incoming/up-1/orphan.pdf")
    assert item is not None and item.source == "upload"

    # THEN what needed a person is still reported, the rest is healthy
    _code, after = doctor_json()
    problems = {c for c, s in statuses(after).items() if s == "problem"}
    assert problems == {
        "raw_object_gone",
        "file_object_gone",
        "dlq_record_metadata",
        "receipt_rule",
        "alarm_subscriber",
        # the two files extracted from "lost" have no record: no bucket notification in moto
        "incoming_without_record",
    }


def test_doctor_young_objects_are_not_judged_and_since_bounds_records(ops: Ops) -> None:
    ops.put_raw("just-arrived", sample("no-attachment.eml"))
    ops.stack.add_message("old", received_at="2020-01-01T00:00:00.000Z", outcome=Outcome.FAILED)

    result = run("doctor", "--json", "--since", "today")  # default grace: 5 minutes

    # THEN the young raw message is not judged, and says so: pending, never "ok"; exit 3
    report = json.loads(result.stdout)
    found = {f["check"]: f for f in report["findings"]}
    assert found["raw_without_record"]["status"] == "pending"
    assert found["raw_without_record"]["summary"].startswith("pending (1, younger than the grace)")
    assert report["settled"] is False
    assert result.exit_code == 1  # the rule set and the alarm topic are not set up here
    assert "failed_messages" not in statuses(report)
    # AND without the grace it is judged: a raw message without a record
    code, judged = doctor_json("--since", "today")
    assert code == 1
    assert [f["items"] for f in judged["findings"] if f["check"] == "raw_without_record"] == [
        ["just-arrived"]
    ]


def test_doctor_reads_the_local_dead_letter_file_and_fix_repairs_its_events(
    ops: Ops, tmp_path: Path
) -> None:
    # GIVEN local mode's dead-letter file: an extract event whose message has no record, a
    # record event whose object has none, one whose object is recorded since, and another
    # function's event; all younger than any grace (the objects are just written)
    ops.put_raw("lost", as_ses_stored(sample("collaborator-two-pdfs.eml")))
    ops.stack.s3.put_object(Bucket=BUCKET, Key="incoming/up-9/orphan one.pdf", Body=b"%PDF-1.4")
    done = ops.stack.add_file("m5", "done.pdf", received_at=hours_ago(1))
    ses_event = {"Records": [{"eventSource": "aws:ses", "ses": {"mail": {"messageId": "lost"}}}]}
    s3_event = s3_created_event(BUCKET, ["incoming/up-9/orphan one.pdf", done.file_id], {})
    letters = tmp_path / "dead-letters.jsonl"
    letters.write_text(
        "\n".join(
            json.dumps({"function": f, "event": e, "error": "Stopped", "attempts": 0, "at": "x"})
            for f, e in ((EXTRACT, ses_event), (RECORD, s3_event), ("other", {"n": 1}))
        )
        + "\nnot json\n"
    )

    # WHEN the doctor looks with the default grace
    result = run("doctor", "--json", "--dead-letter-file", str(letters))

    # THEN the unaccounted events are a problem (the grace does not hide them), named
    report = json.loads(result.stdout)
    found = {f["check"]: f for f in report["findings"]}
    assert result.exit_code == 1
    assert found["dead_letter_file"]["status"] == "problem"
    assert found["dead_letter_file"]["items"] == ["lost", "incoming/up-9/orphan one.pdf"]
    assert str(letters) in found["dead_letter_file"]["summary"]
    assert found["dead_letter_file_other"]["count"] == 1
    assert found["raw_without_record"]["status"] == "pending"  # young: not judged, said so

    # WHEN it fixes: the functions do the work, and the file is accounted for
    fixed = run("doctor", "--dead-letter-file", str(letters), "--fix")
    assert "fix: queued 1 message(s) for " + EXTRACT in fixed.stderr
    assert "fix: queued 1 object(s) for " + RECORD in fixed.stderr
    ops.lam.drain()
    assert outcome_of(ops, "lost") == "extracted"
    after = json.loads(run("doctor", "--json", "--dead-letter-file", str(letters)).stdout)
    assert {f["check"]: f["status"] for f in after["findings"]}["dead_letter_file"] == "ok"


def test_doctor_skips_what_is_not_configured(ops: Ops, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "MAILROOM_EXTRACT_DLQ_URL",
        "MAILROOM_RECORD_DLQ_URL",
        "MAILROOM_RECEIPT_RULE_SET_NAME",
        "MAILROOM_ALARM_TOPIC_ARN",
    ):
        monkeypatch.delenv(name)

    code, report = doctor_json()

    assert code == 0
    assert statuses(report)["receipt_rule"] == "skipped"
    assert statuses(report)["alarm_subscriber"] == "skipped"
    assert statuses(report)["dlq_record_metadata"] == "skipped"


def test_ops_names_come_from_terraform_outputs(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = {
        "bucket": "b",
        "table": "t",
        "extract_function_name": "fx",
        "record_function": "fr",  # an older output name
        "record_dlq_url": "https://sqs/r",
    }
    config = resolve(
        Overrides(infra_dir=cli_env),
        {},
        read_local_state=lambda: None,
        terraform_outputs=lambda _: outputs,
    )
    names = resolve_ops(
        config,
        {"alarm_topic_arn": "arn:flag"},
        {"MAILROOM_EXTRACT_DLQ_URL": "https://sqs/x"},
        terraform_outputs=lambda _: outputs,
    )

    assert {k: (v.value, v.source) for k, v in names.items()} == {
        "extract_function_name": ("fx", "terraform output"),
        "record_function_name": ("fr", "terraform output"),
        "extract_dlq_url": ("https://sqs/x", "env MAILROOM_EXTRACT_DLQ_URL"),
        "record_dlq_url": ("https://sqs/r", "terraform output"),
        "receipt_rule_set_name": (None, "not set"),
        "alarm_topic_arn": ("arn:flag", "flag --alarm-topic-arn"),
        "dead_letter_file": (None, "not set"),  # local mode's own: Terraform has none
    }


def test_ops_names_come_from_the_local_stack_state_file(cli_env: Path) -> None:
    # The running stack (this process, so its pid is alive) writes the same names Terraform
    # exports into its state file.
    state = {
        "endpoint_url": "http://127.0.0.1:1",
        "region": "eu-west-1",
        "bucket": "local-b",
        "table": "local-t",
        "smtp_host": "127.0.0.1",
        "smtp_port": 1,
        "submission_address": "submit@mailroom.test",
        "pid": os.getpid(),
        "extract_function_name": "mailroom-local-extract-attachments",
        "record_dlq_url": "http://127.0.0.1:1/000000000000/record-dlq",
    }
    state_dir = Path(os.environ["MAILROOM_STATE_DIR"])
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "local.json").write_text(json.dumps(state))

    config = resolve(Overrides(), {})
    names = resolve_ops(config, {}, {})

    assert config.bucket.source == "local stack"
    assert names["extract_function_name"].value == "mailroom-local-extract-attachments"
    assert names["extract_function_name"].source == "local stack"
    assert names["record_dlq_url"].value == state["record_dlq_url"]
    assert names["alarm_topic_arn"].value is None


def test_with_exported_names_the_running_stack_fills_in_only_if_it_is_that_stack() -> None:
    state = {
        "endpoint_url": "http://127.0.0.1:4525",
        "bucket": "local-b",
        "table": "local-t",
        "extract_function": "mailroom-local-extract-attachments",
        "rule_set": "mailroom",
    }
    exports = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4525/",
        "MAILROOM_BUCKET": "local-b",
        "MAILROOM_TABLE": "local-t",
    }
    config = resolve(Overrides(), exports, read_local_state=lambda: None)
    names = resolve_ops(config, {}, exports, read_local_extras=lambda: state)
    assert names["extract_function_name"].value == "mailroom-local-extract-attachments"
    assert names["receipt_rule_set_name"].value == "mailroom"

    # another bucket (a real stack's, say) never takes the local stack's functions
    elsewhere = {**exports, "MAILROOM_BUCKET": "prod-bucket"}
    config = resolve(Overrides(), elsewhere, read_local_state=lambda: None)
    names = resolve_ops(config, {}, elsewhere, read_local_extras=lambda: state)
    assert names["extract_function_name"].value is None


def test_reprocess_reports_a_refused_invoke_and_goes_on(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops.put_raw("m1", sample("no-attachment.eml"))
    ops.stack.add_message("m1", received_at=hours_ago(1), outcome=Outcome.FAILED)
    monkeypatch.setenv("MAILROOM_EXTRACT_FUNCTION_NAME", "no-such-function")

    result = run("reprocess", "m1", "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["queued"] == []
    assert report["skipped"][0]["message_id"] == "m1"
    assert "ResourceNotFoundException" in report["skipped"][0]["reason"]
