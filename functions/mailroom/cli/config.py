"""Where the CLI finds its bucket, table, region and endpoint, and where each came from.

Layers, first wins: flags on the `mailroom` group, the environment (MAILROOM_BUCKET,
MAILROOM_TABLE and the standard AWS_* variables), a running local stack (its state file), then
`terraform output -json` in the infra directory. A layer's region and endpoint only apply when
that same layer named the bucket or the table: names from the environment must never be sent to
the local emulator just because one happens to be running. Conversely, when the CLI talks to the
local stack, the stack's region wins over AWS_REGION from the shell (only --region beats it).

Kept free of boto3 so that importing the CLI stays fast; clients are built on first use.
"""

# Imports inside functions are deliberate here: they keep `mailroom --help` fast.
# ruff: noqa: PLC0415

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mailroom.settings import ENV_BUCKET, ENV_TABLE

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from mailroom.local.state import LocalState

ENV_INFRA_DIR = "MAILROOM_INFRA_DIR"
DEFAULT_INFRA_DIR = Path("infra")
TERRAFORM_TIMEOUT = 120  # seconds; `terraform output` reads state, remote backends can be slow

FLAG = "flag"
ENV = "env"
LOCAL = "local stack"
TERRAFORM = "terraform output"
AWS_CONFIG = "AWS config"
DEFAULT = "default"
UNSET = "not set"

_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class ConfigError(Exception):
    """Bucket or table could not be found anywhere."""


@dataclass(frozen=True, slots=True)
class Setting:
    value: str | None
    source: str  # "flag --bucket", "env MAILROOM_BUCKET", "local stack", ...

    def as_dict(self) -> dict[str, str | None]:
        return {"value": self.value, "source": self.source}


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the `mailroom` group's flags say (None: not given)."""

    bucket: str | None = None
    table: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    infra_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class Config:
    bucket: Setting
    table: Setting
    region: Setting
    endpoint_url: Setting
    profile: Setting
    infra_dir: Setting
    notes: tuple[str, ...] = ()  # why a layer was skipped (terraform missing, failed, ...)
    # What `terraform output` said, when it was run: later lookups (ops names, the export key)
    # reuse it rather than run terraform again.
    terraform_outputs: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket.as_dict(),
            "table": self.table.as_dict(),
            "region": self.region.as_dict(),
            "endpoint_url": self.endpoint_url.as_dict(),
            "profile": self.profile.as_dict(),
            "infra_dir": self.infra_dir.as_dict(),
            "notes": list(self.notes),
        }

    def require(self) -> tuple[str, str]:
        """(bucket, table), or a ConfigError that lists every way to provide them."""
        missing = [
            name for name, s in (("bucket", self.bucket), ("table", self.table)) if not s.value
        ]
        if missing:
            raise ConfigError(missing_message(missing, self))
        assert self.bucket.value and self.table.value
        return self.bucket.value, self.table.value

    @property
    def talks_to_emulator(self) -> bool:
        url = self.endpoint_url.value
        return bool(url) and (urlsplit(url).hostname or "") in _LOOPBACK_HOSTS


def missing_message(missing: list[str], config: Config) -> str:
    what = " and ".join(missing)
    infra = config.infra_dir.value or f"./{DEFAULT_INFRA_DIR} (not found or no state)"
    lines = [
        f"no {what} configured. Provide {'them' if len(missing) > 1 else 'it'}"
        " in one of four ways:",
        "  1. flags:       mailroom --bucket NAME --table NAME ...",
        f"  2. environment: export {ENV_BUCKET}=NAME {ENV_TABLE}=NAME",
        "  3. local stack: run `mailroom local` in another shell (no AWS account needed)",
        f"  4. terraform:   outputs `bucket` and `table` in --infra-dir / ${ENV_INFRA_DIR}"
        f" (looked in: {infra})",
    ]
    lines.extend(f"  note: {note}" for note in config.notes)
    return "\n".join(lines)


