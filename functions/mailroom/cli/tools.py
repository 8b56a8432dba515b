"""`config` (what the CLI talks to, and why) and `completion` (shell completion scripts)."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from mailroom.cli.app import App, pass_app
from mailroom.cli.config import ConfigError
from mailroom.cli.output import format_option, note, show_rows

SHELLS = ("bash", "zsh", "fish")


@click.command("config")
@format_option()
@pass_app
def show_config(app: App, fmt: str) -> None:
    """Show the bucket, table, region and endpoint in use, and where each came from."""
    config = app.config
    if fmt == "json":
        from mailroom.cli.output import to_json  # noqa: PLC0415

        click.echo(to_json(config.as_dict()))
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
            )
        ]
        show_rows(("setting", "value", "source"), rows, fmt, "")
    try:
        config.require()
    except ConfigError as exc:
        note(f"mailroom: {exc}")


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
