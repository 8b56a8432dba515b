"""The infra tier: infra/ checked statically, by checkov, and by applying it to the emulator.

The stack is applied once per session (per xdist worker; see pytest_configure) into a
temporary copy of infra/, so no state, plan or provider cache is ever left in the repository.
The emulator is moto's server on a free loopback port; credentials are fake.

infra/ itself knows nothing of the emulator: the copy gets tests/infra/overrides/
emulator_override.tf (no credential or region checks, path-style S3) and the provider finds
the emulator through AWS_ENDPOINT_URL (and dashboard_override.tf, for what moto lacks: see
that file). Destroying adds teardown_override.tf, the first step
of the documented teardown (the bucket, table and key are `prevent_destroy`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.ses.responses import EmailResponse

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
OVERRIDES = Path(__file__).resolve().with_name("overrides")
EMULATOR_OVERRIDE = OVERRIDES / "emulator_override.tf"
TEARDOWN_OVERRIDE = OVERRIDES / "teardown_override.tf"
# moto has no CloudFront response headers policies: the emulator's stack goes without one.
DASHBOARD_OVERRIDE = OVERRIDES / "dashboard_override.tf"
LOCK_FILE = INFRA / ".terraform.lock.hcl"
BUILD = ROOT / "build"
FUNCTION_ZIP = BUILD / "lambda" / "function.zip"
LAYER_ZIP = BUILD / "lambda" / "layer.zip"

sys.path.insert(0, str(ROOT / "tools"))
import terraform as tf  # noqa: E402  (tools/terraform.py, the wrapper `make` and users run)

REGION = "us-east-1"
MAIL_DOMAIN = "docs.example.com"
SUBMISSION = f"submit@{MAIL_DOMAIN}"
NAME_PREFIX = "mrtest"
ROUTING_RULES = {
    "default_case": "inbox",
    "rules": [{"name": "acme", "sender": "@acme.example", "case": "acme", "labels": ["client"]}],
}
WEBHOOK_URL = "https://hooks.example.com/mailroom"


def pytest_configure(config: pytest.Config) -> None:
    # Under xdist, run each test file on one worker: the tests that share the applied stack all
    # live in test_stack.py, so the stack is applied once while the other files run beside it.
    # This takes effect when the controller loads this file (`pytest -n 2 tests/infra`, as
    # `make infra-check` runs it); for the whole suite, `--dist loadfile` does the same.
    # (xdist's `loadgroup` does not group under pytest 9: it relabels node ids pytest ignores.)
    if not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadfile"


def require_terraform() -> str:
    binary = tf.terraform_binary()
    if binary is None:
        pytest.skip(
            "terraform is not installed: the infra tier (fmt, validate, apply to the emulator) "
            "needs it on PATH; see https://developer.hashicorp.com/terraform/install"
        )
    return binary


def terraform(
    args: list[str], cwd: Path, env: Mapping[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run terraform; on failure, fail the test with its output (not a bare exit code)."""
    result = tf.run(
        args,
        cwd=cwd,
        env=env,
        check=False,
        capture=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        pytest.fail(
            f"terraform {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


def copy_module(dest: Path, overrides: tuple[Path, ...] = ()) -> Path:
    """A working copy of infra/ (the .tf files and the committed provider lock file, so `init`
    checks the provider against it) plus test-only override files; state and .terraform stay
    out of git. Overrides already in infra/ (an operator's teardown) are never copied."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in INFRA.glob("*.tf"):
        if not path.name.endswith("_override.tf"):
            shutil.copy2(path, dest / path.name)
    shutil.copy2(LOCK_FILE, dest / LOCK_FILE.name)
    for path in overrides:
        shutil.copy2(path, dest / path.name)
    return dest


def fake_aws_env(endpoint: str | None) -> dict[str, str]:
    """os.environ with credentials that reach nothing real, and the emulator as endpoint."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"  # drop profiles, keys, endpoints
    }
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


@dataclass
class Emulator:
    endpoint: str
    env: dict[str, str]

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@dataclass
class Stack:
    """infra/ applied to the emulator."""

    emulator: Emulator
    workdir: Path
    env: dict[str, str]
    outputs: dict[str, Any]
    state: dict[str, Any]
    apply_seconds: float
    plan: dict[str, Any] = field(default_factory=dict)  # `terraform show -json` of the plan
    destroyed: bool = False
    # The account's active receipt rule set right after the first apply (None: none active).
    active_after_apply: str | None = None
    notes: list[str] = field(default_factory=list)

    def output(self, name: str) -> Any:
        self.check_applied()
        return self.outputs[name]["value"]

    def check_applied(self) -> None:
        """Fail a test that reads the stack after a test destroyed it: the emulator is empty
        then, and its checks would fail (or, worse, pass) for the wrong reason."""
        if self.destroyed:
            pytest.fail(
                "the stack was destroyed by an earlier test (test_destroy_leaves_nothing_behind):"
                " a test of the applied stack must come before it"
            )

    def resources(self) -> list[dict[str, Any]]:
        """Every resource and data source in the state, child modules included."""
        found: list[dict[str, Any]] = []
        modules = [self.state.get("values", {}).get("root_module", {})]
        while modules:
            module = modules.pop()
            found.extend(module.get("resources", []))
            modules.extend(module.get("child_modules", []))
        return found

    def destroy(self) -> float:
        """`terraform destroy`; returns how long it took."""
        if self.destroyed:
            return 0.0
        rule_set = self.output("rule_set")
        self.destroyed = True
        started = time.monotonic()
        # The documented teardown: SES refuses to delete the active set, and Terraform never
        # deactivates one; when (and only when) ours is active, deactivate it first.
        ses = self.emulator.client("ses")
        if (ses.describe_active_receipt_rule_set().get("Metadata") or {}).get("Name") == rule_set:
            ses.set_active_receipt_rule_set()
        # Then lift prevent_destroy with the override file.
        shutil.copy2(TEARDOWN_OVERRIDE, self.workdir / TEARDOWN_OVERRIDE.name)
        if not emulator_deletes_receipt_rules():
            # moto has no DeleteReceiptRule (the provider would retry it until it times out):
            # forget the rule, and deleting its rule set below removes it with the set.
            terraform(["state", "rm", "-no-color", RECEIPT_RULE], self.workdir, self.env)
        # Issue 22: destroying the Object Lock configuration is a PutObjectLockConfiguration
        # (Object Lock cannot be turned off), which moto refuses on a bucket holding objects
        # (AWS accepts it: ARCHITECTURE.md, Legal hold and retention). Nothing real is undone by
        # it, so it is forgotten, and the bucket goes with force_destroy.
        terraform(["state", "rm", "-no-color", OBJECT_LOCK], self.workdir, self.env)
        terraform(["destroy", "-auto-approve", "-input=false", "-no-color"], self.workdir, self.env)
        return time.monotonic() - started


RECEIPT_RULE = "aws_ses_receipt_rule.store_and_extract"
OBJECT_LOCK = "aws_s3_bucket_object_lock_configuration.documents[0]"


def emulator_deletes_receipt_rules() -> bool:
    return hasattr(EmailResponse, "delete_receipt_rule")


DOCUMENT_RETENTION_DAYS = 3650  # issue 22: documents expire (lifecycle), held versions never


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """moto server on a free loopback port, in its own process (see tests/infra/emulator.py)."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("emulator.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=fake_aws_env(None),
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        endpoint = f"http://127.0.0.1:{port}"
        yield Emulator(endpoint=endpoint, env=fake_aws_env(endpoint))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


WEB = ROOT / "web"
# Stands in for web/ while a checkout has none: a page in every form the upload handles.
SAMPLE_SITE = {
    "index.html": "<!doctype html><title>mailroom</title>\n",
    "app.js": "export {};\n",
    "style.css": "body { margin: 0; }\n",
    "img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    "config.json": '{"local": "never uploaded: Terraform writes config.json"}\n',
}


def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dashboard's page files the stack uploads: web/, or a sample while there is none."""
    if (WEB / "index.html").exists():
        return WEB
    sample = tmp_path_factory.mktemp("web")
    for name, text in SAMPLE_SITE.items():
        (sample / name).parent.mkdir(parents=True, exist_ok=True)
        (sample / name).write_text(text)
    return sample


TRUSTED_FORWARDERS = [MAIL_DOMAIN, "reception@partner.example"]
AUDIT_RETENTION_DAYS = 90


@pytest.fixture(scope="session")
def stack(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """infra/ applied once to the emulator; destroyed at the end unless a test already did."""
    require_terraform()
    for artefact in (FUNCTION_ZIP, LAYER_ZIP):
        if not artefact.exists():
            pytest.fail(f"{artefact.relative_to(ROOT)} is missing: run `make package` first")

    workdir = copy_module(tmp_path_factory.mktemp("stack"), (EMULATOR_OVERRIDE, DASHBOARD_OVERRIDE))
    # A hosted zone of the firm's, so the optional DNS records are applied too.
    zone = emulator.client("route53").create_hosted_zone(
        Name=MAIL_DOMAIN, CallerReference=f"mailroom-{time.time_ns()}"
    )
    variables = {
        "region": REGION,
        "name_prefix": NAME_PREFIX,
        "mail_domain": MAIL_DOMAIN,
        "submission_addresses": [SUBMISSION],
        "route53_zone_id": zone["HostedZone"]["Id"].rsplit("/", 1)[-1],
        "alarm_email": f"ops@{MAIL_DOMAIN}",
        "force_destroy": True,
        "kms_deletion_window_days": 7,
        # The opt-in canary is applied too (function, schedule, alarm).
        "canary_enabled": True,
        "function_zip": str(FUNCTION_ZIP),
        "layer_zip": str(LAYER_ZIP),
        "site_dir": str(site_dir(tmp_path_factory)),
        # Issue 21: rules rendered to the functions, and the optional outcome-event wiring.
        "routing_rules": ROUTING_RULES,
        "notify_email": f"staff@{MAIL_DOMAIN}",
        "webhook_url": WEBHOOK_URL,
        "receipt_policy": "authenticated",
        "receipt_from": f"receipts@{MAIL_DOMAIN}",
        # Staff whose authenticated forwards vouch for the original sender (a domain and an
        # address): test_stack checks they reach the functions' Settings.
        "trusted_forwarders": TRUSTED_FORWARDERS,
        # Issue 22: the audit trail's retention reaches Settings. The optional CloudTrail trail
        # is not applied: the emulator answers the provider's CreateTrail 404 (moto 5.2), so
        # test_stack checks it in a plan instead.
        "audit_retention_days": AUDIT_RETENTION_DAYS,
        # Issue 22: Object Lock (no default retention) for legal holds, and document expiry.
        "object_lock": True,
        "document_retention_days": DOCUMENT_RETENTION_DAYS,
    }
    (workdir / "terraform.tfvars.json").write_text(json.dumps(variables, indent=2))
    env = dict(emulator.env)
    # Parallel requests speed the apply up; the emulator handles them in threads.
    env.setdefault("TF_CLI_ARGS_apply", "-parallelism=20")
    env.setdefault("TF_CLI_ARGS_destroy", "-parallelism=20")

    terraform(["init", "-input=false", "-no-color"], workdir, env)
    started = time.monotonic()
    # Applied from a saved plan, whose configuration says what Terraform meant to set even
    # where the emulator drops a setting (and refreshed state would not show it).
    terraform(["plan", "-out=tfplan", "-input=false", "-no-color"], workdir, env, timeout=300)
    terraform(["apply", "-input=false", "-no-color", "tfplan"], workdir, env, timeout=900)
    apply_seconds = time.monotonic() - started
    ses = emulator.client("ses")
    active_after_apply = (ses.describe_active_receipt_rule_set().get("Metadata") or {}).get("Name")
    plan = json.loads(terraform(["show", "-json", "tfplan"], workdir, env).stdout)
    outputs = json.loads(terraform(["output", "-json"], workdir, env).stdout)
    state = json.loads(terraform(["show", "-json"], workdir, env).stdout)
    applied = Stack(emulator, workdir, env, outputs, state, apply_seconds, plan)
    applied.active_after_apply = active_after_apply
    # The documented one-time step after the first apply (docs/DEPLOY.md): activate the set.
    command = applied.output("activate_rule_set_command").split()
    assert command[:3] == ["aws", "ses", "set-active-receipt-rule-set"], command
    ses.set_active_receipt_rule_set(RuleSetName=command[command.index("--rule-set-name") + 1])
    print(f"\ninfra/ applied to the emulator in {apply_seconds:.0f} s", file=sys.stderr)
    try:
        yield applied
    finally:
        applied.destroy()


@pytest.fixture(autouse=True)
def _stack_still_applied(request: pytest.FixtureRequest) -> None:
    """Any test that asks for the applied stack fails, naming why, once a test destroyed it."""
    if "stack" in request.fixturenames:
        stack_ = request.getfixturevalue("stack")
        stack_.check_applied()
