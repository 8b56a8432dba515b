"""`mailroom`: the staff CLI. Query the catalogue, fetch and upload files, inspect mail offline.

Output is a table for people (rich on a terminal, aligned text in a pipe) and JSON with --json
for scripts. Errors go to stderr as one line and a non-zero exit (1: failed or not found,
2: usage); --debug adds the traceback. boto3 and rich are imported inside the commands that use
them, so `mailroom --help` and `mailroom inspect` start fast.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

import click

from mailroom.cli import imports, ops, render
from mailroom.cli.config import ConfigError, Overrides, resolve
from mailroom.cli.params import DATE, DurationParam, utc_today
from mailroom.model import FileRecord
from mailroom.policy import Outcome

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from rich.table import Table

    from mailroom.adapters.catalog import Catalog
    from mailroom.cli.config import Config

EXIT_ERROR = 1  # failed, or not found
EXIT_USAGE = 2
INCOMING_PREFIX = "incoming/"
PROGRESS_MIN_BYTES = 8 * 1024 * 1024  # below this a download is over before a bar helps
MAX_URL_SECONDS = 7 * 86400  # SigV4's limit for a presigned URL

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """An error for the user: one line on stderr, no traceback."""

    exit_code = EXIT_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"mailroom: {self.format_message()}", err=True)


class NotFound(CliError):
    exit_code = EXIT_ERROR


class ConfigMissing(CliError):
    exit_code = EXIT_USAGE  # like a missing required option: the invocation lacks something


class App:
    """What every command shares: the group's flags, resolved settings, clients on demand."""

    def __init__(self, overrides: Overrides, debug: bool) -> None:
        self.overrides = overrides
        self.debug = debug

    @cached_property
    def config(self) -> Config:
        return resolve(self.overrides)

    def names(self) -> tuple[str, str]:
        try:
            return self.config.require()
        except ConfigError as exc:
            raise ConfigMissing(str(exc)) from exc

    @property
    def bucket(self) -> str:
        return self.names()[0]

    @cached_property
    def catalog(self) -> Catalog:
        from mailroom.adapters.catalog import Catalog
        from mailroom.cli.config import dynamodb_client

        _, table = self.names()
        return Catalog(dynamodb_client(self.config), table, INCOMING_PREFIX)

    @cached_property
    def s3(self) -> S3Client:
        from mailroom.cli.config import s3_client

        self.names()  # no client before bucket and table are known: fail with the four ways
        return s3_client(self.config)


pass_app = click.make_pass_decorator(App)


