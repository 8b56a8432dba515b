"""Issue 9: events come from moto's own hooks; functions run isolated, as Lambda runs them.

One stack for the module, with a test function (`tests/e2e/handlers.py`) provisioned beside
mailroom's own, and a second bucket notification (prefix and suffix filter) pointing at it.
What each function was given is seen through the runner's completion callback.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from mailroom.local.app import LocalMailroom
from mailroom.local.hooks import Counters
from mailroom.local.runner import Runner
from mailroom.local.stack import NOTIFICATION_ID, StackConfig
from tests.conftest import load_event

from .conftest import SUBMIT
from .test_local_command import MAILROOM, clean_env

ECHO = "test-echo"
SPIN = "test-spin"
FAIL = "test-fail"


class Seen:
    """Every completed async invocation: (function name, event, succeeded)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], bool]] = []
        self._lock = threading.Lock()

    def __call__(self, function: str, event: dict[str, Any], ok: bool) -> None:
        with self._lock:
            self.calls.append((function.rsplit(":", 1)[-1], event, ok))

    def of(self, function: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for name, event, _ in self.calls if name == function]


@pytest.fixture(scope="module")
def events_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalMailroom, Seen]]:
    state_dir = tmp_path_factory.mktemp("mailroom-events")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAILROOM_STATE_DIR", str(state_dir))
        with LocalMailroom(
            StackConfig(submission_addresses=(SUBMIT,)), smtp_port=0, state_dir=state_dir
        ) as stack:
            assert stack.endpoint is not None and stack.runner is not None
            seen = Seen()
            stack.runner.on_complete = seen
            lam = stack.endpoint.client("lambda")
            role = stack.endpoint.client("iam").list_roles()["Roles"][0]["Arn"]
            arns = {}
            for name, handler, timeout in (
                (ECHO, "echo", 30),
                (SPIN, "spin", 2),
                (FAIL, "fail", 30),
            ):
                arns[name] = lam.create_function(
                    FunctionName=name,
                    Runtime="python3.12",
                    Role=role,
                    Handler=f"tests.e2e.handlers.{handler}",
                    Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
                    Timeout=timeout,
                    MemorySize=256,
                )["FunctionArn"]
            s3 = stack.endpoint.client("s3")
            config = s3.get_bucket_notification_configuration(Bucket=stack.config.bucket)
            config.pop("ResponseMetadata", None)
            config["LambdaFunctionConfigurations"].append(
                {
                    "Id": "pdf-uploads-to-echo",
                    "LambdaFunctionArn": arns[ECHO],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "uploads/"},
                                {"Name": "suffix", "Value": ".pdf"},
                            ]
                        }
                    },
                }
            )
            s3.put_bucket_notification_configuration(
                Bucket=stack.config.bucket, NotificationConfiguration=config
            )
            yield stack, seen


def test_object_created_events_have_s3s_shape_encoded_keys_and_honour_the_filters(
    events_stack: tuple[LocalMailroom, Seen],
) -> None:
    stack, seen = events_stack
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    bucket = stack.config.bucket
    copies_before = Counters.snapshot()
    key = "uploads/Relevé de compte (final) a+b=c 50%.pdf"

    # WHEN objects are written under and around the filtered prefix and suffix
    first = s3.put_object(Bucket=bucket, Key=key, Body=b"one")
    second = s3.put_object(Bucket=bucket, Key=key, Body=b"two, longer")  # a new version
    s3.put_object(Bucket=bucket, Key="uploads/notes.txt", Body=b"suffix does not match")
    s3.put_object(Bucket=bucket, Key="elsewhere/scan.pdf", Body=b"prefix does not match")
    copied = s3.copy_object(
        Bucket=bucket, Key="uploads/copy.pdf", CopySource={"Bucket": bucket, "Key": key}
    )
    stack.wait_idle()

    # THEN exactly one event per matching version, in S3's shape
    events = seen.of(ECHO)
    assert len(events) == 3
    assert all(len(e["Records"]) == 1 for e in events)
    # Run concurrently, so completed in any order; S3's sequencer gives the write order.
    records = sorted(
        (e["Records"][0] for e in events), key=lambda r: r["s3"]["object"]["sequencer"]
    )
    reference = load_event("s3-object-created.json")["Records"][0]
    for record in records:
        assert record.keys() == reference.keys()
        assert record["s3"].keys() == reference["s3"].keys()
        assert record["s3"]["bucket"]["name"] == bucket
        assert record["s3"]["configurationId"] == "pdf-uploads-to-echo"
        assert record["eventSource"] == "aws:s3"
    puts = [r for r in records if r["eventName"] == "ObjectCreated:Put"]
    assert [r["s3"]["object"]["versionId"] for r in puts] == [
        first["VersionId"],
        second["VersionId"],
    ]
    assert [r["s3"]["object"]["size"] for r in puts] == [3, 11]
    assert puts[0]["s3"]["object"]["eTag"] == first["ETag"].strip('"')
    encoded = puts[0]["s3"]["object"]["key"]
    assert " " not in encoded and "+" in encoded and unquote_plus(encoded) == key
    (copy_event,) = [r for r in records if r["eventName"] == "ObjectCreated:Copy"]
    assert copy_event["s3"]["object"]["versionId"] == copied["VersionId"]
    assert len({r["s3"]["object"]["sequencer"] for r in records}) == 3
    # The mailroom notification did not fire for these keys, and nothing copied the bucket.
    assert not [e for e in seen.of("mailroom-local-record-metadata") if "uploads/" in str(e)]
    assert Counters.snapshot() == copies_before


