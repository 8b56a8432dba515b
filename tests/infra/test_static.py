"""infra/ without AWS: formatting, validation, conventions, and the terraform wrapper."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import terraform as tf  # tools/terraform.py (conftest puts tools/ on sys.path)

from tests.infra.conftest import (
    DASHBOARD_OVERRIDE,
    EMULATOR_OVERRIDE,
    INFRA,
    LOCK_FILE,
    ROOT,
    TEARDOWN_OVERRIDE,
    copy_module,
    require_terraform,
    terraform,
)

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


REQUIRED = {
    "mail_domain": "docs.example.com",
    "submission_addresses": '["submit@docs.example.com"]',
    "alarm_email": "ops@docs.example.com",
}


def invalid_variables(workdir: Path, values: dict[str, str]) -> set[str]:
    """Names of the variables whose validation fails for `values` (on top of REQUIRED)."""
    merged = {**REQUIRED, **values}
    args = [f"-var={k}={v}" for k, v in merged.items() if v is not None]
    # `terraform console` reports a failed validation but still exits 0.
    _, out = console(workdir, "var.region", *args)
    assert "undeclared variable" not in out, out
    return set(re.findall(r'variable "([a-z0-9_]+)"', out))


# One `terraform console` per case costs seconds, so the independent cases share one run.
INVALID = {
    "mail_domain": "Not A Domain",
    "submission_addresses": '["submit+tag@docs.example.com"]',
    "route53_zone_id": "zone-1",
    "log_retention_days": "42",
    "virus_policy": "lenient",
    "spam_policy": "drop",
    "async_event_age_alarm_seconds": "21600",  # events are gone to the DLQ by then
    # Integers are whole numbers: 1.5 would reach the functions and fail every cold start.
    "raw_transition_days": "1.5",
    "noncurrent_version_retention_days": "1.5",
    "kms_deletion_window_days": "7.5",
    "extraction_limits": "{max_depth = 1.5}",
    "lambda_memory_mb": "{extract_attachments = 1024.5}",
    "lambda_timeout_seconds": "{record_metadata = 59.5}",
    "lambda_reserved_concurrency": "{record_metadata = 2.5}",
    "lambda_max_retry_attempts": "1.5",
    "dlq_age_alarm_hours": "0.5",
    "upload_max_bytes": "5368709121",  # over 5 GiB: one POST cannot carry it
    "upload_types": '["Application/PDF"]',
    "download_link_seconds": "301",  # links last at most 5 minutes
    "cognito_domain_prefix": "firm-cognito",  # Cognito refuses its own name in a prefix
    "staff_mfa": "OFF",
    "staff_threat_protection": "ON",
    "api_throttle": "{rate_limit = 0.5}",
    "api_latency_alarm_ms": "50",
    "dashboard_price_class": "PriceClass_Cheap",
    "site_dir": "web/",
    "routing_rules": '{rules = [{name = "a", sender = "@acme.example"}]}',  # sets nothing
    "notify_email": "not an address",
    "webhook_url": "http://hooks.example.com/x",  # https only
    "receipt_policy": "always",
    "receipt_from": "Receipts@Docs.example.com",
    "receipt_rate_per_hour": "2.5",
    "trusted_forwarders": '["Firm.example", "@firm.example"]',
}


def test_variables_are_validated(initialised: Path) -> None:
    assert invalid_variables(initialised, INVALID) == set(INVALID)


@pytest.mark.parametrize("days", ["30", "400.5"])  # not after the 30-day transition; whole
def test_raw_retention_is_whole_and_after_the_transition(initialised: Path, days: str) -> None:
    assert invalid_variables(initialised, {"raw_retention_days": days}) == {"raw_retention_days"}


def test_ia_transitions_wait_the_30_days_s3_requires(initialised: Path) -> None:
    for storage_class in ("STANDARD_IA", "ONEZONE_IA"):
        early = {"raw_transition_storage_class": storage_class, "raw_transition_days": "29"}
        assert invalid_variables(initialised, early) == {"raw_transition_storage_class"}
        on_time = {"raw_transition_storage_class": storage_class, "raw_transition_days": "30"}
        assert invalid_variables(initialised, on_time) == set()
    glacier = {"raw_transition_storage_class": "GLACIER_IR", "raw_transition_days": "1"}
    assert invalid_variables(initialised, glacier) == set()
    # GLACIER needs a restore before reprocessing. (Checked on its own: Terraform skips a
    # validation that refers to another variable whose own validation failed.)
    restore = {"raw_transition_storage_class": "GLACIER"}
    assert invalid_variables(initialised, restore) == {"raw_transition_storage_class"}


def test_no_reserved_concurrency_unless_asked(initialised: Path) -> None:
    """AWS keeps 100 executions unreserved, so a default reservation fails in new accounts."""
    code, out = console(
        initialised,
        "concat([for f in values(local.functions) : f.concurrency],"
        " [var.lambda_reserved_concurrency.api])",
        *[f"-var={k}={v}" for k, v in REQUIRED.items()],
    )
    # extract_attachments, record_metadata, export_case (issue 22), and the api
    assert code == 0 and out.count("null") == 4, out
    assert invalid_variables(initialised, {"lambda_reserved_concurrency": "{api = 0}"}) == {
        "lambda_reserved_concurrency"
    }
    assert invalid_variables(initialised, {"lambda_reserved_concurrency": "{api = 5}"}) == set()
    for path in (INFRA / "lambda.tf", INFRA / "api.tf"):
        assert "coalesce(" in path.read_text() and "-1) # -1: no reservation" in path.read_text()


def test_account_wide_names_carry_the_region() -> None:
    """IAM and CloudFront names are account-wide: a second region must not collide."""
    text = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    kinds = (
        "aws_iam_role",
        "aws_iam_policy",
        "aws_cloudfront_origin_access_control",
        "aws_cloudfront_response_headers_policy",
    )
    found = re.findall(
        rf'^resource "({"|".join(kinds)})" "([^"]+)" \{{\n(.*?)^\}}', text, re.M | re.S
    )
    assert len(found) >= 6, found
    for kind, name, body in found:
        [line] = [ln for ln in body.splitlines() if re.match(r"\s*name\s*=", ln)]
        assert "${var.region}" in line, f"{kind}.{name}: {line.strip()}"


def test_alarms_send_ok_only_when_asked() -> None:
    text = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    assert "ok_actions          = [aws_sns_topic" not in text
    assert text.count("ok_actions          = local.alarm_ok_actions") >= 7
    assert "alarm_ok_actions = var.alarm_ok_notifications ? [aws_sns_topic.alarms.arn] : []" in text


def test_topic_and_queues_refuse_requests_without_tls() -> None:
    text = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    for resource in (
        'resource "aws_sns_topic_policy" "alarms"',
        'resource "aws_sqs_queue_policy" "dlq"',
    ):
        assert resource in text
    for document in (
        'data "aws_iam_policy_document" "alarm_topic"',
        'data "aws_iam_policy_document" "dlq"',
    ):
        body = text.split(document, 1)[1].split("\n}\n", 1)[0]
        assert 'variable = "aws:SecureTransport"' in body and 'effect    = "Deny"' in body


def test_the_canary_alarm_treats_silence_as_a_missing_canary() -> None:
    """The per-failure alarms watch metrics published only on failure (missing = nothing
    failed); the canary's metric is published every interval, so missing = broken."""
    text = (INFRA / "canary.tf").read_text()
    alarm = text.split('resource "aws_cloudwatch_metric_alarm" "canary" {', 1)[1].split("\n}\n")[0]
    assert 'treat_missing_data  = "breaching"' in alarm
    assert 'metric_name         = "CanaryDelivered"' in alarm
    assert "period              = var.canary_interval_minutes * 60" in alarm
    assert "count = local.canary_count" in alarm  # opt-in
    handler = (ROOT / "functions" / "mailroom" / "handlers" / "canary.py").read_text()
    assert 'name="CanaryDelivered"' in handler and 'name="CanaryLatency"' in handler
    assert '"mailroom.handlers.canary.handler"' in text


