"""The least-privilege checker (tests/infra/iam_rules.py) on documents that break each rule.

test_stack.py runs it over every policy document in the applied stack's state.
"""

from __future__ import annotations

from typing import Any

import pytest

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
