"""Where the CLI finds bucket and table: flags > environment > local stack > terraform output."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from mailroom.cli import config as cli_config
from mailroom.local.state import LocalState, write_state
from tests.cli.conftest import run

TF_OUTPUTS = {
    "bucket": {"sensitive": False, "type": "string", "value": "tf-bucket"},
    "table": {"sensitive": False, "type": "string", "value": "tf-table"},
    "region": {"sensitive": False, "type": "string", "value": "eu-central-1"},
    "dlq_arns": {"sensitive": False, "type": ["list", "string"], "value": ["arn:x"]},
}


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, cli_env: Path) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)


@pytest.fixture
def terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_env: Path) -> Path:
    """A fake `terraform` first on PATH: logs its arguments, prints TF_OUTPUTS."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "terraform.log"
    script = bin_dir / "terraform"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> "{log}"\ncat <<\'JSON\'\n{json.dumps(TF_OUTPUTS)}\nJSON\n',
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


@pytest.fixture
def infra_dir(tmp_path: Path) -> Path:
    path = tmp_path / "infra"
    path.mkdir()
    return path


@pytest.fixture
def local_stack(cli_env: Path) -> LocalState:
    """A running `mailroom local` as the state file describes it (this process is alive)."""
    state = LocalState(
        endpoint_url="http://127.0.0.1:45123",
        region="us-east-1",
        bucket="local-bucket",
        table="local-table",
        smtp_host="127.0.0.1",
        smtp_port=2525,
        submission_address="submit@mailroom.localhost",
        pid=os.getpid(),
    )
    write_state(state)
    return state