def test_canary_bound_is_under_its_interval(initialised: Path) -> None:
    late = {"canary_interval_minutes": "15", "canary_bound_minutes": "15"}
    assert invalid_variables(initialised, late) == {"canary_bound_minutes"}
    assert invalid_variables(initialised, {"canary_interval_minutes": "4"}) == {
        "canary_interval_minutes"
    }


def test_activation_is_never_terraforms() -> None:
    """The provider's delete of aws_ses_active_receipt_rule_set deactivates whatever set is
    active (SetActiveReceiptRuleSet with no name); its data source fails when none is. Neither
    is used, and a state that still holds the activation forgets it without destroying it."""
    text = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    assert 'resource "aws_ses_active_receipt_rule_set"' not in text
    assert 'data "aws_ses_active_receipt_rule_set"' not in text
    removed = text.split("removed {", 1)[1].split("\n}\n", 1)[0]
    assert "from = aws_ses_active_receipt_rule_set.this" in removed
    assert "destroy = false" in removed


def test_valid_values_pass_the_same_validations(initialised: Path) -> None:
    good = {
        "virus_policy": "fail_only",
        "spam_policy": "quarantine",
        "raw_retention_days": "400",
        "raw_transition_days": "90",
        "extraction_limits": "{max_depth = 8}",
        "lambda_memory_mb": "{extract_attachments = 2048, api = 1024}",
        "upload_types": '["application/pdf", "image/png"]',
        "cognito_domain_prefix": "firm-staff-1",
        "staff_mfa": "OPTIONAL",
        "staff_threat_protection": "ENFORCED",
        "trusted_forwarders": '["firm.example", "reception@partner.example"]',
    }
    assert invalid_variables(initialised, good) == set()