@dataclass(slots=True)
class _Layer:
    source: str
    bucket: str | None = None
    table: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


def resolve(
    flags: Overrides,
    env: Mapping[str, str] | None = None,
    *,
    read_local_state: Callable[[], LocalState | None] | None = None,
    terraform_outputs: Callable[[Path], dict[str, str]] | None = None,
) -> Config:
    """Resolve every setting; terraform runs only if bucket or table is still missing."""
    env = os.environ if env is None else env
    read_local_state = read_local_state or local_state
    terraform_outputs = terraform_outputs or run_terraform_output
    notes: list[str] = []

    def from_env(*names: str) -> Setting | None:
        for name in names:
            value = env.get(name, "").strip()
            if value:
                return Setting(value, f"{ENV} {name}")
        return None

    def flag(value: str | None, name: str) -> Setting | None:
        return Setting(value, f"{FLAG} --{name}") if value else None

    bucket = flag(flags.bucket, "bucket") or from_env(ENV_BUCKET)
    table = flag(flags.table, "table") or from_env(ENV_TABLE)
    region = flag(flags.region, "region") or from_env("AWS_REGION", "AWS_DEFAULT_REGION")
    endpoint = flag(flags.endpoint_url, "endpoint-url") or from_env("AWS_ENDPOINT_URL")
    profile = flag(flags.profile, "profile") or from_env("AWS_PROFILE")

    infra_dir = _infra_dir(flags, env)
    layers: list[_Layer] = []
    read_outputs: tuple[tuple[str, str], ...] = ()
    if not (bucket and table):
        state = read_local_state()
        if state is not None:
            layers.append(
                _Layer(LOCAL, state.bucket, state.table, state.region, state.endpoint_url)
            )
    if not (bucket and table) and not _covered(layers) and infra_dir.value:
        try:
            outputs = terraform_outputs(Path(infra_dir.value))
        except TerraformUnavailable as exc:
            notes.append(str(exc))
        else:
            read_outputs = tuple(sorted(outputs.items()))
            layers.append(
                _Layer(
                    TERRAFORM,
                    outputs.get("bucket"),
                    outputs.get("table"),
                    outputs.get("region"),
                )
            )

    for layer in layers:
        used = False
        if not bucket and layer.bucket:
            bucket, used = Setting(layer.bucket, layer.source), True
        if not table and layer.table:
            table, used = Setting(layer.table, layer.source), True
        # The layer's region and endpoint go with the names it supplied, never on their own.
        if used and not endpoint and layer.endpoint_url:
            endpoint = Setting(layer.endpoint_url, layer.source)
        # The emulator keeps its resources in its own region: when we talk to it, a region from
        # the shell (AWS_REGION set for real work) would only make the table "not found".
        talks_to_layer = endpoint is not None and endpoint.source == layer.source
        region_overridable = not region or (talks_to_layer and region.source.startswith(ENV))
        if used and layer.region and region_overridable:
            region = Setting(layer.region, layer.source)

    return Config(
        bucket=bucket or Setting(None, UNSET),
        table=table or Setting(None, UNSET),
        region=region or Setting(None, f"{AWS_CONFIG} (profile or instance)"),
        endpoint_url=endpoint or Setting(None, f"{DEFAULT} (AWS)"),
        profile=profile or Setting(None, DEFAULT),
        infra_dir=infra_dir,
        notes=tuple(notes),
        terraform_outputs=read_outputs,
    )


def _covered(layers: list[_Layer]) -> bool:
    return any(layer.bucket and layer.table for layer in layers)


def _infra_dir(flags: Overrides, env: Mapping[str, str]) -> Setting:
    if flags.infra_dir:
        return Setting(str(flags.infra_dir), f"{FLAG} --infra-dir")
    value = env.get(ENV_INFRA_DIR, "").strip()
    if value:
        return Setting(value, f"{ENV} {ENV_INFRA_DIR}")
    # ./infra only counts once it has been applied (local state) or initialised (a backend).
    if (DEFAULT_INFRA_DIR / "terraform.tfstate").is_file() or (
        DEFAULT_INFRA_DIR / ".terraform"
    ).is_dir():
        return Setting(str(DEFAULT_INFRA_DIR), DEFAULT)
    return Setting(None, UNSET)


