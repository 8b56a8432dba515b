"""The least-privilege rules every IAM policy document of the stack must follow.

Rules: no "*" action anywhere; identity policies use no service-wide wildcard ("s3:*") and no
"*" resource for S3, DynamoDB, SQS or KMS actions; a resource policy never allows "*" principals
without a condition. In a key policy, Resource "*" means the key itself, so it is exempt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.infra.conftest import Stack

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
        # NotAction in a Deny denies everything but what it names (the legal-hold exception on
        # raw/, issue 22): only in an Allow does it grant more than it names.
        is_deny = statement.get("Effect") == "Deny"
        if ("NotAction" in statement and not is_deny) or "NotResource" in statement:
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
    documents: list[tuple[str, Document]] = []
    for resource in stack.resources():
        documents.extend(policy_documents(resource.get("values", {}), resource["address"]))
    return documents