def test_alarms_need_a_subscriber_unless_waived_on_purpose(initialised: Path) -> None:
    assert invalid_variables(initialised, {"alarm_email": None}) == {"alarm_email"}  # type: ignore[dict-item]
    waived = {"alarm_email": None, "alarms_without_subscriber": "true"}
    assert invalid_variables(initialised, waived) == set()  # type: ignore[arg-type]


def test_number_variables_accept_only_whole_numbers() -> None:
    for name, body in top_level_blocks("variable").items():
        if re.search(r"^  type\s*=.*number", body, re.M | re.S) or "optional(number" in body:
            assert "floor(" in body or "contains(" in body, f"{name} accepts fractions"


NEW_VARIABLES = (
    "lambda_reserved_concurrency",
    "alarm_ok_notifications",
    "canary_enabled",
    "canary_interval_minutes",
    "canary_bound_minutes",
    "trusted_forwarders",
    "virus_policy",
    "spam_policy",
    "expand_archives",
    "keep_body",
    "raw_retention_days",
    "raw_transition_days",
    "raw_transition_storage_class",
    "alarms_without_subscriber",
    "async_event_age_alarm_seconds",
    "dlq_age_alarm_hours",
    "upload_max_bytes",
    "upload_types",
    "download_link_seconds",
    "cognito_domain_prefix",
    "staff_mfa",
    "staff_threat_protection",
    "api_throttle",
    "api_latency_alarm_ms",
    "dashboard_price_class",
    "site_dir",
    "probe_expiry_days",  # issue 18
    "routing_rules",
    "notify_email",
    "webhook_url",
    "receipt_policy",
    "receipt_from",
    "receipt_firm_name",
    "receipt_contact",
    "receipt_rate_per_hour",
    "audit_retention_days",  # issue 22
    "cloudtrail_data_events",  # issue 22
)


def test_new_variables_are_described_validated_and_in_the_example() -> None:
    variables = top_level_blocks("variable")
    example = (INFRA / "terraform.tfvars.example").read_text()
    for name in NEW_VARIABLES:
        body = variables[name]
        assert "description" in body and "type" in body, name
        if "type        = bool" not in body:
            assert "validation {" in body, f"{name} is not validated"
        assert re.search(rf"^#? ?{name}\s*=", example, re.M), f"{name} not in the example"


def test_production_module_carries_no_emulator_plumbing() -> None:
    text = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    for plumbing in ("endpoints {", "skip_credentials_validation", "aws_endpoint_url", "emulated"):
        assert plumbing not in text, f"infra/ mentions {plumbing}"
    assert "skip_credentials_validation" in EMULATOR_OVERRIDE.read_text()


PROTECTED = {
    "aws_s3_bucket": "documents",
    "aws_dynamodb_table": "documents",
    "aws_kms_key": "this",
}


def test_bucket_table_and_key_are_prevent_destroy() -> None:
    pattern = re.compile(r'^resource "([^"]+)" "([^"]+)" \{\n(.*?)^\}', re.M | re.S)
    blocks = {
        (m.group(1), m.group(2)): m.group(3)
        for path in INFRA.glob("*.tf")
        for m in pattern.finditer(path.read_text())
    }
    for kind, name in PROTECTED.items():
        assert re.search(r"lifecycle \{\s*prevent_destroy = true\s*\}", blocks[(kind, name)]), (
            f"{kind}.{name} is not prevent_destroy"
        )
    override = TEARDOWN_OVERRIDE.read_text()
    for kind, name in PROTECTED.items():
        assert f'resource "{kind}" "{name}"' in override
    assert override.count("prevent_destroy = false") == len(PROTECTED)


