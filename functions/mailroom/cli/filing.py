"""`file` (re-file a message under a case) and `rules` (list the routing rules, try them on a
.eml offline). Parse, call a use case or the pure routing module, render."""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import os
from dataclasses import asdict
from email import policy as email_policy
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

import click

from mailroom.audit import Target
from mailroom.cli.app import App, CliError, pass_app
from mailroom.cli.deletes import _default_actor
from mailroom.cli.local_filing import RULES_FILE
from mailroom.cli.output import format_option, note, show_fields, show_rows, to_json
from mailroom.routing import Envelope, RoutingRules, RulesError, load_rules, route
from mailroom.settings import ENV_ROUTING_RULES


@click.command("file")
@click.argument("message_id")
@click.option("--case", required=True, metavar="CASE", help="The case to file it under.")
@click.option(
    "--by", metavar="NAME", help="Who files it, recorded on the message (default: cli:<user>)."
)
@format_option(("table", "json"))
@pass_app
def file_command(app: App, message_id: str, case: str, by: str | None, fmt: str) -> None:
    """File MESSAGE_ID and all its files under CASE (it leaves `messages --needs-filing`).

    The message records who filed it and when; its files' case changes too.
    """
    from botocore.exceptions import ClientError

    from mailroom.usecases import filing

    catalog = app.catalog
    try:
        done = filing.file_message(
            catalog,
            message_id,
            case,
            by=by or _default_actor(),
            holds=catalog,  # into a case under legal hold: held too (issue 22)
            locks=app.store(),
        )
    except ClientError as exc:
        operation = getattr(exc, "operation_name", "")
        if operation not in {"ListObjectVersions", "PutObjectLegalHold"}:
            raise
        code = exc.response.get("Error", {}).get("Code", "")
        raise CliError(
            f"filed {message_id} under {case}, but that case is under legal hold and its files "
            f"could not be held ({operation}: {code}; holding needs the admin policy): an admin "
            f"runs `mailroom hold --case {case}` to finish"
        ) from exc
    details = {"case": case, "by": done.message.filed_by, "counts": {"files": len(done.files)}}
    app.record("refile", Target.message(message_id), details)
    if fmt == "json":
        click.echo(
            to_json(
                {
                    "message": asdict(done.message),
                    "files": [f.file_id for f in done.files],
                    "previous_case": done.previous_case,
                }
            )
        )
        return
    note(
        f"filed {message_id} under {done.message.case} (was {done.previous_case or 'no case'}; "
        f"{len(done.files)} file(s); by {done.message.filed_by} at {done.message.filed_at})"
    )


def rules_source(path: Path | None) -> tuple[RoutingRules, str]:
    """The rules to show: --rules FILE, else $MAILROOM_ROUTING_RULES, else those of a running
    `mailroom local --rules`, else the defaults."""
    from mailroom.local import state as state_file

    try:
        if path is not None:
            return load_rules(path.read_text(encoding="utf-8")), str(path)
        if os.environ.get(ENV_ROUTING_RULES, "").strip():
            return load_rules(os.environ[ENV_ROUTING_RULES]), f"${ENV_ROUTING_RULES}"
        running = state_file.state_dir() / RULES_FILE
        if state_file.read_state() is not None and running.is_file():
            return load_rules(running.read_text(encoding="utf-8")), f"{running} (mailroom local)"
    except OSError as exc:
        raise CliError(f"cannot read the rules: {exc}") from exc
    except RulesError as exc:
        raise CliError(str(exc)) from exc
    return RoutingRules(), "defaults (no rules given)"


rules_option = click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A rules file (JSON; else $MAILROOM_ROUTING_RULES, a running `mailroom local`'s).",
)


@click.group("rules", invoke_without_command=True)
@rules_option
@format_option(("table", "json"))
@click.pass_context
def rules_group(ctx: click.Context, rules_path: Path | None, fmt: str) -> None:
    """The routing rules: which case and labels a message is filed under, and why.

    Without a subcommand, lists them. `rules test MESSAGE.eml` shows which would apply.
    """
    if ctx.invoked_subcommand is not None:
        return
    rules, origin = rules_source(rules_path)
    if fmt == "json":
        click.echo(to_json({"source": origin, **rules.to_dict()}))
        return
    note(f"rules from {origin}")
    show_fields(
        [
            ("subject patterns", ", ".join(p.text for p in rules.subject_patterns) or "(none)"),
            ("case format", rules.case_format),
            ("default case", rules.default_case or "(none)"),
        ]
    )
    click.echo()
    show_rows(
        ["NAME", "LEVEL", "MATCHES", "CASE", "LABELS"],
        [[r.name, r.level, r.describe(), r.case or "", ",".join(r.labels)] for r in rules.rules],
        "table",
        "no rules: plus-address and subject patterns only",
    )


@rules_group.command("test")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@rules_option
@click.option(
    "--to",
    "recipients",
    multiple=True,
    metavar="ADDR",
    help="Envelope recipient (repeatable; default: the To, Cc and Delivered-To headers).",
)
@click.option(
    "--authenticated",
    is_flag=True,
    help="Treat the From address as authenticated by SES (sender rules apply only then).",
)
@format_option(("table", "json"))
def rules_test(
    path: Path,
    rules_path: Path | None,
    recipients: tuple[str, ...],
    authenticated: bool,
    fmt: str,
) -> None:
    """Which rule files PATH (a .eml) and why; offline, no AWS.

    The sender is never authenticated offline unless --authenticated says SES would vouch for
    it: sender rules apply only to an authenticated From, as in the stack.
    """
    rules, origin = rules_source(rules_path)
    with path.open("rb") as handle:
        headers = BytesParser(policy=email_policy.default).parse(handle, headersonly=True)
    found = recipients or tuple(
        a
        for _, a in getaddresses(
            [str(v) for n in ("to", "cc", "delivered-to") for v in headers.get_all(n) or []]
        )
        if "@" in a
    )
    senders = [a.lower() for _, a in getaddresses([str(headers.get("from") or "")]) if "@" in a]
    sender = senders[0] if authenticated and len(senders) == 1 else None
    subject = str(headers.get("subject") or "")
    filing = route(rules, Envelope(found, subject, sender))
    if fmt == "json":
        click.echo(
            to_json(
                {
                    "source": origin,
                    "recipients": list(found),
                    "subject": subject,
                    "authenticated_sender": sender,
                    **filing.to_dict(),
                }
            )
        )
        return
    note(f"rules from {origin}")
    show_fields(
        [
            ("case", filing.case or ("(none: NEEDS FILING)" if filing.needs_filing else "(none)")),
            ("labels", ", ".join(filing.labels) or "(none)"),
            ("why", filing.reason),
            ("recipients", ", ".join(found) or "(none)"),
            ("sender", sender or "(not authenticated: sender rules not applied)"),
        ]
    )
    if filing.candidates:
        click.echo()
        show_rows(
            ["LEVEL", "MATCHED", "CASE", "LABELS"],
            [[c.level, c.source, c.case or "", ",".join(c.labels)] for c in filing.candidates],
            "table",
            "",
        )
