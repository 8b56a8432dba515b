"""`mailroom export` (a case into a signed zip) and `mailroom verify-export` (offline check).

The zip is written into a hidden temporary file beside OUT.zip and renamed only once every
document matched its recorded sha256 and SHA256SUMS was signed: an interrupted or failed export
never leaves a plausible-looking OUT.zip.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import click

from mailroom.cli.app import App, CliError, pass_app
from mailroom.cli.output import json_option, note, to_csv, to_json
from mailroom.cli.params import DATE
from mailroom.usecases.errors import IntegrityError

EXIT_INVALID = 1


def signing_key(app: App, flag: str | None) -> str:
    """The export signing key: --key-id, else $MAILROOM_EXPORT_SIGNING_KEY_ARN, local, terraform."""
    from mailroom.cli.config import EXPORT_NAMES, resolve_ops

    if flag:
        return flag
    value = resolve_ops(app.config, {}, names=EXPORT_NAMES)["export_signing_key_arn"].value
    if not value:
        raise click.UsageError(
            "no export signing key configured: pass --key-id, set "
            "MAILROOM_EXPORT_SIGNING_KEY_ARN, or use a stack whose `terraform output` (or "
            "`mailroom local` state) has `export_signing_key_arn`"
        )
    return value


@click.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--case", "case", metavar="TAG", required=True, help="The case to export.")
@click.option("--since", type=DATE, help="Files received from the start of this UTC day.")
@click.option("--until", type=DATE, help="Up to the end of this UTC day (inclusive).")
@click.option("--key-id", metavar="ARN", help="KMS signing key (else the stack's).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option(
    "--with-raw",
    is_flag=True,
    help="Admins: add each message's raw .eml. Built by the stack's export function (staff "
    "credentials never read raw/), then downloaded and verified.",
)
@json_option
@pass_app
def export_case(  # noqa: PLR0917 (click passes the options by name)
    app: App,
    out: Path,
    case: str,
    since: date | None,
    until: date | None,
    key_id: str | None,
    force: bool,
    with_raw: bool,
    as_json: bool,
) -> None:
    """Write a case's documents into OUT (a zip) with a manifest and signed SHA256SUMS.

    Every byte is checked against the recorded sha256 as it is written; `mailroom
    verify-export OUT` checks the result with no AWS.
    """
    from mailroom.adapters.kms import KmsSigner
    from mailroom.cli.config import client
    from mailroom.usecases import export

    out = out.expanduser()
    if out.exists() and not force:
        raise CliError(f"{out} already exists (use --force to replace it)")
    if not out.parent.is_dir():
        raise CliError(f"cannot write {out}: {out.parent} is not a directory")
    if with_raw:
        if key_id:
            raise click.UsageError("--with-raw signs with the stack's key: leave out --key-id")
        export_through_job(app, out, case, since, until, as_json)
        return
    signer = KmsSigner(client(app.config, "kms"), signing_key(app, key_id))
    plan = export.plan_export(app.catalog, case, since, until)
    if not plan.records:
        raise CliError(f"case {plan.case!r} has no documents in that range: nothing exported")
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=".mailroom-export-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "w+b") as sink,
            click.progressbar(
                length=plan.total_bytes,
                label=f"exporting {len(plan.records)} document(s)",
                file=sys.stderr,
            ) as bar,
        ):
            summary = export.write_export(
                plan,
                app.catalog,
                app.store,
                signer,
                sink,
                incoming_prefix=app.prefixes.incoming,
                render_csv=to_csv,
                progress=bar.update,
            )
            sink.flush()
            os.fsync(sink.fileno())
        tmp.replace(out)
    except IntegrityError as exc:
        raise CliError(f"{exc}; export stopped, nothing was written to {out}") from None
    finally:
        tmp.unlink(missing_ok=True)
    _audit_export(app, summary)
    result = {"path": str(out), **asdict(summary)}
    if as_json:
        click.echo(to_json(result))
        return
    click.echo(str(out))
    note(
        f"{summary.documents} document(s), {summary.bytes} bytes; signed by "
        f"{summary.key_fingerprint}; check with `mailroom verify-export {out}`"
    )


@click.command("verify-export")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A pinned public key (PEM): the export must be signed by it.",
)
@json_option
def verify_export(path: Path, key_path: Path | None, as_json: bool) -> None:
    """Check an export with no AWS: every file against SHA256SUMS and the manifest, and the
    signature of SHA256SUMS against the embedded key (or --key, which must be that key)."""
    from mailroom.exports import verify_export as check

    pinned = key_path.read_bytes() if key_path else None
    result = check(str(path), pinned)
    if as_json:
        click.echo(
            to_json(
                {
                    "path": str(path),
                    "ok": result.ok,
                    "files": result.files,
                    "documents": result.documents,
                    "bytes": result.bytes,
                    "signed_by": result.signed_by,
                    "pinned": result.pinned,
                    "problems": result.problems,
                }
            )
        )
    else:
        for problem in result.problems:
            click.echo(f"FAILED {problem}", err=True)
        if result.ok:
            key = "the pinned key" if result.pinned else "the key it carries"
            click.echo(
                f"OK {path}: {result.documents} document(s), {result.files} file(s) match; "
                f"signed by {key} {result.signed_by}"
            )
    if not result.ok:
        if not as_json:
            click.echo(f"mailroom: {path} does not verify", err=True)
        sys.exit(EXIT_INVALID)


JOB_WAIT_S = 960  # the export function's 900 s timeout, plus a queued minute
POLL_S = 1.0


def export_function(app: App) -> str:
    from mailroom.cli.config import EXPORT_NAMES, resolve_ops

    value = resolve_ops(app.config, {}, names=EXPORT_NAMES)["export_function"].value
    if not value:
        raise click.UsageError(
            "no export function configured: set MAILROOM_EXPORT_FUNCTION, or use a stack whose "
            "`terraform output` (or `mailroom local` state) has `export_function`"
        )
    return value


def _caller(app: App) -> str:
    """Who the CLI runs as (its IAM principal), as the client reports it."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mailroom.cli.config import client

    try:
        return str(client(app.config, "sts").get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError):  # an unknown caller is still recorded, as such
        return "unknown"


