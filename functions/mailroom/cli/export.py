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
from dataclasses import asdict
from datetime import date
from pathlib import Path

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
