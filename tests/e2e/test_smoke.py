"""`mailroom smoke` against `mailroom local`: green on a working stack, and on a deliberately
broken one (record_metadata cut off from the bucket) it fails, naming the stage. Its messages
are recognised as the stack's own probes (issue 18: hidden by default, shown by --all,
expiring); a probe-shaped message from another domain or without DKIM/DMARC PASS is not."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from mailroom.adapters.smoke import OWN_DOMAIN_VERDICTS, SmtpSender
from mailroom.cli.main import cli
from mailroom.local import state as state_file
from mailroom.local.app import LocalMailroom
from mailroom.local.outbox import read_outbox
from mailroom.usecases.smoke import Target, message_of, probes
from tests.e2e.conftest import SUBMIT, run_cli
from tests.e2e.test_local_filing import events_for


@pytest.fixture(scope="module", autouse=True)
def announced(stack: LocalMailroom) -> Iterator[None]:
    """The state file `mailroom local` writes, so the CLI knows it talks to local mode."""
    path = state_file.write_state(stack.local_state(os.getpid()))
    yield
    path.unlink(missing_ok=True)


def smoke(stack: LocalMailroom, *args: str) -> tuple[int, dict[str, Any]]:
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    result = CliRunner().invoke(cli, ["smoke", *args, "--json"], env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_smoke_is_green_on_a_working_local_stack(stack: LocalMailroom) -> None:
    code, report = smoke(stack, "--timeout", "180")
    assert code == 0 and report["ok"], report
    stages = {s["stage"]: s for s in report["stages"]}
    assert list(stages) == [
        "send",
        "file_records",
        "content",
        "message_records",
        "recognised_as_probes",
        "dead_letter_queues",
        "doctor",
        "api_requires_token",
        "dashboard_headers",
    ]
    assert all(s["seconds"] >= 0 for s in stages.values())
    # The plus-address became the case; the big one (over 16 MB) made it through.
    catalog = stack.catalog()
    files = {
        r.filename: r
        for r, _ in catalog.files_from("smoke@mailroom.test", page_size=10, include_all=True)
    }
    tag = report["tag"]
    assert files[f"smoke-{tag}-plus.pdf"].case == f"smoke-{tag}"
    assert files[f"smoke-{tag}-big.pdf"].size > 16 * 1024 * 1024

    # Issue 18: recognised as the stack's own probes: hidden from staff's default listing,
    # shown by --all with their role, and expiring (records and objects).
    names = {f"smoke-{tag}-{label}.pdf" for label in ("small", "big", "plus")}
    shown = {f["filename"] for f in run_cli(stack, "list", "--limit", "200")}
    assert not names & shown
    every = {f["filename"]: f for f in run_cli(stack, "list", "--all", "--limit", "200")}
    assert names <= set(every)
    for name in names:
        row = every[name]
        assert (row["role"], row["probe"]) == ("probe", "smoke")
        assert isinstance(row["expires_at"], int) and row["expires_at"] > time.time()
        message, _ = catalog.get_message(row["message_id"])
        assert message is not None and message.probe == "smoke"
        assert message.expires_at == row["expires_at"]
        s3 = stack.endpoint.client("s3")  # type: ignore[union-attr]
        for key in (row["file_id"], message.raw_key):
            tags = s3.get_object_tagging(Bucket=stack.config.bucket, Key=key)["TagSet"]
            assert tags == [{"Key": "mailroom-probe", "Value": "true"}]
    outcomes = {m["message_id"] for m in run_cli(stack, "messages", "--limit", "200")}
    assert not {every[n]["message_id"] for n in names} & outcomes  # no message listing either

    # AND no event (so no receipt, no notification): ordinary mail sent after the probes gets
    # its event in the outbox, none of the probes has one
    assert stack.frontdoor is not None
    ordinary = probes(Target(SUBMIT, "client@elsewhere.example", big_bytes=0), tag)[0]
    SmtpSender(stack.frontdoor.host, stack.frontdoor.port).send(
        message_of(ordinary, "client@elsewhere.example", tag), "client@elsewhere.example", SUBMIT
    )
    stack.wait_idle(timeout=60)
    after = {
        f["filename"]: f for f in run_cli(stack, "list", "--sender", "client@elsewhere.example")
    }
    assert events_for(stack, after[ordinary.filename]["message_id"])
    found, _ = read_outbox(stack.outbox.path)
    told = {e["detail"]["message_id"] for e in found if e["kind"] == "event"}
    assert not {every[n]["message_id"] for n in names} & told


@pytest.mark.parametrize(
    ("sender", "verdicts", "signed_by"),
    [
        # the door's own verdicts: DKIM and DMARC GRAY
        ("smoke@mailroom.test", None, "mailroom.test"),
        ("smoke@mailroom.test", "spf=PASS; dkim=PASS; dmarc=FAIL", "mailroom.test"),
        # PASS, but no signature by the own domain (another signer's, or none)
        ("smoke@mailroom.test", OWN_DOMAIN_VERDICTS, "amazonses.com"),
        ("smoke@mailroom.test", OWN_DOMAIN_VERDICTS, None),
        # a look-alike domain
        ("smoke@mailroom.test.evil.example", OWN_DOMAIN_VERDICTS, "mailroom.test.evil.example"),
    ],
)
def test_a_probe_shaped_message_not_from_the_own_authenticated_domain_is_ordinary_mail(
    stack: LocalMailroom, sender: str, verdicts: str | None, signed_by: str | None
) -> None:
    assert stack.frontdoor is not None
    tag = secrets.token_hex(4)
    [probe] = [p for p in probes(Target(SUBMIT, sender, big_bytes=0), tag) if p.label == "small"]
    door = SmtpSender(
        stack.frontdoor.host, stack.frontdoor.port, verdicts=verdicts, signed_by=signed_by
    )
    door.send(message_of(probe, sender, tag), sender, probe.recipient)
    stack.wait_idle(timeout=60)
    shown = {f["filename"]: f for f in run_cli(stack, "list", "--sender", sender)}
    row = shown[probe.filename]  # in the default listing: staff see it
    assert (row["role"], row["probe"], row["expires_at"]) == ("document", None, None)


def test_smoke_names_the_stage_of_a_broken_stack(stack: LocalMailroom) -> None:
    """record_metadata disabled (the bucket no longer notifies it): no file records."""
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    bucket = stack.config.bucket
    saved = s3.get_bucket_notification_configuration(Bucket=bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        code, report = smoke(stack, "--timeout", "15", "--big-mb", "0.1")
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=saved)
    assert code == 1 and not report["ok"]
    assert report["failed_stage"] == "file_records"
    [failed] = [s for s in report["stages"] if not s["ok"]]
    assert "no file record within 15 s" in failed["detail"]
