"""A small IAM policy evaluator, for the facts the emulator cannot check.

moto enforces IAM for S3 (and, with tests/infra/emulator.py, DynamoDB), but never for the KMS
calls S3 and DynamoDB make on a caller's behalf, and never with condition keys such as
kms:ViaService. Those calls are evaluated here against the policy documents, following AWS's
evaluation logic for one account's identity policies
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins, otherwise an Allow is needed, otherwise the call is implicitly denied.
A condition whose key the request does not carry is not met.

Supported: Action/NotAction and Resource with `*` and `?` wildcards, and the condition
operators the stack's policies use (StringEquals, StringLike, ArnEquals, ArnLike, Bool, and
ForAllValues:StringEquals and ForAllValues:StringLike over a multi-valued key such as
dynamodb:Attributes or dynamodb:LeadingKeys). Anything else
raises, so a new operator is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

from tests.infra.emulator import update_attributes

ALLOW = "Allow"
DENY = "Deny"


class Decision(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "not allowed"


@dataclass(frozen=True)
class Request:
    """One authorised action: what an API call needs, on which resource, with which context."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)  # a str, or a list of them
    why: str = ""  # the API call it stands for, for messages

    def __str__(self) -> str:
        extra = f" {dict(self.context)}" if self.context else ""
        return f"{self.action} on {self.resource}{extra} ({self.why})"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=512)
def _pattern(glob: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)


def _matches(globs: Sequence[str], value: str, *, case_sensitive: bool = True) -> bool:
    return any(_pattern(g, case_sensitive).fullmatch(value) for g in globs)


def _condition_met(
    operator: str, key: str, wanted: Sequence[str], context: Mapping[str, Any]
) -> bool:
    if key not in context:
        return False
    actual = context[key]
    if operator == "ForAllValues:StringEquals":  # every value the request carries is listed
        return set(_as_list(actual)) <= set(wanted)
    if operator == "ForAllValues:StringLike":  # every value matches one of the patterns
        return all(_matches(wanted, value) for value in _as_list(actual))
    if operator == "ForAnyValue:StringLike":  # at least one value matches one listed
        return any(_matches(wanted, v) for v in _as_list(actual))
    if operator in ("StringEquals", "ArnEquals"):
        return actual in wanted
    if operator in ("StringLike", "ArnLike"):
        return _matches(wanted, actual)
    if operator == "Bool":
        return actual.lower() in (w.lower() for w in wanted)
    raise NotImplementedError(f"condition operator {operator} is not supported here")


def _statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not _matches(_as_list(statement["Action"]), request.action, case_sensitive=False):
            return False
    elif _matches(_as_list(statement["NotAction"]), request.action, case_sensitive=False):
        return False
    if "Resource" in statement:
        if not _matches(_as_list(statement["Resource"]), request.resource):
            return False
    elif _matches(_as_list(statement["NotResource"]), request.resource):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_met(
                operator, key, [str(w) for w in _as_list(wanted)], request.context
            ):
                return False
    return True