def export_through_job(  # noqa: PLR0917
    app: App,
    out: Path,
    case: str,
    since: date | None,
    until: date | None,
    as_json: bool,
) -> None:
    """`--with-raw`: the export function (with raw/ read access) builds the zip under
    exports/; the CLI follows the job item, downloads the zip (admins may read exports/) into
    a temporary file beside OUT, verifies it offline, and only then renames it to OUT."""
    from botocore.exceptions import ClientError

    from mailroom.adapters.export_jobs import ExportJobTable
    from mailroom.adapters.lambda_invoke import LambdaInvoker
    from mailroom.cli.config import client
    from mailroom.exports import verify_export
    from mailroom.usecases import export_jobs
    from mailroom.usecases.errors import UseCaseError

    function = export_function(app)
    try:
        job = export_jobs.new_job(
            case,
            since,
            until,
            with_raw=True,
            by=_caller(app),
            via="cli",
            exports_prefix="exports/",  # the function names the key from its own setting
        )
    except UseCaseError as exc:
        raise CliError(str(exc)) from None
    try:
        LambdaInvoker(client(app.config, "lambda")).invoke_async(
            function, export_jobs.job_event(job)
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in {"AccessDeniedException", "AccessDenied"}:
            raise CliError(
                "--with-raw is for admins: your credentials may not invoke the export function "
                f"{function} (the admin policy grants it)"
            ) from None
        raise
    _, table = app.names()
    jobs = ExportJobTable(client(app.config, "dynamodb"), table)
    note(f"export job {job.job_id} started (raw messages included)")
    done = _follow(jobs, job.job_id, job.files_total)
    if done.status != export_jobs.DONE:
        raise CliError(f"export job {done.job_id} {done.status}: {done.error or 'no reason given'}")
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=".mailroom-export-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "w+b") as sink,
            click.progressbar(length=done.size, label="downloading", file=sys.stderr) as bar,
        ):
            app.store().download(done.key, sink, progress=bar.update)
            sink.flush()
            os.fsync(sink.fileno())
        checked = verify_export(str(tmp))
        if not checked.ok:
            raise CliError(
                f"the export built by job {done.job_id} does not verify: "
                + "; ".join(checked.problems[:5])
            )
        tmp.replace(out)
    except ClientError as exc:
        raise CliError(f"cannot download s3://{app.bucket}/{done.key}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    summary = done.summary
    if as_json:
        click.echo(to_json({"path": str(out), "job": done.job_id, **summary}))
        return
    click.echo(str(out))
    note(
        f"{summary.get('documents')} document(s) and {summary.get('raw_messages')} raw "
        f"message(s), {done.size} bytes; signed by {summary.get('key_fingerprint')}; check "
        f"with `mailroom verify-export {out}`"
    )


def _follow(jobs: Any, job_id: str, total: int) -> Any:
    """Poll the job item until it is done or failed (the item appears once the function runs)."""
    from mailroom.usecases import export_jobs

    deadline = time.monotonic() + JOB_WAIT_S
    shown = 0
    with click.progressbar(length=max(total, 1), label="building", file=sys.stderr) as bar:
        while True:
            item = jobs.get_job(job_id)
            if item is not None:
                job = export_jobs.ExportJob.from_item(item)
                if job.files_total and bar.length != job.files_total:
                    bar.length = job.files_total
                if job.files_done > shown:
                    bar.update(job.files_done - shown)
                    shown = job.files_done
                if job.status in {export_jobs.DONE, export_jobs.FAILED}:
                    return job
            if time.monotonic() > deadline:
                raise CliError(
                    f"export job {job_id} has not finished after {JOB_WAIT_S} s; its dead-letter"
                    " queue or the function's log says why"
                )
            time.sleep(POLL_S)


def _audit_export(app: App, summary: Any) -> None:
    """The CLI's own `export` entry (reported by the client: it read S3 and DynamoDB with the
    person's credentials, which CloudTrail data events prove, not this entry). Never fails the
    export: an entry that cannot be written is reported on stderr."""
    from mailroom.adapters.catalog import AuditTrail
    from mailroom.audit import Action, Reporter, Target
    from mailroom.cli.config import client
    from mailroom.usecases.audit import DEFAULT_RETENTION_DAYS, record_action

    _, table = app.names()
    record_action(
        AuditTrail(client(app.config, "dynamodb"), table, DEFAULT_RETENTION_DAYS),
        actor=_caller(app),
        action=Action.EXPORT,
        target=Target.case(summary.case),
        origin="cli",
        reported_by=Reporter.CLIENT,
        details={
            "since": summary.since,
            "until": summary.until,
            "documents": summary.documents,
            "bytes": summary.bytes,
            "sha256sums_sha256": summary.sha256sums_sha256,
        },
        on_failure=lambda exc: note(f"warning: the audit entry was not written ({exc})"),
    )
