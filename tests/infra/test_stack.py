"""infra/ applied to the emulator, its wiring checked through the AWS APIs, then destroyed.

The tests run in file order on one stack (one apply per session); the last one destroys it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import smtplib
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest

from mailroom.local.app import LocalMailroom
from mailroom.model import table_definition
from mailroom.settings import ALL_ENV, ENV_BUCKET, ENV_TABLE, Settings
from tests.infra.conftest import NAME_PREFIX, REGION, ROOT, SUBMISSION, Stack
from tests.infra.iam_rules import as_list, problems, state_documents

MAIL_DIR = ROOT / "events" / "mail"

pytestmark = [pytest.mark.slow, pytest.mark.infra]

HANDLERS = {
    "extract_function": "mailroom.handlers.extract_attachments.handler",
    "record_function": "mailroom.handlers.record_metadata.handler",
}
POWERTOOLS_ENV = (
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_LOG_LEVEL",
    "LOG_LEVEL",
    "POWERTOOLS_METRICS_NAMESPACE",
)


def stack_key_arn(stack: Stack) -> str:
    return str(stack.output("kms_key_arn"))


def function_config(stack: Stack, output: str) -> dict[str, Any]:
    config: dict[str, Any] = stack.emulator.client("lambda").get_function_configuration(
        FunctionName=stack.output(output)
    )
    return config


def test_active_rule_stores_raw_then_invokes_extraction(stack: Stack) -> None:
    active = stack.emulator.client("ses").describe_active_receipt_rule_set()
    assert active["Metadata"]["Name"] == stack.output("rule_set")
    [rule] = active["Rules"]
    assert rule["Name"] == stack.output("rule")
    assert rule["Enabled"] is True
    assert rule["TlsPolicy"] == "Require"
    assert rule["ScanEnabled"] is True
    assert rule["Recipients"] == [SUBMISSION] == stack.output("submission_addresses")

    # Position 1: the raw message under raw/; position 2: extraction, asynchronously.
    first, second = rule["Actions"]
    assert first == {"S3Action": {"BucketName": stack.output("bucket"), "ObjectKeyPrefix": "raw/"}}
    lambda_action = second["LambdaAction"]
    assert lambda_action["FunctionArn"].endswith(f":function:{stack.output('extract_function')}")
    assert lambda_action["InvocationType"] == "Event"


def test_bucket_notifies_record_metadata_for_incoming_only(stack: Stack) -> None:
    config = stack.emulator.client("s3").get_bucket_notification_configuration(
        Bucket=stack.output("bucket")
    )
    [target] = config["LambdaFunctionConfigurations"]
    assert target["LambdaFunctionArn"].endswith(f":function:{stack.output('record_function')}")
    assert target["Events"] == ["s3:ObjectCreated:*"]
    assert target["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "incoming/"}]
    assert not config.get("QueueConfigurations") and not config.get("TopicConfigurations")


def test_bucket_is_private_versioned_and_encrypted_with_the_stack_key(stack: Stack) -> None:
    s3 = stack.emulator.client("s3")
    bucket = stack.output("bucket")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    [sse] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    default = sse["ApplyServerSideEncryptionByDefault"]
    assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": stack_key_arn(stack)}
    key = stack.emulator.client("kms").get_key_rotation_status(KeyId=stack_key_arn(stack))
    assert key["KeyRotationEnabled"] is True

    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    raw = rules["expire-raw-messages"]
    assert raw["Filter"] == {"Prefix": "raw/"} and raw["Expiration"]["Days"] == 90
    assert rules["tidy-versions-and-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    assert logging["TargetBucket"] == stack.output("log_bucket")


def test_bucket_policy_requires_tls_and_lets_only_our_rule_write_raw(stack: Stack) -> None:
    policy = json.loads(
        stack.emulator.client("s3").get_bucket_policy(Bucket=stack.output("bucket"))["Policy"]
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    deny = by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    ses = by_sid["SesPutsRawMessages"]
    assert ses["Principal"] == {"Service": "ses.amazonaws.com"}
    assert ses["Action"] == "s3:PutObject"
    assert ses["Resource"].endswith(f":::{stack.output('bucket')}/raw/*")
    assert ses["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert ses["Condition"]["ArnLike"]["aws:SourceArn"].endswith(
        f":receipt-rule-set/{stack.output('rule_set')}:receipt-rule/{stack.output('rule')}"
    )


def test_table_is_the_one_the_code_defines(stack: Stack) -> None:
    ddb = stack.emulator.client("dynamodb")
    table = ddb.describe_table(TableName=stack.output("table"))["Table"]
    expected = table_definition(stack.output("table"))

    assert table["KeySchema"] == expected["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        expected["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    assert table["BillingModeSummary"]["BillingMode"] == expected["BillingMode"]
    applied = {
        i["IndexName"]: {"KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in table["GlobalSecondaryIndexes"]
    }
    wanted = {
        i["IndexName"]: {"KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in expected["GlobalSecondaryIndexes"]
    }
    assert applied == wanted

    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["SSEDescription"]["KMSMasterKeyArn"] == stack_key_arn(stack)
    backups = ddb.describe_continuous_backups(TableName=stack.output("table"))
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


@pytest.mark.parametrize("output", sorted(HANDLERS))
def test_function_environment_is_what_the_settings_object_requires(
    stack: Stack, output: str
) -> None:
    config = function_config(stack, output)
    env = config["Environment"]["Variables"]

    assert set(ALL_ENV) <= set(env), f"missing: {set(ALL_ENV) - set(env)}"
    assert set(POWERTOOLS_ENV) <= set(env), f"missing: {set(POWERTOOLS_ENV) - set(env)}"
    assert env[ENV_BUCKET] == stack.output("bucket")
    assert env[ENV_TABLE] == stack.output("table")
    settings = Settings.from_env(env)  # raises SettingsError naming every problem
    assert (settings.bucket, settings.table) == (stack.output("bucket"), stack.output("table"))
    assert (settings.raw_prefix, settings.incoming_prefix) == ("raw/", "incoming/")


@pytest.mark.parametrize("output", sorted(HANDLERS))
def test_function_runs_the_package_with_tracing_and_its_own_layer(
    stack: Stack, output: str
) -> None:
    config = function_config(stack, output)
    assert config["Handler"] == HANDLERS[output]
    assert config["Runtime"] == "python3.12"
    assert config["Architectures"] == ["arm64"]
    assert config["TracingConfig"] == {"Mode": "Active"}
    assert config["KMSKeyArn"] == stack_key_arn(stack)
    [layer] = config["Layers"]
    assert f":layer:{NAME_PREFIX}-deps:" in layer["Arn"]

    lam = stack.emulator.client("lambda")
    concurrency = lam.get_function_concurrency(FunctionName=stack.output(output))
    assert concurrency["ReservedConcurrentExecutions"] >= 1

    logs = stack.emulator.client("logs")
    [group] = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{stack.output(output)}")[
        "logGroups"
    ]
    assert group["retentionInDays"] == 365
    assert group["kmsKeyId"] == stack_key_arn(stack)


@pytest.mark.parametrize("output", sorted(HANDLERS))
def test_failed_invocations_go_to_an_encrypted_dead_letter_queue(stack: Stack, output: str) -> None:
    function = "extract_attachments" if output == "extract_function" else "record_metadata"
    sqs = stack.emulator.client("sqs")
    dlq_url = stack.output("dead_letter_queues")[function]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert dlq["KmsMasterKeyId"] == stack_key_arn(stack)
    assert dlq["MessageRetentionPeriod"] == "1209600"
    invoke = stack.emulator.client("lambda").get_function_event_invoke_config(
        FunctionName=stack.output(output)
    )
    assert invoke["MaximumRetryAttempts"] == 2

    # The emulator drops DeadLetterConfig, so the applied plan's configuration is checked: each
    # function's dead_letter_config targets its own queue. The emulator's answer is checked too
    # whenever it keeps the setting.
    [configured] = [
        r["expressions"]
        for r in stack.plan["configuration"]["root_module"]["resources"]
        if r["address"] == "aws_lambda_function.this"
    ]
    [target] = configured["dead_letter_config"]
    # aws_sqs_queue.dlq[each.key].arn: the queue of the function's own key
    assert set(target["target_arn"]["references"]) == {"aws_sqs_queue.dlq", "each.key"}
    assert function in stack.output("dead_letter_queues")
    dead_letter = function_config(stack, output).get("DeadLetterConfig")
    if dead_letter is not None:
        assert dead_letter["TargetArn"] == dlq["QueueArn"]


@pytest.mark.parametrize(
    ("output", "principal", "source"),
    [
        ("extract_function", "ses.amazonaws.com", ":receipt-rule-set/"),
        ("record_function", "s3.amazonaws.com", ":::"),
    ],
)
def test_invoke_permission_is_conditioned_on_source_account_and_arn(
    stack: Stack, output: str, principal: str, source: str
) -> None:
    policy = json.loads(
        stack.emulator.client("lambda").get_policy(FunctionName=stack.output(output))["Policy"]
    )
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": principal}
    assert statement["Action"] == "lambda:InvokeFunction"
    condition = {k.lower(): v for k, v in statement["Condition"].items()}
    [account] = condition["stringequals"].values()
    [arn] = condition["arnlike"].values()
    assert account == "123456789012"
    assert source in arn
    if output == "record_function":
        assert arn.endswith(f":::{stack.output('bucket')}")


def test_each_role_has_exactly_one_policy_document(stack: Stack) -> None:
    iam = stack.emulator.client("iam")
    for output in HANDLERS:
        role = function_config(stack, output)["Role"].rsplit("/", 1)[-1]
        assert len(iam.list_role_policies(RoleName=role)["PolicyNames"]) == 1
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []


def test_alarms_watch_errors_throttles_and_dead_letters(stack: Stack) -> None:
    alarms = stack.emulator.client("cloudwatch").describe_alarms(AlarmNamePrefix=NAME_PREFIX)
    by_metric: dict[str, int] = {}
    for alarm in alarms["MetricAlarms"]:
        assert alarm["AlarmActions"] == [stack.output("alarm_topic_arn")]
        by_metric[alarm["MetricName"]] = by_metric.get(alarm["MetricName"], 0) + 1
    assert by_metric == {"Errors": 2, "Throttles": 2, "ApproximateNumberOfMessagesVisible": 2}
    topic = stack.emulator.client("sns").get_topic_attributes(
        TopicArn=stack.output("alarm_topic_arn")
    )
    assert topic["Attributes"]["KmsMasterKeyId"] == stack_key_arn(stack)


def test_dns_records_are_published_in_the_zone(stack: Stack) -> None:
    route53 = stack.emulator.client("route53")
    zone_id = json.loads((stack.workdir / "terraform.tfvars.json").read_text())["route53_zone_id"]
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    mx = [r for r in records if r["Type"] == "MX"]
    assert [v["Value"] for v in mx[0]["ResourceRecords"]] == [stack.output("mx_record")]
    assert len([r for r in records if r["Type"] == "CNAME"]) == 3  # DKIM
    assert any(r["Name"].startswith("_amazonses.") for r in records if r["Type"] == "TXT")


def attachments_of(raw: bytes) -> dict[str, str]:
    """filename -> sha256 of each named part, found with the stdlib alone."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    found = {}
    for part in message.walk():
        name = part.get_filename()
        if name and not part.is_multipart():
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            found[name] = hashlib.sha256(data).hexdigest()
    return found