def test_provider_lock_file_is_committed_with_a_hash() -> None:
    text = LOCK_FILE.read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in text
    assert re.search(r'"h1:[A-Za-z0-9+/=]{44}"', text)
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(LOCK_FILE)], cwd=ROOT, check=False
    ).returncode
    assert ignored == 1, "infra/.terraform.lock.hcl is git-ignored"


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
        # the operations commands
        "extract_function_name",
        "record_function_name",
        "extract_dlq_url",
        "record_dlq_url",
        "receipt_rule_set_name",
        "receipt_rule_name",
        "alarm_topic_arn",
        # staff access
        "reader_policy_arn",
        "uploader_policy_arn",
        "admin_policy_arn",
        "staff_groups",
        # the staff dashboard
        "api_url",
        "api_function_name",
        "dashboard_url",
        "user_pool_id",
        "user_pool_client_id",
        "cognito_domain",
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


def nested_block(text: str, start: str) -> str:
    """The body of the block opening with `start` (terraform fmt indents `}` like `start`)."""
    at = text.index(start)
    indent = text[:at].rsplit("\n", 1)[-1]
    end = text.index(f"\n{indent}}}", at)
    return text[at + len(start) : end]


def settings(body: str) -> set[str]:
    """A block's lines, whitespace-normalised (terraform fmt aligns the `=`)."""
    return {" ".join(line.split()) for line in body.splitlines() if line.strip()}


@pytest.mark.parametrize("behavior", ["default_cache_behavior {", "ordered_cache_behavior {"])
def test_dashboard_override_changes_only_the_response_headers_policy(behavior: str) -> None:
    """The emulator's stack goes without the response headers policy (moto has none): each of
    the override's cache behaviours must be the module's, minus that one line; the
    distribution is applied disabled and nothing else differs."""
    original = nested_block((INFRA / "dashboard.tf").read_text(), behavior)
    override = nested_block(DASHBOARD_OVERRIDE.read_text(), behavior)
    policy_line = "response_headers_policy_id = aws_cloudfront_response_headers_policy.dashboard.id"

    assert policy_line in settings(original)
    assert settings(override) == settings(original) - {policy_line}
    assert "count = 0" in DASHBOARD_OVERRIDE.read_text()
    # and the distribution is applied disabled (a faster destroy), nothing else at its top level
    top = (
        DASHBOARD_OVERRIDE.read_text()
        .split('"dashboard" {', 2)[2]
        .split("default_cache_behavior")[0]
    )
    assert settings(top) == {"enabled = false"}
    module = (INFRA / "dashboard.tf").read_text().split('resource "aws_cloudfront_distribution"')[1]
    assert "enabled = true" in settings(module.split("default_cache_behavior")[0])


API_PREFIX = "/api"


def terraform_api_routes() -> set[str]:
    """The route keys of the HTTP API, as infra/api.tf lists them (local.api_routes), without
    the /api prefix every one of them has (the dashboard's distribution forwards /api/*)."""
    text = (INFRA / "api.tf").read_text()
    assert f'api_path_prefix = "{API_PREFIX}"' in text
    block = text.split("api_routes = toset([", 1)[1].split("])", 1)[0]
    routes = set(re.findall(r'"([A-Z]+ /[^"]+)"', block))
    assert routes and all(r.split(" ", 1)[1].startswith(API_PREFIX + "/") for r in routes), routes
    return {r.replace(f" {API_PREFIX}/", " /", 1) for r in routes}


def test_http_api_routes_are_those_the_handler_serves() -> None:
    routes = terraform_api_routes()
    assert routes == {
        "GET /files",
        "GET /files/{proxy+}",  # handlers/api.canonical_path: decoded keys keep their slashes
        "DELETE /files/{proxy+}",
        "POST /uploads",
        "GET /messages",
        "GET /messages/{proxy+}",
        "POST /messages/{proxy+}",  # /messages/{id}/file (issue 21), .../release (issue 22)
        "GET /quarantine",  # issue 22
        "POST /cases/{case}/export",  # issue 22: start an export job
        "GET /exports/{job}",  # issue 22: follow it
        "GET /audit",  # the audit trail (issue 22)
        "POST /cases/{case}/hold",  # legal hold (issue 22)
    }


