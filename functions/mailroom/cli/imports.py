"""`mailroom import PATH...`: bring old mailboxes (mbox, Maildir, folders of .eml) into intake.

Parses, calls the import use case (mailroom.usecases.imports), renders a progress bar (on a
terminal, with the rate in messages/s) and a summary. Self-contained like cli/ops.py: the
group's App is found on the click context, nothing is imported from cli/main.py.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

EXIT_FAILED = 1


def _checked_case(value: str | None) -> str | None:
    from mailroom.policy import case_tag

    if value is None:
        return None
    # The rule of a plus-addressed recipient's tag, so imports, uploads and mail share cases.
    tag = case_tag([f"import+{value.strip()}@localhost"])
    if tag is None:
        raise click.BadParameter(
            "a case tag is letters, digits, '.', '_' or '-' (up to 64)", param_hint="--case"
        )
    return tag


def _total_bytes(paths: tuple[Path, ...]) -> int:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--case", metavar="TAG", help="Tag every imported message and file with this case.")
@click.option("--dry-run", is_flag=True, help="Report what would be imported; write nothing.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 16),
    default=4,
    show_default=True,
    help="Messages imported at once (each is a dozen AWS requests).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def import_mail(
    paths: tuple[Path, ...], case: str | None, dry_run: bool, jobs: int, as_json: bool
) -> None:
    """Import an mbox file, a Maildir, or a folder of .eml files (several PATHs allowed).

    Each message is kept under raw/, its attachments extracted into incoming/ and recorded, as
    for mail received by SES, with `source: import`, the mailbox path, and the message's own
    sender and date (old mail sorts where it belongs). Importing again adds nothing (messages
    are known by Message-ID and content hash), so an interrupted import resumes when run again.
    """
    from mailroom.adapters.catalog import Catalog
    from mailroom.adapters.dns import dns_txt_lookup
    from mailroom.adapters.inventory import RecordInventory
    from mailroom.adapters.s3 import S3Store
    from mailroom.cli.config import dynamodb_client, s3_client
    from mailroom.settings import Settings
    from mailroom.usecases.imports import Importer, import_paths, intake_steps

    tag = _checked_case(case)
    app = click.get_current_context().find_root().obj
    bucket, table = app.names()
    config = app.config
    ddb = dynamodb_client(config)
    settings = Settings(bucket=bucket, table=table)
    store = S3Store(s3_client(config), bucket)
    # DKIM of forwarded messages is checked against real DNS from this machine.
    extract, record = intake_steps(
        settings, store, Catalog(ddb, table, settings.incoming_prefix), txt_lookup=dns_txt_lookup
    )
    importer = Importer(
        settings=settings,
        raw=store,
        records=RecordInventory(ddb, table, settings.incoming_prefix),
        extract=extract,
        record=record,
        case=tag,
        dry_run=dry_run,
    )
    started = time.monotonic()
    if sys.stderr.isatty() and not as_json:
        result = _with_progress(list(paths), importer, jobs)
    else:
        result = import_paths(list(paths), importer, jobs=jobs)
    elapsed = time.monotonic() - started
    if as_json:
        click.echo(json.dumps({**result.as_dict(), "seconds": round(elapsed, 3)}, indent=2))
    else:
        _summary(result, elapsed)
    if result.failed or result.interrupted:
        click.get_current_context().exit(EXIT_FAILED)


def _with_progress(paths: list[Path], importer: Any, jobs: int) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from mailroom.usecases.imports import import_paths

    started = time.monotonic()
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[count]} messages, {task.fields[rate]} msg/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=max(1, _total_bytes(tuple(paths))), count=0, rate="-")
        done = {"count": 0, "bytes": 0}
        lock = threading.Lock()  # called from the import threads

        def advance(message: Any) -> None:
            with lock:
                done["count"] += 1
                done["bytes"] += message.size
                count = done["count"]
                rate = count / max(time.monotonic() - started, 1e-6)
                bar.update(task, completed=done["bytes"], count=count, rate=f"{rate:.1f}")

        return import_paths(paths, importer, progress=advance, jobs=jobs)


def _summary(result: Any, elapsed: float) -> None:
    total = len(result.imported) + len(result.skipped) + len(result.failed)
    rate = total / elapsed if elapsed > 0 else 0.0
    verb = "would import" if result.dry_run else "imported"
    click.echo(
        f"{verb} {len(result.imported)}, skipped {len(result.skipped)} (already present), "
        f"failed {len(result.failed)}  ({total} messages in {elapsed:.1f}s, {rate:.1f} msg/s)"
    )
    for failure in result.failed:
        click.echo(f"mailroom: failed: {failure['label']}: {failure['reason']}", err=True)
    if result.interrupted:
        click.echo(
            "mailroom: interrupted: run the same command again to resume (done messages are "
            "skipped)",
            err=True,
        )