def test_mail_through_the_smtp_front_door_becomes_file_records(
    stack: Stack, tmp_path: Path
) -> None:
    """GIVEN the applied stack, WHEN a collaborator mails two PDFs to a plus-address through the
    local SMTP front door (acting as the active receipt rule), THEN the functions as configured
    in the emulator's Lambda API record each file, byte-exact, with sender and case."""
    raw = (MAIL_DIR / "collaborator-two-pdfs.eml").read_bytes()
    sender = parseaddr(str(email.message_from_bytes(raw)["From"]))[1].lower()
    user, domain = SUBMISSION.split("@")
    with LocalMailroom.attach(
        stack.emulator.endpoint, region=REGION, smtp_port=0, state_dir=tmp_path
    ) as local:
        # The front door found the applied stack's names through the rule and the function.
        assert local.config.bucket == stack.output("bucket")
        assert local.config.table == stack.output("table")
        assert local.frontdoor is not None
        with smtplib.SMTP(local.frontdoor.host, local.frontdoor.port, timeout=30) as smtp:
            smtp.ehlo("client.test")
            smtp.mail(sender)
            code, reply = smtp.rcpt(f"{user}+case-42@{domain}")
            assert code == 250, reply
            code, reply = smtp.data(raw)
            assert code == 250, reply
        message_id = reply.decode().split()[-1]
        [outcome] = local.wait_for_messages([message_id], timeout=90)

    assert outcome.dead_letters == []
    assert outcome.record is not None
    assert str(outcome.record.outcome) == "extracted"
    assert outcome.record.case == "case-42"
    files = {f.filename: f for f in outcome.files}
    assert {name: f.sha256 for name, f in files.items()} == attachments_of(raw)
    assert {f.sender for f in files.values()} == {sender}
    assert {f.case for f in files.values()} == {"case-42"}

    # Stored as the stack stores everything: under incoming/, with the bucket's KMS key.
    s3 = stack.emulator.client("s3")
    raw_object = s3.head_object(Bucket=stack.output("bucket"), Key=f"raw/{message_id}")
    assert raw_object["ContentLength"] > len(raw)  # as SES does, the front door adds headers
    assert raw_object["SSEKMSKeyId"] == stack_key_arn(stack)
    for record in files.values():
        assert record.file_id.startswith(f"incoming/{message_id}/")
        head = s3.head_object(Bucket=stack.output("bucket"), Key=record.file_id)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == stack_key_arn(stack)


