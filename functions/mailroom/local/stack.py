"""Provision against the emulator exactly what infra/ provisions with Terraform.

The table comes from `mailroom.model.table_definition` (the one definition) and the functions'
environment from `Settings.to_env()`, so local mode cannot drift from what the code expects.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

from mailroom.local.emulator import Endpoint
from mailroom.local.outbox import bus_name, provision_events
from mailroom.model import TTL_ATTRIBUTE, table_definition
from mailroom.policy import SpamPolicy, VirusPolicy
from mailroom.receipts import ReceiptSettings
from mailroom.routing import RoutingRules
from mailroom.settings import (
    ENV_AUDIT_ORIGIN,
    ENV_DASHBOARD_ORIGIN,
    ENV_EXPORT_FUNCTION,
    ENV_EXPORT_SIGNING_KEY,
    ENV_EXTRACT_FUNCTION,
    Settings,
)

EXTRACT_HANDLER = "mailroom.handlers.extract_attachments.handler"
RECORD_HANDLER = "mailroom.handlers.record_metadata.handler"
API_HANDLER = "mailroom.handlers.api.handler"
EXPORT_HANDLER = "mailroom.handlers.export_case.handler"  # issue 22
RUNTIME = "python3.12"
RULE_SET = "mailroom"
RULE_NAME = "mailroom-intake"
NOTIFICATION_ID = "incoming-to-record-metadata"
EXTRACT = "extract-attachments"
RECORD = "record-metadata"
API = "api"
API_TIMEOUT_S = 30  # an HTTP API waits at most 30 s for its integration
EXPORT = "export-case"  # issue 22: builds export jobs (infra/: functions["export_case"])
EXPORT_TIMEOUT_S = 900  # as infra/: Lambda's longest

_ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True, slots=True)
class StackConfig:
    bucket: str = "mailroom-local"
    table: str = "mailroom-local"
    region: str = "eu-west-1"
    submission_addresses: tuple[str, ...] = ("submit@mailroom.test",)
    name_prefix: str = "mailroom-local"
    log_level: str = "INFO"
    allowed_sender_domains: frozenset[str] = field(default_factory=frozenset)
    # `mailroom local --trusted-forwarders`; and, TEST ONLY, a JSON file of DNS TXT records the
    # functions' DKIM checks read instead of DNS (`--dkim-test-records`).
    trusted_forwarders: frozenset[str] = field(default_factory=frozenset)
    dkim_test_records: str | None = None
    timeout_s: int = 300  # as infra/ sets them: enforced by the local runner
    memory_mb: int = 512
    routing: RoutingRules = field(default_factory=RoutingRules)  # `mailroom local --rules`
    receipts: ReceiptSettings = field(default_factory=ReceiptSettings)  # --receipt-policy
    # `mailroom local --spam-policy/--virus-policy` (the Terraform variables of the same names)
    spam_policy: SpamPolicy = SpamPolicy.TAG
    virus_policy: VirusPolicy = VirusPolicy.STRICT

    def function_name(self, short: str) -> str:
        return f"{self.name_prefix}-{short}"

    def dlq_name(self, short: str) -> str:
        return f"{self.name_prefix}-{short}-dlq"

    @property
    def settings(self) -> Settings:
        return Settings(
            bucket=self.bucket,
            table=self.table,
            allowed_sender_domains=self.allowed_sender_domains,
            routing=self.routing,
            event_bus=bus_name(self.name_prefix),
            trusted_forwarders=self.trusted_forwarders,
            dkim_test_records=self.dkim_test_records,
            mail_domain=self.mail_domain,
            spam_policy=self.spam_policy,
            virus_policy=self.virus_policy,
        )

    @property
    def mail_domain(self) -> str | None:
        """The stack's own domain (infra/: var.mail_domain): the submission addresses'."""
        first = self.submission_addresses[0] if self.submission_addresses else ""
        return first.rpartition("@")[2].lower() or None

    def function_env(self) -> dict[str, str]:
        return {
            **self.settings.to_env(),
            "POWERTOOLS_SERVICE_NAME": "mailroom",
            "POWERTOOLS_METRICS_NAMESPACE": "mailroom",
            "POWERTOOLS_LOG_LEVEL": self.log_level,
        }


def _placeholder_zip() -> bytes:
    # moto only stores the code; the runner imports the handlers from this installation.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(
            "README.txt", "mailroom local mode: code runs from the installed package\n"
        )
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class Provisioned:
    """Names the CLI and the runner need: functions, their DLQs, the rule set."""

    functions: dict[str, str]  # short name (EXTRACT, RECORD) -> function name
    dlq_urls: dict[str, str]  # short name -> queue URL
    rule_set: str = RULE_SET
    outbox_url: str = ""  # issue 21: the queue the bus delivers to (local/outbox.py)
    export_key: str = ""  # issue 22: the export signing key's ARN (infra/kms.tf)

    def dlq_by_function(self) -> dict[str, str]:
        return {self.functions[short]: url for short, url in self.dlq_urls.items()}


def provision(endpoint: Endpoint, config: StackConfig) -> Provisioned:
    """Create bucket, table, role, DLQs, functions, receipt rule (active), bucket notification."""
    settings = config.settings
    s3 = endpoint.client("s3")
    # With S3 Object Lock (issue 22: legal holds tried end to end), no default retention, as
    # `object_lock = true` in Terraform. At creation: the emulator refuses to enable it on a
    # bucket that holds objects, and `--data` restores objects after this.
    s3.create_bucket(
        Bucket=config.bucket,
        CreateBucketConfiguration={"LocationConstraint": config.region},
        ObjectLockEnabledForBucket=True,
    )
    s3.put_bucket_versioning(Bucket=config.bucket, VersioningConfiguration={"Status": "Enabled"})

    ddb = endpoint.client("dynamodb")
    ddb.create_table(**table_definition(config.table))
    ddb.get_waiter("table_exists").wait(
        TableName=config.table, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    # As infra/dynamodb.tf: a probe's records expire (the emulator stores the setting only).
    ddb.update_time_to_live(
        TableName=config.table,
        TimeToLiveSpecification={"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
    )

    # moto refuses CreateFunction unless the role exists and Lambda may assume it.
    role = endpoint.client("iam").create_role(
        RoleName=f"{config.name_prefix}-functions",
        AssumeRolePolicyDocument=json.dumps(_ASSUME_LAMBDA),
    )["Role"]["Arn"]
    lam = endpoint.client("lambda")
    sqs = endpoint.client("sqs")
    code = _placeholder_zip()
    arns: dict[str, str] = {}
    names: dict[str, str] = {}
    dlq_urls: dict[str, str] = {}
    export_key = provision_export_key(endpoint, config.name_prefix)
    for short, handler in (
        (EXTRACT, EXTRACT_HANDLER),
        (RECORD, RECORD_HANDLER),
        (EXPORT, EXPORT_HANDLER),
    ):
        # As infra/lambda.tf: a dead-letter queue per function (the body is the failed event).
        dlq_urls[short] = sqs.create_queue(
            QueueName=config.dlq_name(short),
            Attributes={"MessageRetentionPeriod": "1209600"},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_urls[short], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        created = lam.create_function(
            FunctionName=config.function_name(short),
            Runtime=RUNTIME,
            Role=role,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=EXPORT_TIMEOUT_S if short == EXPORT else config.timeout_s,
            MemorySize=config.memory_mb,
            Environment={
                "Variables": {
                    **config.function_env(),
                    **({ENV_EXPORT_SIGNING_KEY: export_key} if short == EXPORT else {}),
                }
            },
            DeadLetterConfig={"TargetArn": dlq_arn},
        )
        arns[short] = created["FunctionArn"]
        names[short] = created["FunctionName"]

    ses = endpoint.client("ses")
    ses.create_receipt_rule_set(RuleSetName=RULE_SET)
    ses.create_receipt_rule(
        RuleSetName=RULE_SET,
        Rule={
            "Name": RULE_NAME,
            "Enabled": True,
            "TlsPolicy": "Require",
            "Recipients": list(config.submission_addresses),
            "ScanEnabled": True,
            # Order matters: the raw message must be in S3 before the function reads it.
            "Actions": [
                {
                    "S3Action": {
                        "BucketName": config.bucket,
                        "ObjectKeyPrefix": settings.raw_prefix,
                    }
                },
                {
                    "LambdaAction": {
                        "FunctionArn": arns[EXTRACT],
                        "InvocationType": "Event",
                    }
                },
            ],
        },
    )
    ses.set_active_receipt_rule_set(RuleSetName=RULE_SET)

    s3.put_bucket_notification_configuration(
        Bucket=config.bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": NOTIFICATION_ID,
                    "LambdaFunctionArn": arns[RECORD],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [{"Name": "prefix", "Value": settings.incoming_prefix}]
                        }
                    },
                }
            ]
        },
    )
    outbox_url = provision_events(endpoint, config.name_prefix)  # issue 21
    return Provisioned(
        functions=names,
        dlq_urls=dlq_urls,
        outbox_url=outbox_url,
        export_key=export_key,
    )


def provision_export_key(endpoint: Endpoint, name_prefix: str) -> str:
    """As infra/kms.tf: the asymmetric key case exports are signed with (issue 22)."""
    kms = endpoint.client("kms")
    arn = kms.create_key(
        Description=f"mailroom {name_prefix}: signs case exports (SHA256SUMS)",
        KeySpec="ECC_NIST_P256",
        KeyUsage="SIGN_VERIFY",
    )["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=f"alias/{name_prefix}-export-signing", TargetKeyId=arn)
    return str(arn)


def provision_api(endpoint: Endpoint, config: StackConfig, dashboard_origin: str) -> str:
    """The `api` function, as infra/ creates it; its name. Synchronous (no DLQ).

    Its environment is the shared settings plus the api's own: CORS for the dashboard's origin
    (known once the local HTTP server has its port); upload caps and link lifetime are left to
    `ApiSettings`' defaults, as in Terraform unless a variable overrides them.
    """
    role = endpoint.client("iam").get_role(RoleName=f"{config.name_prefix}-functions")["Role"]
    created = endpoint.client("lambda").create_function(
        FunctionName=config.function_name(API),
        Runtime=RUNTIME,
        Role=role["Arn"],
        Handler=API_HANDLER,
        Code={"ZipFile": _placeholder_zip()},
        Timeout=API_TIMEOUT_S,
        MemorySize=config.memory_mb,
        Environment={
            "Variables": {
                **config.function_env(),
                ENV_DASHBOARD_ORIGIN: dashboard_origin,
                # Issue 22: releases go to the extract function (an Invoke the local runner
                # takes, as Lambda would: the local stand-in for iam_api.tf's grant).
                ENV_EXTRACT_FUNCTION: config.function_name(EXTRACT),
                ENV_EXPORT_FUNCTION: config.function_name(EXPORT),  # issue 22
                ENV_AUDIT_ORIGIN: "local",  # issue 22: its audit entries say where they came from
            }
        },
    )
    name: str = created["FunctionName"]
    return name
