"""What every command shares: the App object, errors for the user, the options that work anywhere.

`--debug` (or MAILROOM_DEBUG=1) and `--local-time` (or MAILROOM_LOCAL_TIME=1) are accepted
before or after the subcommand: `MailroomGroup.add_command` gives them to every command it
registers, including those of other modules.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import sys
import traceback
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any

import click

from mailroom.cli.config import ConfigError, Overrides, resolve
from mailroom.model import PREFIXES, Prefixes
from mailroom.usecases.errors import IntegrityError, InvalidInput, NotFound, UseCaseError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from mailroom.adapters.catalog import AuditTrail, Catalog
    from mailroom.adapters.s3 import S3Store
    from mailroom.audit import Target
    from mailroom.cli.config import Config

EXIT_ERROR = 1  # failed, or not found
EXIT_USAGE = 2


class CliError(click.ClickException):
    """An error for the user: one line on stderr, no traceback."""

    exit_code = EXIT_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"mailroom: {self.format_message()}", err=True)


class ConfigMissing(CliError):
    exit_code = EXIT_USAGE  # like a missing required option: the invocation lacks something


class App:
    """The group's flags, resolved settings, clients on demand."""

    # The bucket's key prefixes (the functions' own defaults: Terraform sets no others).
    prefixes: Prefixes = PREFIXES

    def __init__(self, overrides: Overrides, debug: bool, local_time: bool = False) -> None:
        self.overrides = overrides
        self.debug = debug
        self.local_time = local_time

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
        return Catalog(dynamodb_client(self.config), table, self.prefixes.incoming)

    @cached_property
    def s3(self) -> S3Client:
        from mailroom.cli.config import s3_client

        self.names()  # no client before bucket and table are known: fail with the four ways
        return s3_client(self.config)

    def store(self, bucket: str | None = None) -> S3Store:
        from mailroom.adapters.s3 import S3Store

        return S3Store(self.s3, bucket or self.bucket)

    # -- the audit trail (issue 22): what the CLI does directly, reported by the client --

    @cached_property
    def audit_log(self) -> AuditTrail:
        from mailroom.adapters.catalog import AuditTrail
        from mailroom.cli.trail import retention_days

        _, table = self.names()
        return AuditTrail(self.catalog.client, table, retention_days())

    @cached_property
    def actor(self) -> str:
        """Who is running this: the caller's principal ARN (STS GetCallerIdentity, asked once
        per run), or the local stack's staff identity when talking to `mailroom local`."""
        from mailroom.cli.trail import caller_identity

        return caller_identity(self.config)

    def record(self, action: str, target: Target, details: dict[str, Any] | None = None) -> None:
        """Report an action this run performed directly (a client entry); never fails it."""
        from mailroom.cli.trail import report

        report(lambda: self.audit_log, lambda: self.actor, action, target, details)


pass_app = click.make_pass_decorator(App)


def current_app() -> App | None:
    ctx = click.get_current_context(silent=True)
    return ctx.find_object(App) if ctx is not None else None


def _set_flag(name: str) -> Any:
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        app = ctx.find_object(App)
        if value and app is not None:
            setattr(app, name, True)

    return callback


def anywhere_options() -> list[click.Option]:
    """Fresh copies of the options every subcommand accepts after its name too."""
    return [
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            callback=_set_flag("debug"),
            help="Show tracebacks (also MAILROOM_DEBUG=1).",
        ),
        click.Option(
            ["--local-time"],
            is_flag=True,
            expose_value=False,
            callback=_set_flag("local_time"),
            help="Show times in this computer's zone with their offset, not UTC.",
        ),
    ]


def use_case_error(exc: UseCaseError) -> click.ClickException:
    """A use case's error as the CLI shows it (bad input is a usage error, exit 2)."""
    if isinstance(exc, InvalidInput):
        return click.BadParameter(str(exc), param_hint=f"--{exc.field.replace('_', '-')}")
    if isinstance(exc, NotFound | IntegrityError):
        return CliError(str(exc))
    return CliError(str(exc))


class MailroomGroup(click.Group):
    """Turns any unexpected exception into one line on stderr (a traceback only with --debug)."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        present = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
        cmd.params.extend(o for o in anywhere_options() if o.opts[0] not in present)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            raise click.Abort from None
        except UseCaseError as exc:
            raise use_case_error(exc) from exc
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
