"""The least-privilege checker (tests/infra/iam_rules.py) on documents that break each rule.

test_stack.py runs it over every policy document in the applied stack's state.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.iam_eval import Call, Decision, Request, evaluate, requests_for
from tests.infra.iam_eval import Stack as IamStack
from tests.infra.iam_rules import problems


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


# The evaluator (tests/infra/iam_eval.py) that judges what the emulator cannot.

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
READER = {
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/incoming/*"},
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEY,
            "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}},
        },
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/raw/*"},
    ]
}


@pytest.mark.parametrize(
    ("request_", "decision"),
    [
        (Request("s3:GetObject", "arn:aws:s3:::b/incoming/m/01-a.pdf"), Decision.ALLOWED),
        (Request("S3:getobject", "arn:aws:s3:::b/incoming/x"), Decision.ALLOWED),  # any case
        (Request("s3:GetObject", "arn:aws:s3:::b/raw/m"), Decision.EXPLICIT_DENY),
        (Request("s3:PutObject", "arn:aws:s3:::b/incoming/x"), Decision.IMPLICIT_DENY),
        (Request("s3:GetObject", "arn:aws:s3:::other/incoming/x"), Decision.IMPLICIT_DENY),
        (
            Request("kms:Decrypt", KEY, {"kms:ViaService": "s3.us-east-1.amazonaws.com"}),
            Decision.ALLOWED,
        ),
        # Directly, or through another service, the key is not usable.
        (Request("kms:Decrypt", KEY), Decision.IMPLICIT_DENY),
        (
            Request("kms:Decrypt", KEY, {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}),
            Decision.IMPLICIT_DENY,
        ),
    ],
)
def test_evaluator_decides_as_iam_does(request_: Request, decision: Decision) -> None:
    assert evaluate([READER], request_) == decision


def test_explicit_deny_in_any_document_wins() -> None:
    allow_all_s3 = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    raw = Request("s3:GetObject", "arn:aws:s3:::b/raw/m")
    assert evaluate([allow_all_s3], raw) == Decision.ALLOWED
    assert evaluate([allow_all_s3, READER], raw) == Decision.EXPLICIT_DENY


def test_calls_map_to_the_actions_iam_checks() -> None:
    stack = IamStack(region="us-east-1", account="123456789012", key_arn=KEY)
    get_version = Call("s3", "GetObject", {"Bucket": "b", "Key": "incoming/x", "VersionId": "1"})
    assert [r.action for r in requests_for(get_version, stack)] == [
        "s3:GetObjectVersion",
        "kms:Decrypt",
    ]
    query = Call("dynamodb", "Query", {"TableName": "t", "IndexName": "by_day"})
    [on_index, decrypt] = requests_for(query, stack)
    assert on_index.resource == "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/by_day"
    assert decrypt.context == {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}
    with pytest.raises(KeyError, match="no IAM mapping"):
        requests_for(Call("dynamodb", "Scan", {"TableName": "t"}), stack)


def test_deletes_and_updates_map_to_their_own_actions() -> None:
    stack = IamStack(region="us-east-1", account="123456789012", key_arn=KEY)
    current = Call("s3", "DeleteObject", {"Bucket": "b", "Key": "incoming/x"})
    version = Call("s3", "DeleteObject", {"Bucket": "b", "Key": "incoming/x", "VersionId": "1"})
    assert [r.action for r in requests_for(current, stack)] == ["s3:DeleteObject"]
    assert [r.action for r in requests_for(version, stack)] == ["s3:DeleteObjectVersion"]
    update = Call("dynamodb", "UpdateItem", {"TableName": "t", "Key": {}})
    [item, decrypt] = requests_for(update, stack)
    assert (item.action, item.resource) == ("dynamodb:UpdateItem", stack.table_arn("t"))
    assert decrypt.context == {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}


MARK_ONLY = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "dynamodb:UpdateItem",
            "Resource": "arn:aws:dynamodb:us-east-1:1:table/t",
            "Condition": {
                "ForAllValues:StringEquals": {
                    "dynamodb:Attributes": ["pk", "sk", "deleted", "deleted_by", "deleted_at"]
                }
            },
        }
    ]
}


def test_an_update_limited_by_attributes_allows_the_delete_mark_only() -> None:
    """The admin policy's delete mark: every attribute the request names must be listed."""
    iam = IamStack(region="us-east-1", account="1", key_arn="arn:aws:kms:us-east-1:1:key/k")
    mark = Call(
        "dynamodb",
        "UpdateItem",
        {
            "TableName": "t",
            "Key": {"pk": {"S": "MSG#m"}, "sk": {"S": "FILE#incoming/m/01-a"}},
            "UpdateExpression": "SET deleted = :t, deleted_by = :by, deleted_at = :at",
            "ConditionExpression": "attribute_exists(pk)",
            "ReturnValues": "ALL_NEW",
        },
    )
    [update, _] = requests_for(mark, iam)
    assert sorted(update.context["dynamodb:Attributes"]) == [
        "deleted",
        "deleted_at",
        "deleted_by",
        "pk",
        "sk",
    ]
    assert evaluate([MARK_ONLY], update) == Decision.ALLOWED
    for params in (
        {"UpdateExpression": "SET sender = :s"},
        {"UpdateExpression": "SET #n = :s", "ExpressionAttributeNames": {"#n": "sha256"}},
        {"UpdateExpression": "SET deleted = :t REMOVE legal_hold"},
    ):
        forged = Call("dynamodb", "UpdateItem", {**mark.params, **params})
        [request, _] = requests_for(forged, iam)
        assert evaluate([MARK_ONLY], request) == Decision.IMPLICIT_DENY, params