def test_the_incoming_notification_keeps_its_configuration_id(
    events_stack: tuple[LocalMailroom, Seen],
) -> None:
    stack, seen = events_stack
    assert stack.endpoint is not None
    key = "incoming/upload-events/a file.txt"
    stack.endpoint.client("s3").put_object(Bucket=stack.config.bucket, Key=key, Body=b"x")
    stack.wait_idle()
    (event,) = [e for e in seen.of("mailroom-local-record-metadata") if "upload-events" in str(e)]
    assert event["Records"][0]["s3"]["configurationId"] == NOTIFICATION_ID
    assert event["Records"][0]["s3"]["object"]["key"] == "incoming/upload-events/a+file.txt"


def test_a_lambda_invoke_sent_to_the_emulator_is_run_by_the_runner(
    events_stack: tuple[LocalMailroom, Seen],
) -> None:
    stack, seen = events_stack
    assert stack.endpoint is not None
    lam = stack.endpoint.client("lambda")
    # As `mailroom reprocess` does: an asynchronous invoke, 202 at once.
    queued = lam.invoke(
        FunctionName=ECHO, InvocationType="Event", Payload=json.dumps({"reprocess": "m-1"})
    )
    assert queued["StatusCode"] == 202
    stack.wait_idle()
    assert {"reprocess": "m-1"} in seen.of(ECHO)
    # A synchronous invoke returns what the function returned.
    answer = lam.invoke(FunctionName=ECHO, Payload=json.dumps({"sync": True}))
    result = json.loads(answer["Payload"].read())
    assert result["event"] == {"sync": True}
    assert result["function"] == ECHO
    failed = lam.invoke(FunctionName=FAIL, Payload=json.dumps({"why": "sync"}))
    assert failed["FunctionError"] == "Unhandled"
    assert "failing on purpose: sync" in json.loads(failed["Payload"].read())["errorMessage"]


def test_a_sandbox_started_for_a_short_lived_thread_outlives_it(
    events_stack: tuple[LocalMailroom, Seen],
) -> None:
    """PR_SET_PDEATHSIG follows the thread that forked: sandboxes come from a long-lived one."""
    stack, _ = events_stack
    assert stack.runner is not None
    runner = stack.runner
    runner.forget_configurations()
    answers: list[dict[str, Any]] = []

    def once() -> None:  # a thread that ends once its invocation is answered
        answers.append(runner.invoke(ECHO, {"from": "a short-lived thread"}))

    for _ in range(2):
        caller = threading.Thread(target=once)
        caller.start()
        caller.join(60)
    first, second = answers
    assert second["pid"] == first["pid"]  # the same warm sandbox: it did not die with the thread


def test_a_function_spinning_past_its_timeout_is_killed_and_retried_while_the_cli_answers(
    events_stack: tuple[LocalMailroom, Seen],
) -> None:
    stack, _ = events_stack
    assert stack.endpoint is not None and stack.runner is not None
    letters_before = len(stack.dead_letters())
    stack.endpoint.client("lambda").invoke(
        FunctionName=SPIN, InvocationType="Event", Payload=json.dumps({"seconds": 3600})
    )
    answered = 0
    # WHILE the function spins (3 attempts of 2 s), another shell's `mailroom list` answers.
    while not stack.runner.idle and answered < 3:
        listed = subprocess.run(
            [*MAILROOM, "list", "--json", "--limit", "5"],
            env={**clean_env(stack.state_dir), **stack.env()},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        json.loads(listed.stdout)
        answered += 1
    assert answered >= 1
    stack.wait_idle(timeout=60)
    (letter,) = stack.dead_letters()[letters_before:]
    assert letter.attempts == 3
    assert "Task timed out after 2.00 seconds" in letter.error
    logged = (Path(stack.state_dir) / "dead-letters.jsonl").read_text()
    assert '"seconds": 3600' in logged


def _spawners() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("mailroom-local-spawn")}


def test_a_stopped_runner_leaves_no_spawner_thread(
    events_stack: tuple[LocalMailroom, Seen],
) -> None:
    stack, _ = events_stack
    assert stack.endpoint is not None
    others = _spawners()  # the module's stack keeps its own spawner while it runs
    runner = Runner(stack.endpoint)
    runner.start()
    assert runner.invoke(ECHO, {"n": 1})["event"] == {"n": 1}
    ours = _spawners() - others
    assert ours  # the sandbox came from this runner's spawner thread
    runner.stop()
    for thread in ours:
        thread.join(5)
    assert not any(thread.is_alive() for thread in ours)