class MailroomGroup(click.Group):
    """Turns any unexpected exception into one line on stderr (a traceback only with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            raise click.Abort from None
        except Exception as exc:
            app = ctx.find_object(App)
            if app is not None and app.debug:
                traceback.print_exception(exc, file=sys.stderr)
                raise CliError(describe(exc)) from exc
            raise CliError(f"{describe(exc)} (run with --debug for details)") from None


def describe(exc: BaseException) -> str:
    """One sentence a person can act on, for the errors AWS and the OS commonly raise."""
    from botocore import exceptions as boto

    if isinstance(exc, boto.NoCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE (or --profile), log in with "
            "`aws sso login`, or run `mailroom local` to work offline"
        )
    if isinstance(exc, boto.NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, boto.EndpointConnectionError):
        return f"cannot reach {exc.kwargs.get('endpoint_url')}: is the stack (or network) up?"
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        if code == "ResourceNotFoundException":
            return f"{exc.operation_name}: {message or code} (are --table and the region right?)"
        return f"{exc.operation_name} failed: {code}: {message}".rstrip(": ")
    if isinstance(exc, boto.BotoCoreError):  # ProfileNotFound and the like say it well
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


# -- shared options and output --


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def to_json(value: Any, *, pretty: bool = True) -> str:
    # ASCII-only JSON: parseable whatever the terminal's or pipe's encoding.
    if pretty:
        return json.dumps(value, indent=2, default=str)
    return json.dumps(value, separators=(",", ":"), default=str)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def print_table(table: Callable[[], Table], plain: Callable[[], str]) -> None:
    """A rich table on a terminal; aligned plain text anywhere else (pipes, files, tests)."""
    if stdout_is_terminal():
        from rich.console import Console

        Console().print(table())
    else:
        click.echo(plain())


def show_files(records: Sequence[FileRecord], as_json: bool, empty: str) -> None:
    if as_json:
        click.echo(to_json([asdict(r) for r in records]))
        return
    if not records:
        click.echo(empty, err=True)
        return
    print_table(lambda: render.files_table(records), lambda: render.render_files(records))


def show_fields(pairs: Sequence[tuple[str, str]]) -> None:
    print_table(lambda: render.fields_table(pairs), lambda: render.render_fields(pairs))


def check_range(since: date | None, until: date | None) -> None:
    if since and until and since > until:
        raise click.UsageError(f"--since {since} is after --until {until}")


T = TypeVar("T")


def first(records: Iterable[T], limit: int) -> list[T]:
    return list(islice(records, limit))


def not_found_file(file_id: str) -> NotFound:
    hint = ""
    if not file_id.startswith(INCOMING_PREFIX):
        hint = f" (file ids are object keys like {INCOMING_PREFIX}<message-id>/01-name.pdf)"
    return NotFound(f"no file with id {file_id!r}{hint}")


# -- the group --


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
@click.option("--debug", is_flag=True, envvar="MAILROOM_DEBUG", help="Show tracebacks.")
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
) -> None:
    """Documents received by email: find them, fetch them, upload more, inspect mail offline.

    Bucket and table are found, in this order, from the flags, from MAILROOM_BUCKET and
    MAILROOM_TABLE, from a running `mailroom local`, or from `terraform output` in the infra
    directory; `mailroom config` shows what was found where. AWS_PROFILE, AWS_REGION and
    AWS_ENDPOINT_URL are honoured as by every AWS tool.
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
    )


# -- queries --


def range_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--since, --until and --limit, the same for every newest-first listing."""
    for option in reversed(
        [
            click.option("--since", type=DATE, help="From this UTC day (YYYY-MM-DD, today, 7d)."),
            click.option("--until", type=DATE, help="Up to and including this UTC day."),
            click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True),
        ]
    ):
        command = option(command)
    return command


@cli.command("list")
@click.option("--sender", metavar="ADDR", help="Only files from this sender.")
@click.option("--case", metavar="TAG", help="Only files of this case (submit+TAG@...).")
@range_options
@json_option
@pass_app
def list_files(
    app: App,
    *,
    sender: str | None,
    case: str | None,
    since: date | None,
    until: date | None,
    limit: int,
    as_json: bool,
) -> None:
    """Files received, newest first."""
    check_range(since, until)
    catalog = app.catalog
    records: Iterable[FileRecord]
    if case:
        records = catalog.files_by_case(case, since, until)
        if sender:
            wanted = sender.strip().lower()
            records = (r for r in records if (r.sender or "").lower() == wanted)
    elif sender:
        records = catalog.files_by_sender(sender.strip(), since, until)
    else:
        records = catalog.files_between(since, until, limit=limit)
    found = first(records, limit)
    show_files(found, as_json, "no files found")
    if len(found) == limit and not as_json:
        click.echo(f"(the newest {limit}; --limit N shows more)", err=True)


@cli.command()
@click.argument("file_id")
@json_option
@pass_app
def show(app: App, file_id: str, as_json: bool) -> None:
    """One file's record: name, size, type, sha256, sender, message."""
    record = app.catalog.get_file(file_id)
    if record is None:
        raise not_found_file(file_id)
    if as_json:
        click.echo(to_json(asdict(record)))
    else:
        show_fields(render.file_fields(record))