def test_local_mode_routes_what_the_http_api_routes() -> None:
    """`mailroom local` stands in for the HTTP API (mailroom.local.httpapi, once it exists)."""
    httpapi = pytest.importorskip("mailroom.local.httpapi")
    local = {route.key for route in getattr(httpapi, "ROUTES", ())}
    assert local == terraform_api_routes(), "mailroom local and infra/api.tf route different paths"


def test_upload_keys_cannot_be_overwritten_by_the_bucket_policy() -> None:
    """The emulator evaluates no bucket-policy condition, so the statement is checked here:
    a PutObject/CompleteMultipartUpload under incoming/up- without If-None-Match is denied,
    to everyone but the api role (presigned POSTs carry no conditional header)."""
    text = (INFRA / "s3.tf").read_text()
    match = re.search(r'statement \{\n\s+sid\s+= "DenyUploadOverwrites"\n(.*?)\n  \}\n', text, re.S)
    assert match, "infra/s3.tf has no DenyUploadOverwrites statement"
    body = match.group(1)
    assert re.search(r'effect\s+= "Deny"', body)
    assert re.search(r'actions\s+= \["s3:PutObject"\]', body)
    assert 'resources = ["${aws_s3_bucket.documents.arn}/${local.incoming_prefix}up-*"]' in body
    conditions = re.findall(
        r'condition \{\s+test\s+= "(\w+)"\s+variable = "([\w:-]+)"\s+values\s+= \[(.*?)\]', body
    )
    assert conditions == [
        ("Null", "s3:if-none-match", '"true"'),
        ("Bool", "s3:ObjectCreationOperation", '"true"'),
        ("ArnNotEquals", "aws:PrincipalArn", "aws_iam_role.api.arn"),
    ]
    # After every statement whose principal is "*" that the emulator must read (it stops there).
    assert text.index('sid       = "DenyUploadOverwrites"') > text.index('"SesPutsRawMessages"')


# The API behind the dashboard's distribution. The emulator has no cache or origin request
# policies (and the override drops the response headers policy), so these are checked here.
# The managed policies' ids are AWS's own, listed in "Use managed cache policies"
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html)
# and "Use managed origin request policies"
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def test_distribution_serves_the_api_under_api_uncached_with_the_viewers_headers() -> None:
    text = (INFRA / "dashboard.tf").read_text()
    assert f'caching_disabled_policy_id              = "{CACHING_DISABLED}"' in text
    assert f'all_viewer_except_host_header_policy_id = "{ALL_VIEWER_EXCEPT_HOST_HEADER}"' in text
    behavior = settings(nested_block(text, "ordered_cache_behavior {"))
    assert {
        'path_pattern = "${local.api_path_prefix}/*"',
        'target_origin_id = "api"',
        'viewer_protocol_policy = "https-only"',  # a redirected POST or DELETE loses its body
        'allowed_methods = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]',
        "cache_policy_id = local.caching_disabled_policy_id",
        "origin_request_policy_id = local.all_viewer_except_host_header_policy_id",
    } <= behavior
    assert text.count("ordered_cache_behavior {") == 1
    origins = text.split("origin {")[1:]
    [api] = [o for o in origins if 'origin_id   = "api"' in o]
    assert "domain_name = local.api_origin_domain" in api
    assert 'origin_protocol_policy = "https-only"' in api
    origin_domain = 'trimprefix(aws_apigatewayv2_api.staff.api_endpoint, "https://")'
    assert re.search(rf"api_origin_domain\s+= {re.escape(origin_domain)}", text)
    # The page is told to call the API on its own origin.
    assert 'apiUrl = "${local.dashboard_url}${local.api_path_prefix}"' in text


def test_page_csp_connects_to_itself_cognito_and_the_bucket_only() -> None:
    text = (INFRA / "dashboard.tf").read_text()
    csp = text.split("content_security_policy = join(", 1)[1].split("\n  ])", 1)[0]
    connect = csp.split("\"connect-src 'self'\",", 1)[1].split("]),", 1)[0]
    sources = [line.strip().rstrip(",") for line in connect.strip().splitlines()]
    assert sources == [
        "local.cognito_domain_url",
        '"https://${local.bucket_name}.s3.amazonaws.com"',
        '"https://${local.bucket_name}.s3.${var.region}.amazonaws.com"',
    ]
    assert "execute-api" not in csp


def test_api_has_no_cors_configuration() -> None:
    """One origin: the page calls /api on itself, so no other origin may read an answer."""
    assert "cors_configuration" not in (INFRA / "api.tf").read_text()
