"""A running local stack (emulator, front door, runner, dispatcher) on free loopback ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
