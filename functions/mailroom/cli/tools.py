"""`config` (what the CLI talks to, and why) and `completion` (shell completion scripts)."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from mailroom.cli.app import App, pass_app
from mailroom.cli.config import ConfigError
from mailroom.cli.output import format_option, note, show_rows

SHELLS = ("bash", "zsh", "fish")


@click.command("config")
@click.option(
    "--public-key",
    is_flag=True,
    help="Print the export signing key's public key (PEM, from KMS) for recipients to pin.",
)
@format_option()
@pass_app
def show_config(app: App, fmt: str, public_key: bool) -> None:
    """Show the bucket, table, region and endpoint in use, and where each came from."""
    from mailroom.cli.config import EXPORT_NAMES, resolve_ops  # noqa: PLC0415

    config = app.config
    if public_key:
        _print_public_key(app)
        return
    export_key = resolve_ops(config, {}, names=EXPORT_NAMES)["export_signing_key_arn"]
    if fmt == "json":
        from mailroom.cli.output import to_json  # noqa: PLC0415

        click.echo(to_json({**config.as_dict(), "export_signing_key_arn": export_key.as_dict()}))
    else:
        rows = [
            [name, setting.value or "-", setting.source]
            for name, setting in (
                ("bucket", config.bucket),
                ("table", config.table),
                ("region", config.region),
                ("endpoint_url", config.endpoint_url),
                ("profile", config.profile),
                ("infra_dir", config.infra_dir),
                ("export_signing_key_arn", export_key),
            )
        ]
        show_rows(("setting", "value", "source"), rows, fmt, "")
    try:
        config.require()
    except ConfigError as exc:
        note(f"mailroom: {exc}")


def _print_public_key(app: App) -> None:
    """The PEM on stdout, its fingerprint (what verify-export prints) on stderr."""
    from mailroom.adapters.kms import KmsSigner  # noqa: PLC0415
    from mailroom.cli.config import client  # noqa: PLC0415
    from mailroom.cli.export import signing_key  # noqa: PLC0415
    from mailroom.exports import fingerprint  # noqa: PLC0415

    pem = KmsSigner(client(app.config, "kms"), signing_key(app, None)).public_key_pem()
    click.echo(pem.decode("ascii"), nl=False)
    note(f"fingerprint {fingerprint(pem)}")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash:  eval "$(mailroom completion bash)"     (in ~/.bashrc)
    zsh:   eval "$(mailroom completion zsh)"      (in ~/.zshrc)
    fish:  mailroom completion fish > ~/.config/fish/completions/mailroom.fish
    """
    root = ctx.find_root()
    cls = get_completion_class(shell)
    assert cls is not None  # every SHELLS entry is one click ships
    script = cls(root.command, {}, "mailroom", "_MAILROOM_COMPLETE").source()
    click.echo(script)
