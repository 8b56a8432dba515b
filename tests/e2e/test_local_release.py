"""Issue 22 through a running local stack configured as `mailroom local --spam-policy quarantine`
configures it (StackConfig.spam_policy; the option itself: tests/e2e/test_local_command.py):

- spam (the SMTP door's verdicts header says spam=FAIL) is quarantined, listed by
  `mailroom quarantine`, released by `mailroom release`, and its file is then listed by
  `mailroom list`, recorded with who released it, when and why;
- a virus FAIL (EICAR) is refused without --allow-virus, and stays quarantined; with it, it
  is released;
- the API's POST /messages/{id}/release reaches the extract function too (the api function's
  asynchronous invoke, taken by the local runner as Lambda would).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from mailroom.adapters.catalog import AuditTrail
from mailroom.audit import Action, Reporter, Target
from mailroom.cli.main import cli
from mailroom.local.app import LocalMailroom
from mailroom.local.stack import StackConfig
from mailroom.policy import SpamPolicy

from .conftest import MAIL_DIR, SUBMIT, run_cli
from .test_smtp_to_cli import send

PDF = b"%PDF-1.7\n% a client's invoice\n"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMailroom]:
    state_dir = tmp_path_factory.mktemp("mailroom-release")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAILROOM_STATE_DIR", str(state_dir))
        config = StackConfig(submission_addresses=(SUBMIT,), spam_policy=SpamPolicy.QUARANTINE)
        with LocalMailroom(config, smtp_port=0, state_dir=state_dir) as running:
            yield running


def spam(name: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "client@example.com"
    msg["To"] = SUBMIT
    msg["Subject"] = f"Invoice {name}"
    msg["X-Mailroom-Local-Verdicts"] = "spam=FAIL"
    msg.set_content("Please find the invoice attached.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename=f"{name}.pdf")
    return msg.as_bytes()


def cli_result(stack: LocalMailroom, *args: str) -> Result:
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    assert stack.runner is not None
    with stack.runner.exclusive():
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def quarantined(stack: LocalMailroom, raw: bytes) -> str:
    message_id = send(stack, raw)
    [outcome] = stack.wait_for_messages([message_id], timeout=60)
    assert outcome.record is not None and outcome.record.outcome == "quarantined", outcome
    return message_id


def released(stack: LocalMailroom, message_id: str) -> dict[str, Any]:
    stack.wait_idle(60)
    stack.wait_for_messages([message_id], timeout=60)
    shown: dict[str, Any] = run_cli(stack, "message", message_id)
    assert shown["message"]["outcome"] == "released", shown
    return shown


def test_spam_is_held_then_released_and_listed(stack: LocalMailroom) -> None:
    message_id = quarantined(stack, spam("held-then-released"))
    held = run_cli(stack, "quarantine")["messages"]
    assert [(m["message_id"], m["reason"]) for m in held if m["message_id"] == message_id] == [
        (message_id, "spam verdict FAIL")
    ]
    assert message_id not in {f["message_id"] for f in run_cli(stack, "list")}

    result = cli_result(
        stack, "release", message_id, "--reason", "a client's invoice", "--by", "admin", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["released_by"] == "admin"
    shown = released(stack, message_id)
    assert shown["message"]["released_by"] == "admin"
    assert shown["message"]["release_reason"] == "a client's invoice"

    [listed] = [f for f in run_cli(stack, "list") if f["message_id"] == message_id]
    assert listed["filename"] == "held-then-released.pdf"
    assert listed["file_id"].startswith(f"incoming/{message_id}/")
    assert (listed["released_by"], listed["release_reason"]) == ("admin", "a client's invoice")
    assert listed["released_at"] == shown["message"]["released_at"]
    assert message_id not in {m["message_id"] for m in run_cli(stack, "quarantine")["messages"]}
    shown_text = cli_result(stack, "show", listed["file_id"])
    assert f"by admin at {listed['released_at']}: a client's invoice" in shown_text.stdout
    # The extract function's audit entry: one, naming the actor and the reason (the CLI's own
    # `message` and `show` calls above add client-reported entries beside it).
    catalog = stack.catalog()
    trail = AuditTrail(catalog.client, catalog.table, 365)
    entries = list(trail.entries_of([Target.message(message_id)]))
    [entry] = [e for e in entries if e.reported_by == Reporter.SERVER]
    assert {e.action for e in entries if e.reported_by == Reporter.CLIENT} <= {Action.SHOW}
    assert (entry.action, entry.actor, entry.origin) == (Action.RELEASE, "admin", "function")
    assert entry.details["reason"] == "a client's invoice"
    assert entry.details["allow_virus"] is False


def test_a_virus_fail_is_refused_without_allow_virus(stack: LocalMailroom) -> None:
    message_id = quarantined(stack, (MAIL_DIR / "virus-eicar.eml").read_bytes())
    result = cli_result(stack, "release", message_id, "--reason", "looks fine")
    assert result.exit_code == 2  # InvalidInput: the CLI's usage error
    assert "virus verdict is FAIL" in result.stderr and "--allow-virus" in result.stderr
    stack.wait_idle(30)
    assert run_cli(stack, "message", message_id)["message"]["outcome"] == "quarantined"
    bad = cli_result(stack, "release", message_id, "--reason", "two\nlines", "--allow-virus")
    assert bad.exit_code != 0 and "control character" in bad.stderr
    allowed = cli_result(
        stack, "release", message_id, "--reason", "the EICAR test file", "--allow-virus"
    )
    assert allowed.exit_code == 0, allowed.output
    shown = released(stack, message_id)
    assert shown["message"]["release_allow_virus"] is True
    assert [f["filename"] for f in shown["files"]] == ["invoice.com"]


def test_the_api_releases_through_the_extract_function(stack: LocalMailroom) -> None:
    message_id = quarantined(stack, spam("released-by-api"))
    env = stack.env()
    headers = {"Authorization": f"Bearer {env['MAILROOM_API_TOKEN']}"}
    listing = requests.get(f"{env['MAILROOM_API_URL']}/quarantine", headers=headers, timeout=60)
    assert message_id in {m["message_id"] for m in listing.json()["messages"]}
    reply = requests.post(
        f"{env['MAILROOM_API_URL']}/messages/{message_id}/release",
        headers=headers,
        json={"reason": "checked by phone"},
        timeout=60,
    )
    assert reply.status_code == 202, reply.text
    shown = released(stack, message_id)
    assert stack.api is not None
    assert shown["message"]["released_by"] == stack.api.staff_address
    assert [f["filename"] for f in shown["files"]] == ["released-by-api.pdf"]