def test_no_policy_document_in_the_state_is_too_broad(stack: Stack) -> None:
    documents = state_documents(stack)
    # Function roles, trust policies, bucket and key policies at least.
    assert len(documents) >= 8, [where for where, _ in documents]
    found = [f"{where}: {p}" for where, doc in documents for p in problems(doc)]
    assert not found, "\n".join(found)


def role_grants(stack: Stack, function: str) -> dict[str, set[str]]:
    """action -> resources of the function's one inline role policy, from the state."""
    [policy] = [
        r["values"]["policy"]
        for r in stack.resources()
        if r["type"] == "aws_iam_role_policy" and r["index"] == function
    ]
    grants: dict[str, set[str]] = {}
    for statement in as_list(json.loads(policy)["Statement"]):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            grants.setdefault(action, set()).update(as_list(statement["Resource"]))
    return grants


def test_each_function_may_do_what_its_handler_does_and_no_more(stack: Stack) -> None:
    bucket_arn = f"arn:aws:s3:::{stack.output('bucket')}"
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{stack.output('table')}"
    key = {stack.output("kms_key_arn")}

    extract = role_grants(stack, "extract_attachments")
    written = {f"{bucket_arn}/incoming/*", f"{bucket_arn}/quarantine/*"}
    # raw/ to read the message; incoming/ and quarantine/ to HEAD before a write (idempotency)
    assert extract.pop("s3:GetObject") == {f"{bucket_arn}/raw/*"} | written
    assert extract.pop("s3:ListBucket") == {bucket_arn}  # 404 rather than 403 for a new key
    assert extract.pop("s3:PutObject") == written
    assert extract.pop("s3:AbortMultipartUpload") == written
    assert extract.pop("dynamodb:PutItem") == {table_arn}

    record = role_grants(stack, "record_metadata")
    assert record.pop("s3:GetObject") == {f"{bucket_arn}/incoming/*"}
    assert record.pop("s3:ListBucket") == {bucket_arn}
    assert record.pop("dynamodb:PutItem") == {table_arn}

    for output, grants in (("extract_function", extract), ("record_function", record)):
        name = stack.output(output)
        assert grants.pop("kms:Decrypt") == key
        assert grants.pop("kms:GenerateDataKey") == key
        [dlq] = grants.pop("sqs:SendMessage")
        assert dlq.endswith(f":{name}-dlq")
        [logs] = grants.pop("logs:CreateLogStream")
        assert grants.pop("logs:PutLogEvents") == {logs}
        assert logs.endswith(f":log-group:/aws/lambda/{name}:*")
        # X-Ray has no resource-level permissions.
        assert grants.pop("xray:PutTraceSegments") == {"*"}
        assert grants.pop("xray:PutTelemetryRecords") == {"*"}
        assert grants == {}, f"{name} may do more than its handler needs: {grants}"


