"""AWS reads behind `mailroom preflight` (the Protocols in ports.py). Read-only calls:
ses:DescribeActiveReceiptRuleSet, ses:DescribeReceiptRuleSet,
ses:GetIdentityVerificationAttributes, lambda:GetAccountSettings,
lambda:GetFunctionConcurrency, sns:ListSubscriptionsByTopic."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from mailroom.adapters.inventory import confirmed_subscriptions
from mailroom.ports import ReceivingUnavailable

# What SES answers for a receiving call in a region that does not receive.
_NO_RECEIVING = {"InvalidAction", "UnknownOperationException", "UnsupportedOperation"}


class SesSetup:
    def __init__(self, client: Any) -> None:
        self._ses = client

    def active_rule_set(self) -> str | None:
        try:
            response = self._ses.describe_active_receipt_rule_set()
        except EndpointConnectionError as exc:
            raise ReceivingUnavailable(str(exc)) from exc
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NO_RECEIVING:
                raise ReceivingUnavailable(str(exc)) from exc
            raise
        name = (response.get("Metadata") or {}).get("Name")
        return str(name) if name else None

    def rule_set_exists(self, name: str) -> bool:
        try:
            self._ses.describe_receipt_rule_set(RuleSetName=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "RuleSetDoesNotExist":
                return False
            raise
        return True

    def domain_status(self, domain: str) -> str | None:
        response = self._ses.get_identity_verification_attributes(Identities=[domain])
        attributes = response.get("VerificationAttributes", {}).get(domain)
        return str(attributes["VerificationStatus"]) if attributes else None


class LambdaConcurrency:
    def __init__(self, client: Any) -> None:
        self._lambda = client

    def account(self) -> tuple[int, int]:
        limit = self._lambda.get_account_settings()["AccountLimit"]
        return int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"])

    def reserved(self, function_name: str) -> int | None:
        try:
            response = self._lambda.get_function_concurrency(FunctionName=function_name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        value = response.get("ReservedConcurrentExecutions")
        return int(value) if value is not None else None


class TopicSubscribers:
    def __init__(self, client: Any) -> None:
        self._sns = client

    def confirmed(self, topic_arn: str) -> int:
        return confirmed_subscriptions(self._sns, topic_arn)
