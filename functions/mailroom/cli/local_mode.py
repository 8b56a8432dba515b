"""Registers `mailroom local` and `mailroom demo` (cli/local_commands.py) when local mode's
extra packages are installed; otherwise stand-ins that say how to install them.

Whether moto and aiosmtpd are present is asked of the import system without importing them,
so `mailroom --help` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from mailroom.cli.app import CliError

EXTRA_MODULES = ("moto", "aiosmtpd")
INSTALL_HINT = "pip install 'mailroom[local]'"
_SUMMARIES = {
    "local": "Run mailroom offline: AWS emulator, SES-like SMTP door, functions.",
    "demo": "Start the stack, mail every .eml in a directory to it, show the result.",
}
# Help for options cli/local_commands.py declares without any (filled in, never overwritten).
_OPTION_HELP = {
    "region": "Region the emulated resources live in.",
    "bucket": "Name of the emulated bucket (raw/, incoming/, quarantine/).",
    "table": "Name of the emulated DynamoDB table.",
}


def _available(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_modules() -> list[str]:
    return [m for m in EXTRA_MODULES if not _available(m)]


def _stand_in(name: str, missing: list[str]) -> click.Command:
    def refuse(**_: Any) -> None:
        raise CliError(
            f"`mailroom {name}` needs local mode's extra packages (missing: "
            f"{', '.join(missing)}): install mailroom[local], e.g. {INSTALL_HINT}"
        )

    return click.Command(
        name,
        callback=refuse,
        help=f"{_SUMMARIES[name]} (needs: {INSTALL_HINT})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def register(group: click.Group) -> None:
    missing = missing_modules()
    if not missing:
        try:
            module = importlib.import_module("mailroom.cli.local_commands")
        except ImportError as exc:
            missing = [exc.name or str(exc)]
        else:
            for name in _SUMMARIES:
                command = getattr(module, name)
                for param in command.params:
                    if isinstance(param, click.Option) and not param.help:
                        param.help = _OPTION_HELP.get(param.name or "")
                group.add_command(command, name)
            return
    for name in _SUMMARIES:
        group.add_command(_stand_in(name, missing), name)
