"""Least privilege, read from the applied state: every IAM policy document the stack holds.

Rules: no "*" action anywhere; identity policies use no service-wide wildcard ("s3:*") and no
"*" resource for S3, DynamoDB, SQS or KMS actions; a resource policy never allows "*" principals
without a condition. In a key policy, Resource "*" means the key itself, so it is exempt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.conftest import APPLY_GROUP, Stack

RESTRICTED_SERVICES = {"s3", "dynamodb", "sqs", "kms"}
_WILDCARD_ARN = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:(\*|[A-Za-z-]+/\*)|arn:[^:]+:s3:::\*")

Document = dict[str, Any]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(value: Any, where: str) -> Iterator[tuple[str, Document]]:
    """Every JSON policy document found in a (nested) state value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from policy_documents(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from policy_documents(item, f"{where}[{i}]")
    elif isinstance(value, str) and '"Statement"' in value:
        document = json.loads(value)
        if isinstance(document, dict) and "Statement" in document:
            yield where, document


def is_wildcard_resource(resource: str) -> bool:
    return resource == "*" or bool(_WILDCARD_ARN.fullmatch(resource))


def problems(document: Document) -> list[str]:
    """What breaks the rules in one policy document."""
    found: list[str] = []
    statements = as_list(document["Statement"])
    resource_policy = any("Principal" in s or "NotPrincipal" in s for s in statements)
    key_policy = resource_policy and all(
        a.startswith("kms:") for s in statements for a in as_list(s.get("Action", []))
    )
    for statement in statements:
        sid = statement.get("Sid", "?")
        if "NotAction" in statement or "NotResource" in statement:
            found.append(f"{sid}: NotAction/NotResource grants more than it names")
        actions = as_list(statement.get("Action", []))
        resources = as_list(statement.get("Resource", []))
        allow = statement.get("Effect", "Allow") == "Allow"
        if "*" in actions:
            found.append(f"{sid}: '*' action")
        if allow and not resource_policy:
            found.extend(f"{sid}: service-wide action {a}" for a in actions if a.endswith(":*"))
        restricted = [a for a in actions if a.split(":", 1)[0] in RESTRICTED_SERVICES]
        if allow and restricted and not key_policy:
            found.extend(
                f"{sid}: {restricted} on wildcard resource {r}"
                for r in resources
                if is_wildcard_resource(r)
            )
        principal = statement.get("Principal")
        if allow and principal in ("*", {"AWS": "*"}) and not statement.get("Condition"):
            found.append(f"{sid}: allows any principal without a condition")
    return found


def state_documents(stack: Stack) -> list[tuple[str, Document]]:
    documents = []
    for resource in stack.resources():
        documents.extend(policy_documents(resource.get("values", {}), resource["address"]))
    return documents


# The checker itself, on documents that break each rule.


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "arn:aws:dynamodb:r:1:*"},
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "x"},
    ],
)
def test_checker_flags(statement: dict[str, Any]) -> None:
    assert problems({"Version": "2012-10-17", "Statement": [statement]})


def test_checker_accepts_scoped_statements() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/raw/*"},
            {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"},
        ]
    }
    assert problems(document) == []


# The applied stack.


@pytest.mark.slow
@pytest.mark.infra
@pytest.mark.xdist_group(APPLY_GROUP)
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


@pytest.mark.slow
@pytest.mark.infra
@pytest.mark.xdist_group(APPLY_GROUP)
def test_each_function_may_do_what_its_handler_does_and_no_more(stack: Stack) -> None:
    bucket_arn = f"arn:aws:s3:::{stack.output('bucket')}"
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{stack.output('table')}"
    key = {stack.output("kms_key_arn")}

    extract = role_grants(stack, "extract_attachments")
    assert extract.pop("s3:GetObject") == {f"{bucket_arn}/raw/*"}
    assert extract.pop("s3:PutObject") == {f"{bucket_arn}/incoming/*", f"{bucket_arn}/quarantine/*"}
    assert extract.pop("dynamodb:PutItem") == {table_arn}

    record = role_grants(stack, "record_metadata")
    assert record.pop("s3:GetObject") == {f"{bucket_arn}/incoming/*"}
    assert record.pop("s3:GetObjectVersion") == {f"{bucket_arn}/incoming/*"}
    assert record.pop("dynamodb:PutItem") == {table_arn}
    assert record.pop("dynamodb:GetItem") == {table_arn}

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
