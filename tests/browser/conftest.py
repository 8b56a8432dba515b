"""Browser tests: Playwright for Python driving the system's Chromium (Debian's `chromium`).

Playwright's own browser download is not reachable here, so nothing downloads: Chromium is
launched from its path. Without Chromium the tests skip with the reason, except in CI
(`CI=true`), where a missing browser is a failure: CI must not pass by testing nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mailroom.local.app import LocalMailroom
from mailroom.local.stack import StackConfig

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Nothing in a test run may try to fetch Playwright's own browsers.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

ROOT = Path(__file__).resolve().parents[2]
MAIL_DIR = ROOT / "events" / "mail"
SCREENSHOTS = ROOT / "build" / "screenshots"
SUBMIT = "submit@mailroom.test"
# The closed network refuses Chromium's own background connections: without these flags its
# start-up waits on them (component updates, sync, field trials over QUIC).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # runs as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = "install it with `apt-get install -y chromium` (make test does, as root)"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    path = os.environ.get("MAILROOM_CHROMIUM") or shutil.which("chromium")
    if not path:
        _unavailable(f"no `chromium` on PATH: {INSTALL_HINT}")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional: dev extra)
    except ImportError:
        _unavailable("the `playwright` package is missing: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMailroom]:
    """The local stack with its HTTP API and page, and two emails already recorded."""
    state_dir = tmp_path_factory.mktemp("mailroom-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAILROOM_STATE_DIR", str(state_dir))
        with LocalMailroom(
            StackConfig(submission_addresses=(SUBMIT,)), smtp_port=0, state_dir=state_dir
        ) as stack:
            assert stack.api is not None, "mailroom local serves no API"
            ids = [
                send(stack, "collaborator-two-pdfs.eml", "submit+case-42@mailroom.test"),
                send(stack, "staff-forward.eml"),
            ]
            stack.wait_for_messages(ids, timeout=60)
            yield stack


def send(stack: LocalMailroom, name: str, recipient: str = SUBMIT) -> str:
    """One sample over SMTP (CRLF, as a mail program sends it); the SES message id."""
    raw = re.sub(rb"\r?\n", b"\r\n", (MAIL_DIR / name).read_bytes())
    assert stack.frontdoor is not None
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("sender@client-mail.example")
        code, reply = smtp.rcpt(recipient)
        assert code == 250, reply
        code, reply = smtp.data(raw)
        assert code == 250, reply
    return reply.decode().split()[-1]


def screenshot(page: Page, name: str) -> None:
    """build/screenshots/NAME.png: the viewport, as the person sees it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
