"""Issue 21 on the applied stack: routing rules in the functions' settings, the outcome-events
bus, the functions' PutEvents grant (test_stack.py's grants test), notify_email and webhook_url.

The emulator delivers bus events to SQS but not to SNS targets, and does not call API
destinations: the targets are checked as configured, the delivery by local mode's tests."""

from __future__ import annotations

import json

import pytest

from mailroom.receipts import ReceiptPolicy, ReceiptSettings
from mailroom.routing import load_rules
from mailroom.settings import Settings
from tests.infra.conftest import MAIL_DOMAIN, NAME_PREFIX, ROUTING_RULES, WEBHOOK_URL, Stack
from tests.infra.test_stack import function_config

pytestmark = [pytest.mark.slow, pytest.mark.infra]

NOTIFY = ["Message Quarantined", "Message Failed", "Message Needs Filing"]


def test_functions_file_by_the_rules_and_publish_on_the_stacks_bus(stack: Stack) -> None:
    bus = stack.emulator.client("events").describe_event_bus(Name=f"{NAME_PREFIX}-events")
    for output in ("extract_function", "record_function"):
        settings = Settings.from_env(function_config(stack, output)["Environment"]["Variables"])
        assert settings.routing == load_rules(json.dumps(ROUTING_RULES))
        assert settings.event_bus == bus["Name"]


def test_notify_email_gets_quarantined_failed_and_needs_filing(stack: Stack) -> None:
    events, sns = stack.emulator.client("events"), stack.emulator.client("sns")
    bus = f"{NAME_PREFIX}-events"
    rule = events.describe_rule(Name=f"{NAME_PREFIX}-notify", EventBusName=bus)
    assert json.loads(rule["EventPattern"]) == {"source": ["mailroom"], "detail-type": NOTIFY}
    [target] = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    topic = target["Arn"]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == stack.output("kms_key_arn")
    [statement] = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule["Arn"]}}
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", f"staff@{MAIL_DOMAIN}")


def test_webhook_goes_through_an_api_destination_whose_secret_is_not_in_state(
    stack: Stack,
) -> None:
    events = stack.emulator.client("events")
    destination = events.describe_api_destination(Name=f"{NAME_PREFIX}-webhook")
    assert (destination["InvocationEndpoint"], destination["HttpMethod"]) == (WEBHOOK_URL, "POST")
    [target] = events.list_targets_by_rule(
        Rule=f"{NAME_PREFIX}-webhook", EventBusName=f"{NAME_PREFIX}-events"
    )["Targets"]
    assert target["Arn"] == destination["ApiDestinationArn"]
    [connection] = [r for r in stack.resources() if r["type"] == "aws_cloudwatch_event_connection"]
    key = connection["values"]["auth_parameters"][0]["api_key"][0]
    assert key["value"] == "placeholder-set-outside-terraform"  # the real key never is
    assert "ignore_changes = [auth_parameters]" in (stack.workdir / "events.tf").read_text()


def test_receipts_function_answers_the_bus_and_may_send_only_as_receipt_from(
    stack: Stack,
) -> None:
    events, lam = stack.emulator.client("events"), stack.emulator.client("lambda")
    bus = f"{NAME_PREFIX}-events"
    rule = events.describe_rule(Name=f"{NAME_PREFIX}-receipts", EventBusName=bus)
    assert json.loads(rule["EventPattern"])["detail-type"] == [
        "Message Recorded",
        "Message Needs Filing",
        "Message Quarantined",
    ]
    [target] = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    config = lam.get_function_configuration(FunctionName=f"{NAME_PREFIX}-send-receipt")
    assert target["Arn"] == config["FunctionArn"]
    assert config["Handler"] == "mailroom.handlers.send_receipt.handler"
    settings = ReceiptSettings.from_env(config["Environment"]["Variables"])
    assert (settings.policy, settings.from_address) == (
        ReceiptPolicy.AUTHENTICATED,
        f"receipts@{MAIL_DOMAIN}",
    )
    [policy] = [
        json.loads(r["values"]["policy"])
        for r in stack.resources()
        if r["type"] == "aws_iam_role_policy" and r["name"] == "receipts"
    ]
    [send] = [s for s in policy["Statement"] if s["Sid"] == "SendReceiptsFromOneAddress"]
    assert send["Action"] == "ses:SendRawEmail"
    assert send["Resource"].endswith(f":identity/{MAIL_DOMAIN}")
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": f"receipts@{MAIL_DOMAIN}"}}
    [claims] = [s for s in policy["Statement"] if s["Sid"] == "ClaimAndCountReceipts"]
    assert claims["Resource"].endswith(f":table/{stack.output('table')}")
