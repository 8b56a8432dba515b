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
from mailroom.model import table_definition
from mailroom.settings import Settings

EXTRACT_HANDLER = "mailroom.handlers.extract_attachments.handler"
RECORD_HANDLER = "mailroom.handlers.record_metadata.handler"
RUNTIME = "python3.12"
RULE_SET = "mailroom"
RULE_NAME = "mailroom-intake"
NOTIFICATION_ID = "incoming-to-record-metadata"

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

    @property
    def settings(self) -> Settings:
        return Settings(
            bucket=self.bucket,
            table=self.table,
            allowed_sender_domains=self.allowed_sender_domains,
        )

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


def provision(endpoint: Endpoint, config: StackConfig) -> None:
    """Create bucket, table, role, functions, receipt rule (active) and bucket notification."""
    settings = config.settings
    s3 = endpoint.client("s3")
    s3.create_bucket(
        Bucket=config.bucket,
        CreateBucketConfiguration={"LocationConstraint": config.region},
    )
    s3.put_bucket_versioning(Bucket=config.bucket, VersioningConfiguration={"Status": "Enabled"})

    ddb = endpoint.client("dynamodb")
    ddb.create_table(**table_definition(config.table))
    ddb.get_waiter("table_exists").wait(
        TableName=config.table, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )

    # moto refuses CreateFunction unless the role exists and Lambda may assume it.
    role = endpoint.client("iam").create_role(
        RoleName=f"{config.name_prefix}-functions",
        AssumeRolePolicyDocument=json.dumps(_ASSUME_LAMBDA),
    )["Role"]["Arn"]
    lam = endpoint.client("lambda")
    code = _placeholder_zip()
    arns: dict[str, str] = {}
    for short, handler in (
        ("extract-attachments", EXTRACT_HANDLER),
        ("record-metadata", RECORD_HANDLER),
    ):
        created = lam.create_function(
            FunctionName=f"{config.name_prefix}-{short}",
            Runtime=RUNTIME,
            Role=role,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=300,
            MemorySize=512,
            Environment={"Variables": config.function_env()},
        )
        arns[short] = created["FunctionArn"]

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
                        "FunctionArn": arns["extract-attachments"],
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
                    "LambdaFunctionArn": arns["record-metadata"],
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