@cli.command()
@click.argument("message_id")
@json_option
@pass_app
def message(app: App, message_id: str, as_json: bool) -> None:
    """A message's record (outcome, verdicts, recipients, case) and its files."""
    record, files = app.catalog.get_message(message_id)
    if record is None and not files:
        raise NotFound(f"no message with id {message_id!r}")
    if as_json:
        click.echo(
            to_json(
                {"message": asdict(record) if record else None, "files": [asdict(f) for f in files]}
            )
        )
        return
    if record is not None:
        show_fields(render.message_fields(record))
    else:
        click.echo(f"{message_id}: no message record (an upload?)", err=True)
    if files:
        click.echo()
        show_files(files, False, "")


@cli.command()
@click.argument("file_id", required=False)
@click.option("--sha256", "digest", metavar="HEX", help="Look up by content hash instead.")
@json_option
@pass_app
def duplicates(app: App, file_id: str | None, digest: str | None, as_json: bool) -> None:
    """Every file with the same bytes (same sha256) as FILE_ID, newest first."""
    if bool(file_id) == bool(digest):
        raise click.UsageError("give either FILE_ID or --sha256 HEX (one of them)")
    if digest is not None:
        digest = digest.strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise click.BadParameter("a sha256 is 64 hexadecimal digits", param_hint="--sha256")
    else:
        assert file_id is not None
        record = app.catalog.get_file(file_id)
        if record is None:
            raise not_found_file(file_id)
        digest = record.sha256
    show_files(list(app.catalog.files_by_sha256(digest)), as_json, "no file has this sha256")


@cli.command()
@click.option(
    "--outcome",
    required=True,
    type=click.Choice([o.value for o in Outcome]),
    help="What happened to the message.",
)
@range_options
@json_option
@pass_app
def messages(
    app: App,
    *,
    outcome: str,
    since: date | None,
    until: date | None,
    limit: int,
    as_json: bool,
) -> None:
    """Messages by outcome, newest first (what failed or was quarantined)."""
    check_range(since, until)
    records = first(app.catalog.messages_by_outcome(outcome, since, until), limit)
    if as_json:
        click.echo(to_json([asdict(r) for r in records]))
    elif not records:
        click.echo(f"no {outcome} messages", err=True)
    else:
        print_table(lambda: render.messages_table(records), lambda: render.render_messages(records))


# -- files --