def local_state() -> LocalState | None:
    """The running local stack, if any; tolerant of local mode not being installed."""
    try:
        from mailroom.local.state import read_state
    except ImportError:
        return None
    try:
        return read_state()
    except Exception:  # a broken state file must not stop a CLI that does not need it
        return None


class TerraformUnavailable(Exception):
    """terraform is not installed, or `terraform output` failed."""


def run_terraform_output(infra_dir: Path) -> dict[str, str]:
    """String outputs of `terraform output -json` in `infra_dir` (name -> value)."""
    if not infra_dir.is_dir():
        raise TerraformUnavailable(f"infra dir {infra_dir} does not exist")
    terraform = shutil.which("terraform")
    if terraform is None:
        raise TerraformUnavailable("terraform is not on PATH, so its outputs were not read")
    try:
        done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
            [terraform, f"-chdir={infra_dir}", "output", "-json"],
            capture_output=True,
            text=True,
            timeout=TERRAFORM_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TerraformUnavailable(f"terraform output in {infra_dir} failed: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise TerraformUnavailable(
            f"terraform output in {infra_dir} failed: {detail[-1] if detail else done.returncode}"
        )
    try:
        data = json.loads(done.stdout or "{}")
    except ValueError as exc:
        raise TerraformUnavailable(f"terraform output in {infra_dir} is not JSON") from exc
    if not isinstance(data, dict):
        raise TerraformUnavailable(f"terraform output in {infra_dir} is not a JSON object")
    return {
        name: output["value"]
        for name, output in data.items()
        if isinstance(output, dict) and isinstance(output.get("value"), str)
    }


# -- clients --

_DUMMY_CREDENTIALS = {"aws_access_key_id": "mailroom-local", "aws_secret_access_key": "local"}


def session(config: Config) -> boto3.session.Session:
    """A session honouring the profile flag; AWS_PROFILE and friends are boto3's own business."""
    import boto3

    args: dict[str, Any] = {}
    if config.profile.source.startswith(FLAG):
        args["profile_name"] = config.profile.value
    if config.region.value:
        # Passed explicitly because botocore itself reads AWS_DEFAULT_REGION but not AWS_REGION.
        args["region_name"] = config.region.value
    if config.talks_to_emulator and not _has_explicit_credentials(config):
        # The emulator accepts any signature; never send real credentials to it, and do not
        # make a newcomer without an AWS account configure some.
        args.update(_DUMMY_CREDENTIALS)
    return boto3.session.Session(**args)


def _has_explicit_credentials(config: Config) -> bool:
    return bool(
        config.profile.value
        or os.environ.get("AWS_ACCESS_KEY_ID")
        or os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")
    )


def _client_args(config: Config) -> dict[str, Any]:
    args: dict[str, Any] = {}
    # From the environment boto3 reads AWS_ENDPOINT_URL (and the per-service variants) itself.
    if config.endpoint_url.value and not config.endpoint_url.source.startswith(ENV):
        args["endpoint_url"] = config.endpoint_url.value
    return args


def dynamodb_client(config: Config) -> DynamoDBClient:
    return session(config).client("dynamodb", **_client_args(config))


def s3_client(config: Config) -> S3Client:
    from botocore.config import Config as BotoConfig

    # SigV4 everywhere (presigned links); path-style for the emulator on loopback.
    boto = BotoConfig(
        signature_version="s3v4",
        s3={"addressing_style": "path"} if config.talks_to_emulator else {},
    )
    return session(config).client("s3", config=boto, **_client_args(config))


# -- operations: the functions, queues, rule set and topic that reprocess/redrive/doctor use --

