"""Bytes in and out: `get`, `url`, `upload`. Parse, call a use case, render.

`get` writes into a hidden temporary file beside the destination, checks the sha256, then
renames: an interrupted or corrupt download never leaves a plausible-looking file. It writes
only regular files (or through a character device such as /dev/null), and every error names
the path the user gave, never the temporary file.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import os
import stat
import sys
import tempfile
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click

from mailroom.audit import Target
from mailroom.cli import render
from mailroom.cli.app import App, CliError, pass_app
from mailroom.cli.output import format_option, note, show_rows, stdout_is_terminal, to_json
from mailroom.cli.params import DurationParam
from mailroom.model import FileRecord
from mailroom.usecases import downloads, uploads
from mailroom.usecases.errors import IntegrityError
from mailroom.usecases.files import get_file

PROGRESS_MIN_BYTES = 8 * 1024 * 1024  # below this a download is over before a bar helps


def _wants_progress(record: FileRecord) -> bool:
    return record.size >= PROGRESS_MIN_BYTES and sys.stderr.isatty()


def _fetch(app: App, record: FileRecord, target: IO[bytes], progress: bool) -> None:
    """Download (checked against the recorded sha256), then report it (issue 22)."""
    _download(app, record, target, progress)
    app.record("download", Target.file(record.file_id), {"version_id": record.version_id})


def _download(app: App, record: FileRecord, target: IO[bytes], progress: bool) -> None:
    store = app.store(record.bucket)
    if not progress:
        downloads.download(store, record, target, incoming_prefix=app.prefixes.incoming)
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(render.printable(record.filename)[:40], total=record.size)
        downloads.download(
            store,
            record,
            target,
            incoming_prefix=app.prefixes.incoming,
            progress=lambda n: bar.update(task, advance=n),
        )


_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory",
}


def _destination(record: FileRecord, output: str | None) -> Path:
    """Where to write: a directory gets the original name; `DIR/` is created when missing."""
    from mailroom.naming import safe_name

    name = safe_name(record.filename or record.safe_name)
    if output is None:
        return Path.cwd() / name
    path = Path(output).expanduser()
    if output.endswith(("/", os.sep)):
        if path.exists() and not path.is_dir():
            raise CliError(f"cannot write into {output}: it is not a directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"cannot create {output}: {exc.strerror or exc}") from None
        return path / name
    if path.is_dir():
        return path / name
    parent = path.parent
    if not parent.exists():
        raise CliError(
            f"cannot write {output}: {parent} does not exist "
            f"(end the path with / to create a directory)"
        )
    if not parent.is_dir():
        raise CliError(f"cannot write {output}: {parent} is not a directory")
    return path


def _existing_kind(dest: Path) -> int | None:
    try:
        return stat.S_IFMT(dest.lstat().st_mode)
    except FileNotFoundError:
        return None


@click.command()
@click.argument("file_id")
@click.option(
    "--output",
    "-o",
    metavar="PATH",
    help="File or directory to write to ('-' for stdout; 'DIR/' is created if missing). "
    "Default: the original name, here.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing regular file.")
@pass_app
def get(app: App, file_id: str, output: str | None, force: bool) -> None:
    """Download a file under its original name (made safe); prints the path written.

    The bytes are checked against the recorded sha256 before the file appears. Only regular
    files are written or replaced; a character device (such as /dev/null) is written through.
    """
    record = get_file(app.catalog, file_id)
    if output == "-":
        if stdout_is_terminal():
            raise CliError("refusing to write a file to the terminal: redirect it, or use --output")
        _fetch(app, record, sys.stdout.buffer, progress=False)
        sys.stdout.buffer.flush()
        return

    dest = _destination(record, output)
    shown = output if output and not Path(output).expanduser().is_dir() else str(dest)
    kind = _existing_kind(dest)
    if kind == stat.S_IFCHR:
        _write_through(app, record, dest)
        click.echo(str(dest))
        return
    if kind is not None and kind != stat.S_IFREG:
        what = _KINDS.get(kind, "not a regular file")
        raise CliError(f"{shown} is {what}: refusing to replace it (even with --force)")
    if kind is not None and not force:
        raise CliError(f"{shown} already exists (use --force to overwrite)")
    _write_replacing(app, record, dest, shown, force)
    click.echo(str(dest))


def _write_through(app: App, record: FileRecord, dest: Path) -> None:
    try:
        with dest.open("wb") as device:
            _fetch(app, record, device, progress=False)
    except OSError as exc:
        raise CliError(f"cannot write {dest}: {exc.strerror or exc}") from None


def _write_replacing(app: App, record: FileRecord, dest: Path, shown: str, force: bool) -> None:
    # A hidden temporary file next to the destination, renamed once complete and checked.
    try:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".mailroom-", suffix=".part")
    except OSError as exc:
        raise CliError(f"cannot write {shown}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as sink:
            _fetch(app, record, sink, progress=_wants_progress(record))
        tmp.chmod(0o666 & ~_umask())
        kind = _existing_kind(dest)
        if kind is not None and (kind != stat.S_IFREG or not force):  # appeared meanwhile
            raise CliError(f"{shown} already exists (use --force to overwrite)")
        tmp.replace(dest)
    except IntegrityError as exc:
        raise CliError(f"{exc}; nothing was written to {shown}") from None
    except OSError as exc:
        raise CliError(f"cannot write {shown}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@click.command()
@click.argument("file_id")
@click.option(
    "--expires",
    type=DurationParam(minimum=1, maximum=downloads.MAX_LINK_SECONDS),
    default="1h",
    show_default=True,
    help="How long the link works: e.g. 15m, 1h, 7d (at most 7d).",
)
@pass_app
def url(app: App, file_id: str, expires: int) -> None:
    """Print a presigned download link (anyone holding it can download the file).

    A link signed with temporary credentials (SSO, assumed role) stops working when they
    expire, whatever --expires says.
    """
    record = get_file(app.catalog, file_id)
    link = downloads.download_link(
        app.store(record.bucket), record, expires, incoming_prefix=app.prefixes.incoming
    )
    until = datetime.now().astimezone() + timedelta(seconds=expires)
    app.record("url", Target.file(record.file_id), {"expires_in": expires})
    click.echo(link)
    note(f"expires {render.show_time(until.isoformat(), local=False)}")


@click.command()
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.option(
    "--sender",
    metavar="ADDR",
    required=True,
    help="Who the files came from (an email address; recorded as the sender).",
)
@click.option("--case", metavar="TAG", help="The case the files belong to.")
@format_option()
@pass_app
def upload(app: App, paths: tuple[Path, ...], sender: str, case: str | None, fmt: str) -> None:
    """Put files into intake (incoming/<upload-id>/); they are recorded like emailed ones."""
    uploads.checked_sender(sender)  # before any client is built: bad input fails first
    uploads.checked_case(case)
    done = uploads.upload_files(
        app.store(), list(paths), sender=sender, case=case, incoming_prefix=app.prefixes.incoming
    )
    for d in done:
        app.record("upload", Target.file(d.file_id), {"size": d.size, "case": case})
    if fmt == "json":
        click.echo(to_json([asdict(d) for d in done]))
        return
    rows: list[list[Any]] = [[d.filename, d.size, d.file_id] for d in done]
    if fmt == "table":
        rows = [[d.filename, render.human_size(d.size), d.file_id] for d in done]
    show_rows(("filename", "size", "file id"), rows, fmt, "nothing uploaded")
    if done:
        note(
            f"uploaded {len(done)} file(s); `mailroom message {done[0].upload_id}` lists them "
            "once recorded"
        )