# Keep this last: it destroys the stack the tests above share.
def test_destroy_leaves_nothing_behind(stack: Stack) -> None:
    key_arn = stack_key_arn(stack)
    stack.destroy()
    client = stack.emulator.client

    assert [b["Name"] for b in client("s3").list_buckets()["Buckets"]] == []
    assert client("dynamodb").list_tables()["TableNames"] == []
    assert client("lambda").list_functions()["Functions"] == []
    layers = client("lambda").list_layers()["Layers"]
    assert [layer for layer in layers if layer.get("LatestMatchingVersion")] == []
    assert [r["RoleName"] for r in client("iam").list_roles()["Roles"]] == []
    assert client("sqs").list_queues().get("QueueUrls", []) == []
    assert client("sns").list_topics()["Topics"] == []
    assert client("sns").list_subscriptions()["Subscriptions"] == []
    assert client("ses").list_receipt_rule_sets()["RuleSets"] == []
    assert "Metadata" not in client("ses").describe_active_receipt_rule_set()
    assert client("ses").list_identities()["Identities"] == []
    assert client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"] == []
    assert client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    aliases = client("kms").list_aliases()["Aliases"]
    assert [a["AliasName"] for a in aliases if not a["AliasName"].startswith("alias/aws/")] == []
    # KMS never deletes at once: the key waits out its deletion window, then goes.
    key = client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
    zone_id = json.loads((stack.workdir / "terraform.tfvars.json").read_text())["route53_zone_id"]
    records = client("route53").list_resource_record_sets(HostedZoneId=zone_id)
    assert {r["Type"] for r in records["ResourceRecordSets"]} == {"NS", "SOA"}
    state = json.loads((stack.workdir / "terraform.tfstate").read_text())
    assert [r for r in state.get("resources", []) if r["mode"] == "managed"] == []