# Terraform output names (infra/outputs.tf), also the keys in the local stack's state file.
OPS_NAMES = (
    "extract_function_name",
    "record_function_name",
    "extract_dlq_url",
    "record_dlq_url",
    "receipt_rule_set_name",
    "alarm_topic_arn",
    "dead_letter_file",  # local mode's only (no Terraform output): the runner's dead letters
)
# Issue 22: the KMS key `mailroom export` signs with (resolved like the ops names, on its own).
EXPORT_NAMES = ("export_signing_key_arn", "export_function")  # export_function: --with-raw
OPS_ENV = {name: f"MAILROOM_{name.upper()}" for name in OPS_NAMES + EXPORT_NAMES}
# Outputs an older infra/ exported under other names.
_OPS_OUTPUT_ALIASES = {
    "extract_function_name": "extract_function",
    "record_function_name": "record_function",
    "receipt_rule_set_name": "rule_set",
}


def resolve_ops(
    config: Config,
    flags: Mapping[str, str | None],
    env: Mapping[str, str] | None = None,
    *,
    read_local_extras: Callable[[], dict[str, Any]] | None = None,
    terraform_outputs: Callable[[Path], dict[str, str]] | None = None,
    names: tuple[str, ...] = OPS_NAMES,
) -> dict[str, Setting]:
    """Each of `names` from its flag, its MAILROOM_* variable, or the layer that named the bucket.

    Names are taken from the local stack or Terraform only when that layer also supplied the
    bucket (or the infra dir was given explicitly), so one stack's bucket is never paired with
    another stack's functions.
    """
    env = os.environ if env is None else env
    found: dict[str, Setting] = {}
    for name in names:
        flag_value = flags.get(name)
        env_value = env.get(OPS_ENV[name], "").strip()
        if flag_value:
            found[name] = Setting(flag_value, f"{FLAG} --{name.replace('_', '-')}")
        elif env_value:
            found[name] = Setting(env_value, f"{ENV} {OPS_ENV[name]}")
    missing = [n for n in names if n not in found]
    layer: dict[str, Any] = {}
    source = ""
    if missing and config.bucket.source == LOCAL:
        layer, source = (read_local_extras or local_state_extras)(), LOCAL
    elif missing and config.talks_to_emulator:
        # Names from the environment (the `export` lines `mailroom local` printed): the running
        # stack fills in the rest only if it is that same stack (endpoint, bucket and table).
        layer = (read_local_extras or local_state_extras)()
        if not _same_stack(config, layer):
            layer = {}
        source = LOCAL
    elif (
        missing
        and config.infra_dir.value
        and (config.bucket.source == TERRAFORM or not config.infra_dir.source.startswith(DEFAULT))
    ):
        try:
            layer = dict(config.terraform_outputs) or (terraform_outputs or run_terraform_output)(
                Path(config.infra_dir.value)
            )
            source = TERRAFORM
        except TerraformUnavailable:
            layer = {}
    for name in missing:
        value = layer.get(name) or layer.get(_OPS_OUTPUT_ALIASES.get(name, name))
        found[name] = (
            Setting(str(value), source)
            if isinstance(value, str) and value
            else (Setting(None, UNSET))
        )
    return found


def _same_stack(config: Config, state: Mapping[str, Any]) -> bool:
    def url(value: Any) -> str:
        return str(value or "").rstrip("/").replace("://localhost:", "://127.0.0.1:")

    return (
        bool(state)
        and state.get("bucket") == config.bucket.value
        and state.get("table") == config.table.value
        and url(state.get("endpoint_url")) == url(config.endpoint_url.value)
    )


def local_state_extras() -> dict[str, Any]:
    """The running local stack's state file as a dict (its ops names among the keys)."""
    if local_state() is None:
        return {}
    try:
        from mailroom.local.state import state_path

        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (ImportError, OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    nested = data.get("outputs")
    return {**data, **nested} if isinstance(nested, dict) else data


def client(config: Config, service: str) -> Any:
    """A boto3 client for `service` with the resolved profile, region and endpoint."""
    return session(config).client(service, **_client_args(config))  # type: ignore[call-overload]