def evaluate(documents: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """The decision of a principal's identity policies for one request."""
    allowed = False
    for document in documents:
        for statement in _as_list(document["Statement"]):
            if not _statement_applies(statement, request):
                continue
            if statement.get("Effect") == DENY:
                return Decision.EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == ALLOW
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


@dataclass(frozen=True)
class Call:
    """One AWS API call a client made (recorded from botocore's provide-client-params event)."""

    service: str
    operation: str
    params: Mapping[str, Any]

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


@dataclass(frozen=True)
class Stack:
    region: str
    account: str
    key_arn: str  # the customer-managed key of objects and table
    partition: str = "aws"

    def table_arn(self, table: str) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{table}"

    def object_arn(self, bucket: str, key: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}/{key}"

    def via(self, service: str) -> dict[str, str]:
        return {"kms:ViaService": f"{service}.{self.region}.amazonaws.com"}


def requests_for(call: Call, stack: Stack) -> list[Request]:
    """What IAM authorises for one API call, KMS calls made on the caller's behalf included.

    Actions per the Service Authorization Reference (S3: HeadObject and GetObject need
    s3:GetObject, or s3:GetObjectVersion with a VersionId; multipart parts need s3:PutObject).
    S3 decrypts an SSE-KMS object's data key with the caller's permissions, and generates one
    for a put (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html);
    DynamoDB uses the table's customer-managed key on the caller's behalf
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html).
    An unknown call raises KeyError: it must be added here before a policy can be judged.
    """
    p = call.params
    why = str(call)
    if call.service == "dynamodb" and call.operation in ("GetItem", "Query", "BatchGetItem"):
        action = call.operation
        tables = list(p["RequestItems"]) if action == "BatchGetItem" else [p["TableName"]]
        found = []
        for table in tables:
            resource = stack.table_arn(table)
            if p.get("IndexName"):
                resource += f"/index/{p['IndexName']}"
            found.append(Request(f"dynamodb:{action}", resource, why=why))
        decrypt = Request("kms:Decrypt", stack.key_arn, stack.via("dynamodb"), why=why)
        return [*found, decrypt]
    if (call.service, call.operation) == ("dynamodb", "PutItem"):
        context = {  # issue 22: the audit entries' grants name the key and the attributes
            "dynamodb:Attributes": sorted(p["Item"]),
            "dynamodb:LeadingKeys": [str(next(iter(p["Item"]["pk"].values())))],
        }
        return [
            Request("dynamodb:PutItem", stack.table_arn(p["TableName"]), context, why=why),
            Request("kms:Decrypt", stack.key_arn, stack.via("dynamodb"), why=why),
        ]
    if (call.service, call.operation) == ("dynamodb", "UpdateItem"):
        attributes: dict[str, Any] = {"dynamodb:Attributes": update_attributes(dict(p))}
        if "pk" in (p.get("Key") or {}):
            attributes["dynamodb:LeadingKeys"] = [str(next(iter(p["Key"]["pk"].values())))]
        return [
            Request("dynamodb:UpdateItem", stack.table_arn(p["TableName"]), attributes, why=why),
            Request("kms:Decrypt", stack.key_arn, stack.via("dynamodb"), why=why),
        ]
    if call.service == "s3":
        if call.operation == "DeleteObject":
            # With a VersionId, the version itself is destroyed: another permission.
            action = "s3:DeleteObjectVersion" if p.get("VersionId") else "s3:DeleteObject"
            return [Request(action, stack.object_arn(p["Bucket"], p["Key"]), why=why)]
        if call.operation in ("GetObject", "HeadObject"):
            action = "s3:GetObjectVersion" if p.get("VersionId") else "s3:GetObject"
            return [
                Request(action, stack.object_arn(p["Bucket"], p["Key"]), why=why),
                Request("kms:Decrypt", stack.key_arn, stack.via("s3"), why=why),
            ]
        if call.operation in ("PutObject", "CreateMultipartUpload"):
            return [
                Request("s3:PutObject", stack.object_arn(p["Bucket"], p["Key"]), why=why),
                Request("kms:GenerateDataKey", stack.key_arn, stack.via("s3"), why=why),
            ]
        if call.operation in ("UploadPart", "CompleteMultipartUpload"):
            return [
                Request("s3:PutObject", stack.object_arn(p["Bucket"], p["Key"]), why=why),
                Request("kms:Decrypt", stack.key_arn, stack.via("s3"), why=why),
            ]
        if call.operation == "AbortMultipartUpload":
            return [
                Request("s3:AbortMultipartUpload", stack.object_arn(p["Bucket"], p["Key"]), why=why)
            ]
        if call.operation in ("ListObjectsV2", "ListObjects"):
            return [Request("s3:ListBucket", f"arn:{stack.partition}:s3:::{p['Bucket']}", why=why)]
        # Issue 22: legal holds (per version), the versions of one key, the bucket's lock.
        if call.operation in ("PutObjectLegalHold", "GetObjectLegalHold"):
            resource = stack.object_arn(p["Bucket"], p["Key"])
            return [Request(f"s3:{call.operation}", resource, why=why)]
        if call.operation == "ListObjectVersions":
            bucket = f"arn:{stack.partition}:s3:::{p['Bucket']}"
            context = {"s3:prefix": p.get("Prefix", "")}
            return [Request("s3:ListBucketVersions", bucket, context, why=why)]
        if call.operation == "GetObjectLockConfiguration":
            bucket = f"arn:{stack.partition}:s3:::{p['Bucket']}"
            return [Request("s3:GetBucketObjectLockConfiguration", bucket, why=why)]
    if (call.service, call.operation) == ("sts", "GetCallerIdentity"):
        return []  # needs no permission
    raise KeyError(f"no IAM mapping for {call}: add it to tests/infra/iam_eval.py")
