"""A running local stack (emulator, front door, runner, dispatcher) on free loopback ports."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mailroom.cli.main import cli
from mailroom.local.app import LocalMailroom
from mailroom.local.stack import StackConfig

ROOT = Path(__file__).resolve().parents[2]
MAIL_DIR = ROOT / "events" / "mail"
SUBMIT = "submit@mailroom.test"
# The local SMTP door's stand-in for SES's verdict headers (mailroom.local.frontdoor).
AUTHENTICATED = "spf=PASS; dkim=PASS; dmarc=PASS"
PDF_ONLY = (("scan.pdf", "application/pdf", "attachment"),)


def mail(
    subject: str,
    *,
    sender: str = "ann@acme.example",
    verdicts: str | None = AUTHENTICATED,
    headers: dict[str, str] | None = None,
    body: str = "Please find the documents attached.",
    attachments: Sequence[tuple[str, str, str]] = PDF_ONLY,
) -> bytes:
    """A client's message to the submission address, as the local door receives it.

    Each attachment is (filename, content type, disposition); a PDF's bytes carry the subject,
    so each message's documents differ. `verdicts=None` sends no verdict header (nothing passed).
    """
    message = EmailMessage()
    message["From"] = f"Ann <{sender}>"
    message["To"] = SUBMIT
    message["Subject"] = subject
    message["Message-ID"] = f"<{time.time_ns()}@acme.example>"
    if verdicts:
        message["X-Mailroom-Local-Verdicts"] = verdicts
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, disposition in attachments:
        maintype, subtype = content_type.split("/")
        data = b"%PDF-1.7 " + subject.encode() if subtype == "pdf" else b"\x89PNG\r\n\x1a\n logo"
        message.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=filename, disposition=disposition
        )
    return message.as_bytes()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMailroom]:
    state_dir = tmp_path_factory.mktemp("mailroom-state")
    with pytest.MonkeyPatch.context() as patch:
        # The CLI must find this stack, never a developer's own `mailroom local`.
        patch.setenv("MAILROOM_STATE_DIR", str(state_dir))
        with LocalMailroom(
            StackConfig(submission_addresses=(SUBMIT,)), smtp_port=0, state_dir=state_dir
        ) as running:
            yield running


def run_cli(stack: LocalMailroom, *args: str) -> Any:
    """`mailroom ARGS --json` against the stack, as another shell would run it; parsed JSON."""
    assert stack.runner is not None
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    # CliRunner sets os.environ for the call; the runner's invocations must not interleave.
    with stack.runner.exclusive():
        result = CliRunner().invoke(cli, [*args, "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def loaded_stack(tmp_path: Path) -> Iterator[LocalMailroom]:
    """A fresh stack of its own for one load test (function scope: no state shared)."""
    with LocalMailroom(
        StackConfig(submission_addresses=(SUBMIT,)), smtp_port=0, state_dir=tmp_path
    ) as stack:
        yield stack
