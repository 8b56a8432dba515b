"""The emulator the infra tier applies infra/ to: moto server on a free loopback port, in a
process of its own.

moto keeps its resources per process, and other tests in a pytest process reset them (moto's
mock_aws, the local stack's emulator), which would wipe the applied stack mid-session. So the
stack lives here, and the tests reach it over HTTP only.

Prints the port on its first line, then serves until its standard input closes.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import logging
import re
import sys
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.dynamodb.responses import DynamoHandler
from moto.events.models import Rule
from moto.iam.access_control import (
    IAMPolicyStatement,
    IAMRequest,
    PermissionResult,
    S3IAMRequest,
)
from moto.s3 import notifications
from moto.s3.models import FakeDeleteMarker
from moto.server import ThreadedMotoServer
from moto.utilities.arns import parse_arn


def _no_docker_lambda() -> None:
    # On PutObject moto would run the notified function itself, in Docker; the test's bucket
    # dispatcher (mailroom.local) delivers the events to the real handlers instead.
    def _skip(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        return None

    if hasattr(notifications, "_invoke_awslambda"):
        notifications._invoke_awslambda = _skip


def _conditions_as_in_aws() -> None:
    """A statement whose condition keys the request does not carry does not apply (AWS's rule
    for a missing key). moto offers no condition values (no aws:SourceArn, no
    aws:SecureTransport) and counts such a condition as met, so the bucket's TLS-only deny
    would refuse every object request, TLS or not.
    """
    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        incoming = incoming_condition_values or getattr(_REQUEST_CONTEXT, "values", None) or {}
        condition = self._statement.get("Condition") or {}
        keys = {key for operator in condition.values() for key in operator}
        if not keys <= set(incoming):
            return PermissionResult.NEUTRAL
        if condition and set(condition) <= set(SET_OPERATORS):
            # moto knows no set operators: ForAllValues, every value the request carries
            # matches one listed; ForAnyValue, at least one does.
            for operator, tests in condition.items():
                for key, wanted in tests.items():
                    if not SET_OPERATORS[operator](incoming[key], _listed(wanted)):
                        return PermissionResult.NEUTRAL
            bare = IAMPolicyStatement(
                {k: v for k, v in self._statement.items() if k != "Condition"}
            )
            return original(bare, action, resource, principal, None)
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


# S3 operations whose IAM action is not named after them, with and without a version id
# ("Required permissions for Amazon S3 API operations":
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html, and
# HeadObject's own page: "you must have the s3:GetObject permission", s3:GetObjectVersion for a
# version: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
_S3_ACTIONS: dict[str, tuple[str, str]] = {
    "HeadObject": ("GetObject", "GetObjectVersion"),
    "GetObject": ("GetObject", "GetObjectVersion"),
    "DeleteObject": ("DeleteObject", "DeleteObjectVersion"),
    "GetObjectTagging": ("GetObjectTagging", "GetObjectVersionTagging"),
    "HeadBucket": ("ListBucket", "ListBucket"),
    "ListObjects": ("ListBucket", "ListBucket"),
    "ListObjectsV2": ("ListBucket", "ListBucket"),
    "ListObjectVersions": ("ListBucketVersions", "ListBucketVersions"),
    "CreateMultipartUpload": ("PutObject", "PutObject"),
    "UploadPart": ("PutObject", "PutObject"),
    "CompleteMultipartUpload": ("PutObject", "PutObject"),
    "AbortMultipartUpload": ("AbortMultipartUpload", "AbortMultipartUpload"),
}


FOR_ALL_VALUES = "ForAllValues:StringEquals"


def _listed(wanted: Any) -> list[str]:
    return [str(w) for w in (wanted if isinstance(wanted, list) else [wanted])]


def _like(value: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


SET_OPERATORS: dict[str, Any] = {
    FOR_ALL_VALUES: lambda values, wanted: set(values) <= set(wanted),
    "ForAllValues:StringLike": lambda values, wanted: all(_like(v, wanted) for v in values),
    "ForAnyValue:StringLike": lambda values, wanted: any(_like(v, wanted) for v in values),
}
_REQUEST_CONTEXT = threading.local()  # condition values of the request being authorised
_EXPRESSION_WORDS = {"set", "remove", "add", "delete", "and", "or", "not", "in", "between"}
_NAME = re.compile(r"(?<![:#\w])([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")


def update_attributes(body: dict[str, Any]) -> list[str]:
    """The top-level attribute names an UpdateItem request accesses (dynamodb:Attributes): its
    key, the names its expressions use (directly or through ExpressionAttributeNames) and
    those of the legacy AttributeUpdates/Expected parameters
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html)."""
    names = set(body.get("Key") or {}) | set(body.get("AttributeUpdates") or {})
    names |= set(body.get("Expected") or {})
    names |= set((body.get("ExpressionAttributeNames") or {}).values())
    for field in ("UpdateExpression", "ConditionExpression"):
        for name in _NAME.findall(body.get(field) or ""):
            if name.lower() not in _EXPRESSION_WORDS:
                names.add(name)
    return sorted(names)


def _dynamodb_attributes_as_in_aws() -> None:
    """moto passes no condition values for identity policies; AWS gives UpdateItem the
    `dynamodb:Attributes` it accesses, which the staff admin policy's delete mark is limited
    to. Carry them for the request being authorised."""
    original = IAMRequest.check_action_permitted

    def check_action_permitted(self: IAMRequest, resource: str) -> None:
        values: dict[str, Any] = {}
        body = json.loads(self._body or b"{}") if self._action.startswith("dynamodb:") else {}
        if self._action == "dynamodb:UpdateItem":
            values["dynamodb:Attributes"] = update_attributes(body)
        if self._action == "dynamodb:PutItem":  # issue 22: the audit entries' grants
            values["dynamodb:Attributes"] = sorted(body.get("Item") or {})
        key = (body.get("Item") or body.get("Key") or {}).get("pk")
        if (
            self._action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
            and key
        ):
            # the partition key of the item written (AWS's dynamodb:LeadingKeys)
            values["dynamodb:LeadingKeys"] = [str(next(iter(key.values())))]
        _REQUEST_CONTEXT.values = values
        try:
            original(self, resource)
        finally:
            _REQUEST_CONTEXT.values = {}

    IAMRequest.check_action_permitted = check_action_permitted  # type: ignore[method-assign]


def _s3_actions_as_in_aws() -> None:
    """moto 5.2.6 authorises an S3 request by its operation name (`s3:HeadObject`, `s3:GetObject`
    for a version), where AWS checks the IAM action the operation needs (`s3:GetObject`, or
    `s3:GetObjectVersion` for a version). Since s3transfer 0.19 every download starts with a
    HeadObject, so a least-privilege policy (no `s3:HeadObject` exists to grant) was refused.
    Name the action AWS checks.
    """
    original = S3IAMRequest.check_action_permitted

    def check_action_permitted(self: S3IAMRequest, resource: str) -> None:
        service, _, operation = self._action.partition(":")
        if operation in _S3_ACTIONS:
            query = parse_qs(urlsplit(self._path).query, keep_blank_values=True)
            plain, versioned = _S3_ACTIONS[operation]
            self._action = f"{service}:{versioned if 'versionId' in query else plain}"
        original(self, resource)

    S3IAMRequest.check_action_permitted = check_action_permitted  # type: ignore[method-assign]


def _dynamodb_resources_as_in_aws() -> None:
    """With request authentication on (POST /moto-api/reset-auth), moto checks DynamoDB calls
    against the caller's IAM policies, but always for resource "*": a policy scoped to a
    table, as every real one is, would never match. Name the table (or index) each call is for,
    as AWS does (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html),
    so tests/infra can run the CLI with nothing but the staff reader policy.
    """

    def _determine_resource(self: DynamoHandler) -> str:
        body = getattr(self, "body", None) or {}
        table = body.get("TableName") if isinstance(body, dict) else None
        if not table:
            return "*"
        arn = f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{table}"
        index = body.get("IndexName")
        return f"{arn}/index/{index}" if index else arn

    DynamoHandler._determine_resource = _determine_resource  # type: ignore[attr-defined]


def _delete_markers_can_be_deleted() -> None:
    """Deleting a key of a bucket whose versioning was just suspended (a `destroy` suspends it
    while it empties the bucket) disposes of every version of the key; moto's delete markers
    (left by the dashboard's objects and by a file deleted through the API) have no dispose()
    and the request fails with a 500, which the provider retries until it times out."""
    if not hasattr(FakeDeleteMarker, "dispose"):

        def dispose(self: FakeDeleteMarker, garbage: bool = False) -> None:
            return None

        FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]


def _put_events_as_in_aws() -> None:
    """PutEvents accepts an event whatever its rules' targets do: EventBridge delivers to
    targets afterwards, on its own, and a target's failure never reaches the publisher. moto
    delivers inside PutEvents and raises NotImplementedError for a Lambda or SNS target (the
    stack's receipts and notify_email rules), which answered 500 to the extract function. Here
    moto delivers what it can (SQS, logs, buses); other targets are skipped, as AWS would
    deliver them out of band (their wiring is checked as configured: test_stack.py)."""
    delivers = ("sqs", "logs")

    def deliverable(target: dict[str, Any]) -> bool:
        arn = parse_arn(target["Arn"])
        return arn.service in delivers or (
            arn.service == "events" and arn.resource_type in ("", "event-bus")
        )

    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        view = copy.copy(self)  # moto serves requests in threads: never change the rule itself
        view.targets = [t for t in self.targets if deliverable(t)]
        original(view, original_event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _no_docker_lambda()
    _conditions_as_in_aws()
    _s3_actions_as_in_aws()
    _dynamodb_resources_as_in_aws()
    _dynamodb_attributes_as_in_aws()
    _delete_markers_can_be_deleted()
    _put_events_as_in_aws()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(port, flush=True)
    sys.stdin.read()  # until the test session closes the pipe (or ends)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
