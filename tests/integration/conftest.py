"""Handlers against moto: real S3 and DynamoDB calls, in-process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from mailroom.adapters.catalog import Catalog
from mailroom.adapters.s3 import S3Store
from mailroom.handlers.runtime import runtime
from mailroom.model import table_definition

BUCKET = "mailroom-test-documents"
TABLE = "mailroom-test"


@dataclass
class Stack:
    s3: Any
    ddb: Any
    store: S3Store
    catalog: Catalog

    def keys(self, prefix: str) -> list[str]:
        return sorted(self.store.list_keys(prefix))

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table, for assertions on its whole state (the product never scans),
        in the wire shape a Scan returns, sorted by key.

        Read from moto's own store, not through a Scan: moto's response serializer spends
        seconds per thousand items, and these checks read the table whole several times.
        """
        region = self.ddb.meta.region_name
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(TABLE)
        items = [item.to_json()["Attributes"] for item in table.all_items()]
        return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))

    def versions(self, prefix: str) -> int:
        return len(self.s3.list_object_versions(Bucket=BUCKET, Prefix=prefix).get("Versions", []))


class LambdaContext:
    """The attributes powertools reads from a Lambda context."""

    function_name = "mailroom-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:mailroom-test"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/mailroom-test"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def function_env(monkeypatch: pytest.MonkeyPatch, fake_aws_env: None) -> None:
    monkeypatch.setenv("MAILROOM_BUCKET", BUCKET)
    monkeypatch.setenv("MAILROOM_TABLE", TABLE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "mailroom")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "mailroom")


@pytest.fixture
def stack(function_env: None) -> Iterator[Stack]:
    runtime.cache_clear()  # a new stack is a new cold start
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        ddb = boto3.client("dynamodb")
        ddb.create_table(**table_definition(TABLE))
        yield Stack(s3, ddb, S3Store(s3, BUCKET), Catalog(ddb, TABLE))
    runtime.cache_clear()
