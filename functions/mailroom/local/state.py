"""Where a running `mailroom local` says how to reach it: a small JSON file.

Light on purpose (json, os, dataclasses only): the CLI imports this on every run to find the
local stack without loading moto, aiosmtpd or boto3.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

STATE_DIR_ENV = "MAILROOM_STATE_DIR"
STATE_FILE = "local.json"


@dataclass(frozen=True, slots=True)
class LocalState:
    endpoint_url: str
    region: str
    bucket: str
    table: str
    smtp_host: str
    smtp_port: int
    submission_address: str
    pid: int
    # What `mailroom reprocess`, `redrive` and `doctor` need (empty when unknown, e.g. attach).
    extract_function: str = ""
    record_function: str = ""
    extract_dlq_url: str = ""
    record_dlq_url: str = ""
    rule_set: str = ""
    dead_letter_file: str = ""  # the runner's JSON-lines dead letters, besides the DLQs
    data_dir: str = ""  # "" when the state is in memory only (no --data)
    # The staff API and dashboard (`httpapi`); "" and 0 when not served (e.g. --attach).
    api_url: str = ""  # http://127.0.0.1:PORT, the API's base URL and the dashboard's origin
    api_port: int = 0
    api_token: str = ""  # the bearer token the local API accepts (random per start)
    api_user: str = ""  # the staff address that token signs in as
    api_role: str = ""  # and its role (`mailroom local --role`: reader, uploader, admin)
    export_signing_key_arn: str = ""  # issue 22: the key `mailroom export` signs with
    export_function: str = ""  # issue 22: builds export jobs (dashboard, `export --with-raw`)

    @property
    def endpoint_port(self) -> int:
        return int(self.endpoint_url.rsplit(":", 1)[-1].rstrip("/"))


# The CLI's names for what reprocess, redrive and doctor need (Terraform's output names, as
# cli/config.py's OPS_NAMES) -> the state's field that holds each.
OPS_FIELDS = {
    "extract_function_name": "extract_function",
    "record_function_name": "record_function",
    "extract_dlq_url": "extract_dlq_url",
    "record_dlq_url": "record_dlq_url",
    "receipt_rule_set_name": "rule_set",
    "dead_letter_file": "dead_letter_file",
    "export_signing_key_arn": "export_signing_key_arn",
    "export_function": "export_function",
}


def ops_env(state: LocalState) -> dict[str, str]:
    """The `MAILROOM_*` variables that give the CLI those names (what `mailroom local` prints
    as `export` lines, so a shell with only those works like one that reads the state file)."""
    values = {name: str(getattr(state, field)) for name, field in OPS_FIELDS.items()}
    return {f"MAILROOM_{name.upper()}": value for name, value in values.items() if value}


def state_dir() -> Path:
    """$MAILROOM_STATE_DIR, else $XDG_STATE_HOME/mailroom, else ~/.local/state/mailroom."""
    explicit = os.environ.get(STATE_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "mailroom"


def state_path() -> Path:
    return state_dir() / STATE_FILE


def write_state(state: LocalState) -> Path:
    """Write atomically, so a reader never sees half a file."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Owner-only: the file carries the local API's token.
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        # `outputs`: the same names under the CLI's (Terraform's) own, as `terraform output`
        # gives them, so `reprocess`, `redrive` and `doctor` read them without translation.
        outputs = {name: getattr(state, field) for name, field in OPS_FIELDS.items()}
        out.write(json.dumps({**asdict(state), "outputs": outputs}, indent=2) + "\n")
    tmp.replace(path)
    return path


def read_state() -> LocalState | None:
    """The running local stack, or None if there is none (no file, unreadable, or dead pid)."""
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
        names = {f.name for f in fields(LocalState)}
        state = LocalState(**{k: v for k, v in data.items() if k in names})
    except (OSError, ValueError, TypeError):
        return None
    return state if _alive(int(state.pid)) else None


def clear_state(pid: int | None = None) -> None:
    """Remove the state file; with `pid`, only if it is that process's (not a newer stack's)."""
    path = state_path()
    if pid is not None:
        try:
            if int(json.loads(path.read_text(encoding="utf-8")).get("pid", -1)) != pid:
                return
        except (OSError, ValueError, TypeError, AttributeError):
            pass
    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
