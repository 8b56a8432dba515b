"""`mailroom`: the staff CLI. Query the catalogue, fetch and upload files, inspect mail offline.

This module is the group: its options, the App every command shares, and the registration of
the command modules, one per concern (query, reports, files, offline, tools, local mode).
Commands parse their options, call a use case (`mailroom.usecases`) and render with
`cli.output`. Errors go to stderr as one line and a non-zero exit (1: failed or not found,
2: usage); --debug (anywhere on the line, or MAILROOM_DEBUG=1) adds the traceback. boto3 and
rich are imported inside the commands that use them, so `mailroom --help` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mailroom.cli import audit as audit_commands
from mailroom.cli import (
    deletes,
    deploy,
    files,
    imports,
    local_mode,
    offline,
    ops,
    outbox,
    query,
    reports,
    tools,
)
from mailroom.cli import export as export_commands
from mailroom.cli import filing as filing_commands
from mailroom.cli import holds as hold_commands
from mailroom.cli import release as release_commands
from mailroom.cli.app import App, MailroomGroup
from mailroom.cli.config import Overrides
from mailroom.cli.output import show_files

__all__ = ["cli", "main", "show_files"]


@click.group(cls=MailroomGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--bucket", metavar="NAME", help="S3 bucket (else $MAILROOM_BUCKET, ...).")
@click.option("--table", metavar="NAME", help="DynamoDB table (else $MAILROOM_TABLE, ...).")
@click.option("--region", metavar="REGION", help="AWS region (else $AWS_REGION, ...).")
@click.option("--endpoint-url", metavar="URL", help="AWS endpoint (else $AWS_ENDPOINT_URL).")
@click.option("--profile", metavar="NAME", help="AWS profile (else $AWS_PROFILE).")
@click.option(
    "--infra-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Terraform root whose outputs name bucket and table (else $MAILROOM_INFRA_DIR, ./infra).",
)
@click.option(
    "--debug", is_flag=True, envvar="MAILROOM_DEBUG", help="Show tracebacks (also after a command)."
)
@click.option(
    "--local-time",
    is_flag=True,
    envvar="MAILROOM_LOCAL_TIME",
    help="Show times in this computer's zone with their offset (default: UTC, marked Z).",
)
@click.version_option(package_name="mailroom", prog_name="mailroom")
@click.pass_context
def cli(
    ctx: click.Context,
    *,
    bucket: str | None,
    table: str | None,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    infra_dir: Path | None,
    debug: bool,
    local_time: bool,
) -> None:
    """Documents received by email: find them, fetch them, upload more, inspect mail offline.

    Bucket and table are found, in this order, from the flags, from MAILROOM_BUCKET and
    MAILROOM_TABLE, from a running `mailroom local`, or from `terraform output` in the infra
    directory; `mailroom config` shows what was found where. AWS_PROFILE, AWS_REGION and
    AWS_ENDPOINT_URL are honoured as by every AWS tool. Dates (--since, --until) are UTC days;
    times are shown in UTC (Z) unless --local-time.
    """
    ctx.obj = App(
        Overrides(
            bucket=bucket,
            table=table,
            region=region,
            endpoint_url=endpoint_url,
            profile=profile,
            infra_dir=infra_dir,
        ),
        debug=debug,
        local_time=local_time,
    )


# -- the commands, one module per concern. Add a module's commands here, one line each. --
cli.add_command(query.list_files, "list")
cli.add_command(query.show)
cli.add_command(query.message)
cli.add_command(query.messages_command, "messages")
cli.add_command(query.duplicates)
cli.add_command(reports.stats)
cli.add_command(reports.cases)
cli.add_command(files.get)
cli.add_command(files.url)
cli.add_command(files.upload)
cli.add_command(deletes.delete)
cli.add_command(offline.inspect)
cli.add_command(tools.show_config, "config")
cli.add_command(tools.completion)
cli.add_command(ops.reprocess)
cli.add_command(ops.redrive)
cli.add_command(ops.doctor)
cli.add_command(imports.import_mail)
cli.add_command(filing_commands.file_command, "file")  # issue 21
cli.add_command(filing_commands.rules_group, "rules")
cli.add_command(audit_commands.audit_command, "audit")  # issue 22
cli.add_command(hold_commands.hold_command, "hold")  # issue 22
cli.add_command(outbox.outbox_command, "outbox")
cli.add_command(release_commands.quarantine_command, "quarantine")  # issue 22
cli.add_command(release_commands.release_command, "release")
cli.add_command(outbox.watch_command, "watch")
cli.add_command(export_commands.export_case, "export")  # issue 22
cli.add_command(export_commands.verify_export, "verify-export")
cli.add_command(deploy.migrate)
cli.add_command(deploy.preflight)
cli.add_command(deploy.smoke)
local_mode.register(cli)  # `local` and `demo`, or stand-ins that name the missing extra


def main() -> None:
    cli.main(prog_name="mailroom")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())  # type: ignore[func-returns-value]