class _HashingWriter:
    """A non-seekable sink (so the transfer writes in order) that hashes what passes through."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self._target.write(data)

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self._target.flush()


def _download(
    app: App, record: FileRecord, target: IO[bytes] | _HashingWriter, progress: bool
) -> None:
    from mailroom.adapters.s3 import ObjectNotFound, S3Store

    store = S3Store(app.s3, record.bucket or app.bucket)
    sink = cast(IO[bytes], target)  # _HashingWriter is file-like enough for the transfer
    try:
        if not progress:
            store.download(record.file_id, sink, record.version_id)
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=_stderr_console(),
            transient=True,
        ) as bar:
            task = bar.add_task(render.printable(record.filename)[:40], total=record.size)
            store.download(
                record.file_id,
                sink,
                record.version_id,
                progress=lambda n: bar.update(task, advance=n),
            )
    except ObjectNotFound:
        raise NotFound(
            f"the object of {record.file_id!r} is gone from s3://{store.bucket} (deleted?)"
        ) from None


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _wants_progress(record: FileRecord) -> bool:
    return record.size >= PROGRESS_MIN_BYTES and sys.stderr.isatty()


def _destination(record: FileRecord, output: str | None) -> Path:
    from mailroom.naming import safe_name

    name = safe_name(record.filename or record.safe_name)
    if output is None:
        return Path.cwd() / name
    path = Path(output).expanduser()
    return path / name if path.is_dir() else path


@cli.command()
@click.argument("file_id")
@click.option(
    "--output",
    "-o",
    metavar="PATH",
    help="File or directory to write to ('-' for stdout). Default: the original name, here.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@pass_app
def get(app: App, file_id: str, output: str | None, force: bool) -> None:
    """Download a file under its original name (made safe); prints the path written.

    The bytes are checked against the recorded sha256 before the file appears.
    """
    record = app.catalog.get_file(file_id)
    if record is None:
        raise not_found_file(file_id)

    if output == "-":
        if stdout_is_terminal():
            raise CliError("refusing to write a file to the terminal: redirect it, or use --output")
        stream = sys.stdout.buffer
        writer = _HashingWriter(stream)
        _download(app, record, writer, progress=False)
        stream.flush()
        if writer.digest.hexdigest() != record.sha256:
            raise CliError(f"the bytes written do not match the recorded sha256 of {file_id!r}")
        return

    dest = _destination(record, output)
    if dest.exists() and not force:
        raise CliError(f"{dest} already exists (use --force to overwrite)")
    if not dest.parent.is_dir():
        raise CliError(f"{dest.parent} is not a directory")
    # Into a hidden temporary file next to the destination, renamed once complete and checked:
    # an interrupted or corrupt download never leaves a plausible-looking file behind.
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".mailroom-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as sink:
            _download(app, record, sink, progress=_wants_progress(record))
        if _sha256_file(tmp) != record.sha256:
            raise CliError(f"the downloaded bytes do not match the recorded sha256 of {file_id!r}")
        tmp.chmod(0o666 & ~_umask())
        if dest.exists() and not force:  # appeared while downloading
            raise CliError(f"{dest} already exists (use --force to overwrite)")
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(str(dest))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@cli.command()
@click.argument("file_id")
@click.option(
    "--expires",
    type=DurationParam(minimum=1, maximum=MAX_URL_SECONDS),
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
    record = app.catalog.get_file(file_id)
    if record is None:
        raise not_found_file(file_id)
    from mailroom.adapters.s3 import S3Store

    store = S3Store(app.s3, record.bucket or app.bucket)
    link = store.presigned_get(
        record.file_id, expires, record.version_id, record.filename or record.safe_name
    )
    until = datetime.now().astimezone() + timedelta(seconds=expires)
    click.echo(link)
    click.echo(f"expires {until:%Y-%m-%d %H:%M %Z}", err=True)


def _checked_case(value: str | None) -> str | None:
    from mailroom.policy import case_tag

    if value is None:
        return None
    # The same rule as a plus-addressed recipient's tag, so uploads and mail share case names.
    tag = case_tag([f"upload+{value.strip()}@localhost"])
    if tag is None:
        raise click.BadParameter(
            "a case tag is letters, digits, '.', '_' or '-' (up to 64)", param_hint="--case"
        )
    return tag


def _checked_sender(value: str | None) -> str | None:
    if value is None:
        return None
    from email.utils import parseaddr

    address = parseaddr(value)[1].strip().lower()
    if "@" not in address:
        raise click.BadParameter(f"{value!r} is not an email address", param_hint="--sender")
    return address


def new_upload_id(today: date | None = None) -> str:
    """`up-<yyyymmdd>-<random>`: sorts by day, never collides with an SES message id."""
    return f"up-{(today or utc_today()):%Y%m%d}-{secrets.token_hex(5)}"


def _unique_names(paths: Sequence[Path]) -> Iterator[tuple[Path, str]]:
    from mailroom.naming import safe_name

    taken: set[str] = set()
    for path in paths:
        name = safe_name(path.name, fallback="upload")
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"
        taken.add(candidate.lower())
        yield path, candidate


@cli.command()
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.option("--sender", metavar="ADDR", help="Who the files came from (recorded as sender).")
@click.option("--case", metavar="TAG", help="The case the files belong to.")
@json_option
@pass_app
def upload(
    app: App, paths: tuple[Path, ...], sender: str | None, case: str | None, as_json: bool
) -> None:
    """Put files into intake (incoming/<upload-id>/); they are recorded like emailed ones."""
    import mimetypes

    from mailroom.adapters.s3 import S3Store
    from mailroom.provenance import Provenance

    sender = _checked_sender(sender)
    case = _checked_case(case)
    upload_id = new_upload_id()
    now = datetime.now(UTC)
    received_at = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    store = S3Store(app.s3, app.bucket)
    done: list[dict[str, Any]] = []
    for path, name in _unique_names(paths):
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        sha256 = _sha256_file(path)
        provenance = Provenance(
            source="upload",
            message_id=upload_id,
            received_at=received_at,
            filename=path.name,
            sha256=sha256,
            content_type=content_type,
            sender=sender,
            case=case,
        )
        key = f"{INCOMING_PREFIX}{upload_id}/{name}"
        with path.open("rb") as body:
            store.upload(key, body, content_type, provenance.to_metadata())
        done.append(
            {
                "file_id": key,
                "filename": path.name,
                "size": path.stat().st_size,
                "sha256": sha256,
                "content_type": content_type,
                "upload_id": upload_id,
                "bucket": store.bucket,
            }
        )
    if as_json:
        click.echo(to_json(done))
        return
    rows = [(d["filename"], render.human_size(d["size"]), d["file_id"]) for d in done]
    print_table(
        lambda: render.rows_table(("filename", "size", "file id"), rows),
        lambda: render.render_rows(("FILENAME", "SIZE", "FILE ID"), rows),
    )
    click.echo(
        f"uploaded {len(done)} file(s); `mailroom message {upload_id}` lists them once recorded",
        err=True,
    )


# -- offline --


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--envelope-sender", metavar="ADDR", help="The MAIL FROM, used when a message has no From."
)
@json_option
@click.pass_context
def inspect(
    ctx: click.Context, paths: tuple[Path, ...], envelope_sender: str | None, as_json: bool
) -> None:
    """Run the Lambda's extraction on local .eml files; touches no AWS.

    One path prints one JSON object; several print one object per line (JSON Lines).
    """
    from mailroom.extract.report import inspect_path

    app = ctx.find_object(App)
    debug = bool(app and app.debug)
    out = sys.stdout
    failures = 0
    for path in paths:
        try:
            report = inspect_path(path, envelope_sender)
        except OSError as exc:
            failures += 1
            click.echo(f"mailroom: cannot read {path}: {exc.strerror or exc}", err=True)
            continue
        except Exception as exc:  # one bad file must not stop a corpus run
            failures += 1
            if debug:
                traceback.print_exception(exc, file=sys.stderr)
            click.echo(f"mailroom: {path}: extraction failed: {describe(exc)}", err=True)
            continue
        if as_json:
            out.write(to_json(report, pretty=len(paths) == 1) + "\n")
        else:
            _show_inspection(report)
    out.flush()
    if failures:
        ctx.exit(EXIT_ERROR)


def _show_inspection(report: dict[str, Any]) -> None:
    print_table(lambda: render.inspection_table(report), lambda: render.render_inspection(report))


# -- settings --


@cli.command("config")
@json_option
@pass_app
def show_config(app: App, as_json: bool) -> None:
    """Show the bucket, table, region and endpoint in use, and where each came from."""
    config = app.config
    if as_json:
        click.echo(to_json(config.as_dict()))
    else:
        rows = [
            (name, setting.value or "-", setting.source)
            for name, setting in (
                ("bucket", config.bucket),
                ("table", config.table),
                ("region", config.region),
                ("endpoint_url", config.endpoint_url),
                ("profile", config.profile),
                ("infra_dir", config.infra_dir),
            )
        ]
        print_table(
            lambda: render.rows_table(("setting", "value", "source"), rows),
            lambda: render.render_rows(("SETTING", "VALUE", "SOURCE"), rows),
        )
    try:
        config.require()
    except ConfigError as exc:
        click.echo(f"mailroom: {exc}", err=True)


def _register_local_mode(group: click.Group) -> None:
    # Local mode is an optional extra (moto, aiosmtpd); the CLI works without it.
    import importlib

    try:
        local_commands = importlib.import_module("mailroom.cli.local_commands")
    except ImportError:
        return
    for name in ("local", "demo"):
        command = getattr(local_commands, name, None)
        if isinstance(command, click.Command):
            group.add_command(command, name)


_register_local_mode(cli)
cli.add_command(ops.reprocess)
cli.add_command(ops.redrive)
cli.add_command(ops.doctor)
cli.add_command(imports.import_mail)


def main() -> None:
    cli.main(prog_name="mailroom")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())  # type: ignore[func-returns-value]
