"""Issue 16 through the local stack: who sent it, provably.

- an attached forward makes nobody "the client": a claimed original sender is not found by
  `list --sender` (only with --include-claimed, marked claimed);
- a forward whose own DKIM signature holds (test key, resolved from a test-only records file
  the stack is started with), and one from an authenticated trusted forwarder, are found;
- an upload is recorded from what the uploader cannot write: forged metadata changes nothing,
  and a second version of an upload key is never recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from mailroom.cli.main import cli
from mailroom.local.app import LocalMailroom
from mailroom.local.stack import StackConfig
from tests.forwards import TXT_RECORDS_FILE, forward_attached, forward_inline, original

from .conftest import SUBMIT, run_cli
from .test_smtp_to_cli import send

STAFF_DOMAIN = "firm.example"
AUTHENTICATED = b"X-Mailroom-Local-Verdicts: spf=PASS; dkim=PASS; dmarc=PASS\r\n"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMailroom]:
    """A stack with a trusted forwarder domain and the test DKIM key's record."""
    state_dir = tmp_path_factory.mktemp("mailroom-trust")
    config = StackConfig(
        submission_addresses=(SUBMIT,),
        trusted_forwarders=frozenset({STAFF_DOMAIN}),
        dkim_test_records=str(TXT_RECORDS_FILE),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAILROOM_STATE_DIR", str(state_dir))
        with LocalMailroom(config, smtp_port=0, state_dir=state_dir) as running:
            yield running


def deliver(stack: LocalMailroom, raw: bytes, *, authenticated: bool) -> str:
    """Send over SMTP (DMARC PASS when `authenticated`) and wait until it is recorded."""
    message_id = send(stack, AUTHENTICATED + raw if authenticated else raw)
    [outcome] = stack.wait_for_messages([message_id], timeout=60)
    assert outcome.record is not None and outcome.record.outcome == "extracted", outcome
    return message_id


def table(stack: LocalMailroom, *args: str) -> str:
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    assert stack.runner is not None
    with stack.runner.exclusive():
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def files_named(listing: list[dict[str, Any]], filename: str) -> list[dict[str, Any]]:
    return [f for f in listing if f["filename"] == filename]


def test_an_attached_forward_does_not_make_anyone_the_client(stack: LocalMailroom) -> None:
    # GIVEN mallory, authenticated for evil.example, attaching a message From the CEO
    raw = forward_attached(
        "mallory@evil.example", original("ceo@client.example", sign_domain=None), SUBMIT
    )
    deliver(stack, raw, authenticated=True)

    # THEN a search by the CEO finds nothing
    assert (
        files_named(run_cli(stack, "list", "--sender", "ceo@client.example"), "contract-signed.pdf")
        == []
    )
    # ... and --include-claimed finds it, claimed, in JSON and in the table
    [found] = files_named(
        run_cli(stack, "list", "--sender", "ceo@client.example", "--include-claimed"),
        "contract-signed.pdf",
    )
    assert found["original_sender"] == "ceo@client.example"
    assert found["original_sender_level"] == "claimed"
    assert found["matched"] == "original_sender"
    shown = table(stack, "list", "--sender", "ceo@client.example", "--include-claimed", "--wide")
    assert "ceo@client.example (claimed) via mallory@evil.example" in shown
    message = run_cli(stack, "message", found["message_id"])
    assert message["message"]["original_sender_level"] == "claimed"
    assert message["message"]["original_sender_check"] == "no DKIM signature"
    # the forwarder is still found as who sent it
    assert files_named(
        run_cli(stack, "list", "--sender", "mallory@evil.example"), "contract-signed.pdf"
    )


def test_a_forward_whose_own_dkim_holds_is_verified_and_found(stack: LocalMailroom) -> None:
    # Forwarded by someone unauthenticated and untrusted: the signature alone vouches.
    raw = forward_attached("someone@outside.example", original("cfo@client.example"), SUBMIT)
    deliver(stack, raw, authenticated=False)
    [found] = files_named(
        run_cli(stack, "list", "--sender", "cfo@client.example"), "contract-signed.pdf"
    )
    assert (found["original_sender_level"], found["matched"]) == ("verified", "original_sender")


def test_a_forward_by_an_authenticated_trusted_forwarder_is_vouched_and_found(
    stack: LocalMailroom,
) -> None:
    inner = original("cto@client.example", sign_domain=None)
    deliver(stack, forward_attached("anna@firm.example", inner, SUBMIT), authenticated=True)
    [found] = files_named(
        run_cli(stack, "list", "--sender", "cto@client.example"), "contract-signed.pdf"
    )
    assert found["original_sender_level"] == "vouched"


def test_the_same_forward_from_staff_without_authentication_is_claimed(
    stack: LocalMailroom,
) -> None:
    inner = original("cio@client.example", sign_domain=None)
    deliver(stack, forward_attached("anna@firm.example", inner, SUBMIT), authenticated=False)
    assert run_cli(stack, "list", "--sender", "cio@client.example") == []
    [found] = run_cli(stack, "list", "--sender", "cio@client.example", "--include-claimed")
    assert found["original_sender_level"] == "claimed"


def test_an_inline_forward_is_found_by_its_original_sender_when_vouched(
    stack: LocalMailroom,
) -> None:
    deliver(
        stack, forward_inline("anna@firm.example", "coo@client.example", SUBMIT), authenticated=True
    )
    [found] = run_cli(stack, "list", "--sender", "coo@client.example")
    assert found["filename"] == "inline-fwd.pdf"
    assert (found["original_sender_via"], found["original_sender_level"]) == (
        "inline-forward",
        "vouched",
    )
    # by anyone else, an inline forward is a claim
    deliver(
        stack,
        forward_inline("mallory@evil.example", "cmo@client.example", SUBMIT),
        authenticated=True,
    )
    assert run_cli(stack, "list", "--sender", "cmo@client.example") == []
    [claimed] = run_cli(stack, "list", "--sender", "cmo@client.example", "--include-claimed")
    assert claimed["original_sender_level"] == "claimed"


# -- uploads ----------------------------------------------------------------------------------

FORGED = {
    "source": "email",
    "message-id": "forged-message",
    "sender": "ceo@client.example",
    "original-sender": "ceo@client.example",
    "original-sender-level": "verified",
    "authenticated": "1",
    "auth-reason": "dmarc=PASS for client.example",
    "received-at": "2020-01-01T00:00:00.000Z",
    "sha256": "0" * 64,
    "filename": "contract.pdf",
}


def s3_client(stack: LocalMailroom) -> tuple[Any, str]:
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    access_key = s3._request_signer._credentials.access_key  # who signs the requests
    return s3, access_key


def show(stack: LocalMailroom, file_id: str) -> dict[str, Any]:
    shown = run_cli(stack, "show", file_id)
    return dict(shown.get("file", shown))


def test_forged_upload_metadata_is_ignored(stack: LocalMailroom) -> None:
    # GIVEN an uploader putting an object with metadata that claims everything
    s3, access_key = s3_client(stack)
    key = "incoming/up-20261205-f0f0f0f0f0/contract.pdf"
    body = b"%PDF-1.4 real bytes\n"
    before = datetime.now(UTC) - timedelta(minutes=1)
    s3.put_object(Bucket=stack.config.bucket, Key=key, Body=body, Metadata=FORGED)
    stack.wait_idle(timeout=60)

    # THEN the record says upload, the real uploader, the real sha256, now
    record = show(stack, key)
    assert record["source"] == "upload"
    assert record["uploaded_by"] == f"AWS:{access_key}"
    assert record["sha256"] == hashlib.sha256(body).hexdigest()
    assert datetime.fromisoformat(record["received_at"].replace("Z", "+00:00")) >= before
    assert record["authenticated"] is None
    assert record["original_sender"] is None
    assert record["message_id"] == "up-20261205-f0f0f0f0f0"
    # the address the uploader wrote is only named by them
    assert (record["sender"], record["sender_named_by"]) == (
        "ceo@client.example",
        f"AWS:{access_key}",
    )
    assert "named by" in table(stack, "show", key)
    # and it poisons no duplicate search for the forged hash
    assert run_cli(stack, "duplicates", "--sha256", "0" * 64) == []


def test_an_overwrite_of_an_upload_key_is_not_recorded(stack: LocalMailroom) -> None:
    s3, _ = s3_client(stack)
    key = "incoming/up-20261205-0a0a0a0a0a/scan.pdf"
    first = s3.put_object(Bucket=stack.config.bucket, Key=key, Body=b"%PDF first\n")
    stack.wait_idle(timeout=60)
    # The emulator applies no bucket-policy condition, so the overwrite lands in the bucket.
    s3.put_object(Bucket=stack.config.bucket, Key=key, Body=b"%PDF second, swapped\n")
    stack.wait_idle(timeout=60)

    record = show(stack, key)
    assert record["version_id"] == first["VersionId"]
    assert record["sha256"] == hashlib.sha256(b"%PDF first\n").hexdigest()
    shown = run_cli(stack, "message", "up-20261205-0a0a0a0a0a")
    assert [f["file_id"] for f in shown["files"]] == [key]
    json.dumps(shown)  # plain data
