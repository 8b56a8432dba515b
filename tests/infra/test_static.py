"""infra/ without AWS: formatting, validation, conventions, and the terraform wrapper."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import terraform as tf  # tools/terraform.py (conftest puts tools/ on sys.path)

from tests.infra.conftest import INFRA, ROOT, copy_module, require_terraform, terraform

pytestmark = pytest.mark.infra


def top_level_blocks(kind: str) -> dict[str, str]:
    """`variable "x" { ... }` blocks of infra/*.tf by name (terraform fmt puts `}` in column 0)."""
    blocks: dict[str, str] = {}
    pattern = re.compile(rf'^{kind} "([^"]+)" \{{\n(.*?)^\}}', re.M | re.S)
    for path in sorted(INFRA.glob("*.tf")):
        for match in pattern.finditer(path.read_text()):
            blocks[match.group(1)] = match.group(2)
    return blocks


def test_terraform_fmt_is_clean() -> None:
    require_terraform()
    result = tf.run(["fmt", "-check", "-recursive", "-diff", str(INFRA)], check=False, capture=True)
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}"


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of infra/ after `terraform init` (providers from the mirror where there is one)."""
    require_terraform()
    workdir = copy_module(tmp_path_factory.mktemp("infra"))
    terraform(["init", "-backend=false", "-input=false", "-no-color"], workdir, os.environ)
    return workdir


def console(workdir: Path, expression: str, *args: str) -> tuple[int, str]:
    result = tf.run(
        ["console", "-no-color", *args],
        cwd=workdir,
        check=False,
        capture=True,
        input_text=expression + "\n",
    )
    return result.returncode, result.stdout + result.stderr


def test_terraform_validate(initialised: Path) -> None:
    result = terraform(["validate", "-no-color"], initialised, os.environ)
    assert "The configuration is valid" in result.stdout


def test_tfvars_example_passes_the_variable_validations(initialised: Path) -> None:
    example = INFRA / "terraform.tfvars.example"
    code, out = console(initialised, "local.mx_record", f"-var-file={example}")
    assert code == 0 and "Error" not in out, out
    assert '"10 inbound-smtp.eu-west-1.amazonaws.com"' in out


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("mail_domain", "Not A Domain"),
        ("submission_addresses", '["submit+tag@docs.example.com"]'),
        ("route53_zone_id", "zone-1"),
        ("log_retention_days", "42"),
        ("aws_endpoint_url", "localhost:5000"),
    ],
)
def test_free_form_variables_are_validated(initialised: Path, variable: str, value: str) -> None:
    required = {
        "mail_domain": "docs.example.com",
        "submission_addresses": '["submit@docs.example.com"]',
    }
    values = {**required, variable: value}
    # `terraform console` reports a failed validation but still exits 0.
    _, out = console(initialised, "var.region", *[f"-var={k}={v}" for k, v in values.items()])
    assert "Invalid value for variable" in out, out
    assert f'variable "{variable}"' in out


def test_every_variable_and_output_has_type_and_description() -> None:
    variables = top_level_blocks("variable")
    outputs = top_level_blocks("output")
    assert variables and outputs
    for name, body in variables.items():
        assert re.search(r"^  description\s*=", body, re.M), f"variable {name} has no description"
        assert re.search(r"^  type\s*=", body, re.M), f"variable {name} has no type"
    for name, body in outputs.items():
        assert re.search(r"^  description\s*=", body, re.M), f"output {name} has no description"


def test_outputs_the_cli_reads_exist() -> None:
    outputs = top_level_blocks("output")
    for name in (
        "bucket",
        "table",
        "region",
        "extract_function",
        "record_function",
        "rule_set",
        "rule",
        "submission_addresses",
        "mx_record",
    ):
        assert name in outputs, f"output {name} is missing"


def test_every_checkov_skip_gives_a_reason() -> None:
    skips = []
    for path in sorted(INFRA.glob("*.tf")):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                skips.append((path.name, line.strip()))
                assert re.search(r"checkov:skip=CKV2?_[A-Z0-9]+_\d+:\S.{10,}", line), (
                    f"{path.name}: checkov skip without a reason: {line.strip()}"
                )
    assert skips, "expected the reasoned skips in infra/"


def test_no_state_or_plan_in_the_repository() -> None:
    # The tests apply a copy of infra/ in a temporary directory; nothing lands here.
    leftovers = [
        p.relative_to(ROOT)
        for pattern in ("*.tfstate", "*.tfstate.*", "*.tfplan")
        for p in INFRA.rglob(pattern)
    ]
    assert not leftovers, f"terraform state or plans inside infra/: {leftovers}"


# tools/terraform.py


def fake_mirror(root: Path) -> Path:
    (root / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0").mkdir(parents=True)
    return root


def test_mirror_from_environment_variable_comes_first(tmp_path: Path) -> None:
    mirror = fake_mirror(tmp_path / "mirror")
    env = {tf.MIRROR_ENV: str(mirror), "HOME": str(tmp_path / "home")}
    assert tf.find_plugin_mirror(env) == mirror.resolve()


def test_mirror_in_home_is_found(tmp_path: Path) -> None:
    home = tmp_path / "home"
    fake_mirror(home / ".terraform.d" / "plugins")
    candidates = tf.candidate_mirrors({"HOME": str(home)})
    assert home / ".terraform.d" / "plugins" in candidates
    found = tf.find_plugin_mirror({"HOME": str(home), "XDG_DATA_DIRS": str(tmp_path / "none")})
    # A machine-wide mirror (e.g. /opt/tf-plugins) is searched before the home directory.
    assert found is not None


def test_cli_config_uses_the_mirror_and_never_the_registry_for_it(tmp_path: Path) -> None:
    text = tf.cli_config_text(tmp_path / 'we"ird')
    assert "filesystem_mirror" in text
    assert 'path    = "' in text and '\\"' in text  # the path is quoted, not pasted
    assert re.search(r'direct \{\s*exclude = \["registry.terraform.io/\*/\*"\]', text)


def test_cli_config_without_mirror_installs_from_registry() -> None:
    assert "provider_installation" not in tf.cli_config_text(None)


def test_environment_points_terraform_at_the_project_config(tmp_path: Path) -> None:
    env = tf.terraform_env({"TF_CLI_CONFIG_FILE": "/root/.terraformrc", "HOME": str(tmp_path)})
    assert env["TF_CLI_CONFIG_FILE"] == str(tf.CLI_CONFIG)
    assert tf.CLI_CONFIG.is_relative_to(ROOT / "build")
    assert tf.CLI_CONFIG.exists()
