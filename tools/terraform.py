"""Run terraform with the project's own CLI configuration.

Terraform reads its provider installation settings from the file named by TF_CLI_CONFIG_FILE.
This wrapper writes one of the project's own into build/ and points terraform at it:

- when a filesystem mirror holding the AWS provider is found, providers come from there only
  (no registry access), so `init` works offline;
- otherwise terraform installs providers from the registry as usual.

The mirror is searched for, never assumed: $MAILROOM_TF_PLUGIN_MIRROR first, then the usual
plugin directories (see `candidate_mirrors`).

    python tools/terraform.py -chdir=infra init
    python tools/terraform.py -chdir=infra validate

Importable: tests call `find_plugin_mirror`, `terraform_env` and `run`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_CONFIG = ROOT / "build" / "terraform" / "terraform.rc"
MIRROR_ENV = "MAILROOM_TF_PLUGIN_MIRROR"
PROVIDER_DIR = Path("registry.terraform.io") / "hashicorp" / "aws"


def candidate_mirrors(env: Mapping[str, str]) -> list[Path]:
    """Directories that may hold a filesystem mirror, most specific first."""
    home = Path(env.get("HOME") or Path.home())
    candidates: list[Path] = []
    if env.get(MIRROR_ENV):
        candidates.append(Path(env[MIRROR_ENV]))
    candidates += [
        Path("/opt/tf-plugins"),
        Path("/usr/share/terraform/plugins"),
        Path("/usr/local/share/terraform/plugins"),
        home / ".terraform.d" / "plugins",
        home / ".local" / "share" / "terraform" / "plugins",
    ]
    data_dirs = env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    candidates += [Path(d) / "terraform" / "plugins" for d in data_dirs.split(":") if d]
    # Anything else under the usual roots that holds the provider (e.g. /opt/<name>/...).
    for root in (Path("/opt"), Path("/usr/local/share"), Path("/usr/share")):
        candidates += _children_holding_provider(root)
    return list(dict.fromkeys(candidates))


def _children_holding_provider(root: Path) -> Iterable[Path]:
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        return []
    return [c for c in children if (c / PROVIDER_DIR).is_dir()]


def find_plugin_mirror(env: Mapping[str, str] | None = None) -> Path | None:
    """The first candidate directory holding registry.terraform.io/hashicorp/aws, if any."""
    env = os.environ if env is None else env
    for path in candidate_mirrors(env):
        if (path / PROVIDER_DIR).is_dir():
            return path.resolve()
    return None


def cli_config_text(mirror: Path | None) -> str:
    if mirror is None:
        return "# No filesystem mirror found: install providers from the registry.\n"
    # HCL strings take JSON escaping, so json.dumps quotes the path safely.
    return (
        "# Written by tools/terraform.py: providers from the filesystem mirror, no registry.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        '    include = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "}\n"
    )


def write_cli_config(path: Path = CLI_CONFIG, env: Mapping[str, str] | None = None) -> Path:
    """Write the project's CLI config (rewritten only when its content changes)."""
    text = cli_config_text(find_plugin_mirror(env))
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def terraform_binary(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return shutil.which("terraform", path=env.get("PATH"))


def terraform_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: os.environ) with TF_CLI_CONFIG_FILE pointing at the project's config."""
    env = dict(os.environ if base is None else base)
    env["TF_CLI_CONFIG_FILE"] = str(write_cli_config(env=env))
    env.setdefault("TF_IN_AUTOMATION", "1")
    env.setdefault("CHECKPOINT_DISABLE", "1")  # no version check over the network
    return env


def run(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = False,
    timeout: float | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run terraform with `args`; raise FileNotFoundError if terraform is not installed."""
    binary = terraform_binary(env)
    if binary is None:
        raise FileNotFoundError(
            "terraform is not on PATH (https://developer.hashicorp.com/terraform/install)"
        )
    return subprocess.run(  # noqa: S603 - the binary and arguments are ours
        [binary, *args],
        cwd=cwd,
        env=terraform_env(env),
        check=check,
        text=True,
        capture_output=capture,
        timeout=timeout,
        input=input_text,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(args, check=False).returncode
    except FileNotFoundError as exc:
        print(f"tools/terraform.py: {exc}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
