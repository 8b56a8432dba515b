"""The CLI's own audit entries (issue 22): who is running it, and reporting what it did.

The CLI reads and writes S3 and DynamoDB directly with the caller's credentials, so nothing
can force those calls through the product: it reports each action it performs as a client
entry (`reported_by` "client", under the CLIENTAUDIT# keys staff may write, origin "cli"),
naming the caller's principal ARN from STS GetCallerIdentity (asked once per run; against
`mailroom local`, the local stack's staff identity). A report is a claim, not proof: CloudTrail
data events (`cloudtrail_data_events`) are the record of such reads (docs/DEPLOY.md).

Imports nothing of the CLI but its config (the App calls it; no cycle).
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from mailroom.audit import Target
    from mailroom.cli.config import Config
    from mailroom.ports import AuditLog

# The same variable the functions read (Terraform's audit_retention_days): the CLI's client
# entries expire after as many days when it is set, else after the default.
ENV_RETENTION = "MAILROOM_AUDIT_RETENTION_DAYS"

# The use case logs a failure with its traceback; the CLI says it in one line instead.
logging.getLogger("mailroom.usecases.audit").addHandler(logging.NullHandler())


def retention_days() -> int:
    from mailroom.settings import DEFAULT_AUDIT_RETENTION_DAYS, MAX_AUDIT_RETENTION_DAYS

    text = os.environ.get(ENV_RETENTION, "").strip()
    if text.isdigit() and 1 <= int(text) <= MAX_AUDIT_RETENTION_DAYS:
        return int(text)
    return DEFAULT_AUDIT_RETENTION_DAYS


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _note(text: str) -> None:
    click.echo(f"mailroom: note: {text}"[:300], err=True)


def caller_identity(config: Config) -> str:
    """The principal ARN (AWS), or the local stack's staff identity (mailroom local)."""
    if config.talks_to_emulator:
        from dataclasses import asdict

        from mailroom.cli.config import _same_stack, local_state

        state = local_state()
        if state is not None and _same_stack(config, asdict(state)):
            return state.api_user or f"local:{_user()}"
    try:
        from mailroom.cli.config import client

        return str(client(config, "sts").get_caller_identity()["Arn"])
    except Exception as exc:  # no STS (a network policy): say so rather than guess
        _note(f"who you are could not be asked of STS ({type(exc).__name__})")
        return f"unverified:cli:{_user()}"


def report(
    log: Callable[[], AuditLog],
    actor: Callable[[], str],
    action: str,
    target: Target,
    details: dict[str, Any] | None,
) -> None:
    """Append a client entry; any failure is one note on stderr, never the command's."""
    from mailroom.usecases.audit import record_action

    def failed(exc: Exception) -> None:
        _note(f"audit entry not written ({type(exc).__name__}: {exc})")

    try:
        trail, who = log(), actor()
    except Exception as exc:  # no table configured: the action stands
        failed(exc)
        return
    record_action(
        trail,
        actor=who,
        action=action,
        target=target,
        origin="cli",
        reported_by="client",
        details=details,
        on_failure=failed,
    )
