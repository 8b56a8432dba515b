"""`mailroom audit` and the CLI's own audit entries (issue 22).

The CLI reads and writes S3 and DynamoDB directly with the caller's credentials, so nothing
can force those calls through the product: it reports each action it performs as a client
entry (`reported_by` "client", under the CLIENTAUDIT# keys staff may write, origin "cli"),
naming the caller's principal ARN from STS GetCallerIdentity (asked once per run; against
`mailroom local`, the local stack's staff identity). A report is a claim, not proof: CloudTrail
data events (`cloudtrail_data_events`) are the record of such reads (docs/DEPLOY.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from mailroom.audit import Action, Target
from mailroom.cli.app import App, pass_app
from mailroom.cli.output import format_option, show_rows, to_csv, to_json
from mailroom.cli.params import DATE
from mailroom.usecases import audit as audit_use_cases

CSV_FIELDS = (
    "at",
    "actor",
    "action",
    "target_kind",
    "target_id",
    "origin",
    "reported_by",
    "details",
)


def filters(**values: Any) -> dict[str, str]:
    """A listing's filters as an entry names them: only those given."""
    return {k: str(v) for k, v in values.items() if v not in (None, False, "")}


@click.command("audit")
@click.option("--who", metavar="ACTOR", help="Only entries by this person (address or ARN).")
@click.option("--file", "file_id", metavar="FILE_ID", help="Only one file's history.")
@click.option("--since", type=DATE, help="From the start of this UTC day.")
@click.option("--until", type=DATE, help="Up to the end of this UTC day (inclusive).")
@click.option(
    "--action",
    type=click.Choice([a.value for a in Action]),
    help="Only this action.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, audit_use_cases.MAX_LIMIT),
    default=100,
    show_default=True,
    help="Show at most this many, newest first.",
)
@format_option()
@pass_app
def audit_command(  # noqa: PLR0917 - click passes every option
    app: App,
    who: str | None,
    file_id: str | None,
    since: date | None,
    until: date | None,
    action: str | None,
    limit: int,
    fmt: str,
) -> None:
    """The audit trail, newest first: who listed, showed, downloaded, uploaded, deleted,
    re-filed, released, exported or held what, when and from where (admins).

    `reported_by` says who wrote an entry: "server" (the api or a function: proof) or
    "client" (a CLI reporting its own direct access: a claim). Needs the admin policy.
    """
    query = audit_use_cases.AuditQuery(
        who=who,
        file=file_id,
        since=since,
        until=until,
        action=Action(action) if action else None,
        limit=limit,
    )
    entries = audit_use_cases.audit_trail(
        app.audit_log, query, retention_days=app.audit_log.retention_days
    )
    shown = filters(who=who, file=file_id, since=since, until=until, action=action)
    app.record("list", Target.listing("audit"), {"filters": shown})
    rows = [e.to_dict() for e in entries]
    if fmt == "json":
        click.echo(to_json(rows))
        return
    flat = [
        {
            **{k: v for k, v in row.items() if k != "target"},
            "target_kind": row["target"]["kind"],
            "target_id": row["target"]["id"],
        }
        for row in rows
    ]
    if fmt == "csv":
        click.echo(to_csv(flat, CSV_FIELDS), nl=False)
        return
    header = ["at", "actor", "action", "target", "origin", "reported by"]
    table = [
        [
            r["at"],
            r["actor"],
            r["action"],
            f"{r['target_kind']}:{r['target_id']}",
            r["origin"],
            r["reported_by"],
        ]
        for r in flat
    ]
    show_rows(header, table, "table", "no audit entries found")