def config_json(*flags: str) -> dict[str, Any]:
    result = run(*flags, "config", "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def values(data: dict[str, Any], *names: str) -> dict[str, tuple[str | None, str]]:
    return {n: (data[n]["value"], data[n]["source"]) for n in names}


def test_terraform_outputs_in_the_infra_dir(
    terraform: Path, infra_dir: Path, no_region: None
) -> None:
    data = config_json("--infra-dir", str(infra_dir))

    assert values(data, "bucket", "table", "region", "infra_dir") == {
        "bucket": ("tf-bucket", "terraform output"),
        "table": ("tf-table", "terraform output"),
        "region": ("eu-central-1", "terraform output"),
        "infra_dir": (str(infra_dir), "flag --infra-dir"),
    }
    assert terraform.read_text().split() == [f"-chdir={infra_dir}", "output", "-json"]


def test_infra_dir_from_the_environment_and_the_default_needs_state(
    terraform: Path, infra_dir: Path, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ./infra without state is not a place to look
    (cli_env / "infra").mkdir()
    assert values(config_json(), "bucket")["bucket"] == (None, "not set")
    assert not terraform.exists()

    # ... with state it is
    (cli_env / "infra" / "terraform.tfstate").write_text("{}")
    assert values(config_json(), "bucket", "infra_dir") == {
        "bucket": ("tf-bucket", "terraform output"),
        "infra_dir": ("infra", "default"),
    }

    monkeypatch.setenv("MAILROOM_INFRA_DIR", str(infra_dir))
    assert config_json()["infra_dir"] == {
        "value": str(infra_dir),
        "source": "env MAILROOM_INFRA_DIR",
    }


def test_local_stack_beats_terraform_and_brings_its_endpoint(
    terraform: Path, infra_dir: Path, local_stack: LocalState, no_region: None
) -> None:
    data = config_json("--infra-dir", str(infra_dir))

    assert values(data, "bucket", "table", "region", "endpoint_url") == {
        "bucket": ("local-bucket", "local stack"),
        "table": ("local-table", "local stack"),
        "region": ("us-east-1", "local stack"),
        "endpoint_url": ("http://127.0.0.1:45123", "local stack"),
    }
    assert not terraform.exists()  # not even run


def test_the_local_stack_region_goes_with_its_endpoint(
    local_stack: LocalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shell set up for real work has AWS_REGION; the emulator's table lives in its own region.
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")

    assert values(config_json(), "region")["region"] == ("us-east-1", "local stack")
    # ... unless asked for explicitly
    assert values(config_json("--region", "ap-southeast-2"), "region")["region"] == (
        "ap-southeast-2",
        "flag --region",
    )


def test_environment_beats_local_stack_and_then_its_endpoint_is_not_used(
    local_stack: LocalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_BUCKET", "env-bucket")
    monkeypatch.setenv("MAILROOM_TABLE", "env-table")

    data = config_json()

    assert values(data, "bucket", "table", "region") == {
        "bucket": ("env-bucket", "env MAILROOM_BUCKET"),
        "table": ("env-table", "env MAILROOM_TABLE"),
        "region": ("eu-west-1", "env AWS_REGION"),
    }
    # names meant for AWS must never be sent to the emulator just because it runs
    assert data["endpoint_url"]["value"] is None


def test_a_layer_fills_only_what_is_missing(
    local_stack: LocalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_BUCKET", "env-bucket")

    data = config_json()

    assert values(data, "bucket", "table", "endpoint_url") == {
        "bucket": ("env-bucket", "env MAILROOM_BUCKET"),
        "table": ("local-table", "local stack"),
        "endpoint_url": ("http://127.0.0.1:45123", "local stack"),
    }


def test_flags_beat_everything(local_stack: LocalState, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOM_BUCKET", "env-bucket")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.setenv("AWS_PROFILE", "env-profile")

    data = config_json(
        "--bucket",
        "flag-bucket",
        "--table",
        "flag-table",
        "--region",
        "ap-south-1",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--profile",
        "flag-profile",
    )

    assert values(data, "bucket", "table", "region", "endpoint_url", "profile") == {
        "bucket": ("flag-bucket", "flag --bucket"),
        "table": ("flag-table", "flag --table"),
        "region": ("ap-south-1", "flag --region"),
        "endpoint_url": ("http://127.0.0.1:9", "flag --endpoint-url"),
        "profile": ("flag-profile", "flag --profile"),
    }


def test_aws_environment_is_reported_as_such(
    monkeypatch: pytest.MonkeyPatch, cli_env: Path
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.setenv("AWS_PROFILE", "ops")

    data = config_json()

    assert values(data, "region", "endpoint_url", "profile") == {
        "region": ("sa-east-1", "env AWS_DEFAULT_REGION"),
        "endpoint_url": ("http://localhost:4566", "env AWS_ENDPOINT_URL"),
        "profile": ("ops", "env AWS_PROFILE"),
    }


def test_nothing_configured_is_a_usage_error_listing_the_four_ways(cli_env: Path) -> None:
    result = run("list")

    assert result.exit_code == 2
    message = result.stderr
    assert "no bucket and table configured" in message
    for way in ("--bucket NAME", "MAILROOM_BUCKET", "mailroom local", "--infra-dir"):
        assert way in message
    assert "Traceback" not in message


def test_config_text_says_what_is_missing(cli_env: Path) -> None:
    result = run("config")

    assert result.exit_code == 0
    assert "bucket" in result.stdout
    assert "not set" in result.stdout
    assert "four ways" in result.stderr


def test_a_failing_terraform_is_explained(
    tmp_path: Path, infra_dir: Path, monkeypatch: pytest.MonkeyPatch, cli_env: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "terraform"
    script.write_text("#!/bin/sh\necho 'Error: Backend initialization required' >&2\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    result = run("--infra-dir", str(infra_dir), "list")

    assert result.exit_code == 2
    assert "Backend initialization required" in result.stderr


def test_the_emulator_gets_dummy_credentials_never_real_ones(
    local_stack: LocalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    config = cli_config.resolve(cli_config.Overrides())

    credentials = cli_config.session(config).get_credentials()

    assert config.talks_to_emulator
    assert credentials is not None
    assert credentials.access_key == "mailroom-local"


def test_resolution_is_lazy_about_terraform(tmp_path: Path) -> None:
    calls: list[Path] = []

    def outputs(path: Path) -> dict[str, str]:
        calls.append(path)
        return {"bucket": "b", "table": "t"}

    env = {"MAILROOM_BUCKET": "x", "MAILROOM_TABLE": "y"}
    config = cli_config.resolve(
        cli_config.Overrides(infra_dir=tmp_path),
        env,
        read_local_state=lambda: None,
        terraform_outputs=outputs,
    )

    assert config.require() == ("x", "y")
    assert calls == []
