"""The emulator's shortcuts give the answers moto gives: every DynamoDB type round-trips."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary

from mailroom.local.emulator import Emulator, Endpoint

ITEM: dict[str, Any] = {
    "pk": "file#1",
    "sk": "2026-11-29T10:00:00.000Z#a",
    "n": Decimal("12.5"),
    "big": Decimal("123456789012345678901234567890"),
    "b": Binary(b"\x00\xffbinary"),
    "yes": True,
    "nothing": None,
    "m": {"nested": ["x", Decimal(1), {"deep": Binary(b"\x01")}]},
    "ss": {"a", "b"},
    "ns": {Decimal(1), Decimal(2)},
    "bs": {Binary(b"\x02"), Binary(b"\x03")},
    "text": 'quotes " and \\ and é and 日本',
}


@pytest.fixture(scope="module")
def table() -> Iterator[Any]:
    emulator = Emulator()
    endpoint: Endpoint = emulator.start()
    try:
        ddb = endpoint.client("dynamodb")
        ddb.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        import boto3  # noqa: PLC0415

        resource = boto3.resource(
            "dynamodb",
            endpoint_url=endpoint.url,
            region_name=endpoint.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        yield resource.Table("t")
    finally:
        emulator.stop()


def test_every_type_round_trips_through_get_query_and_scan(table: Any) -> None:
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415

    assert getattr(DynamoHandler.serialized, "_mailroom_fast", False)  # the shortcut answers
    table.put_item(Item=ITEM)
    second = {**ITEM, "sk": "2026-11-29T11:00:00.000Z#b"}
    table.put_item(Item=second)

    got = table.get_item(Key={"pk": "file#1", "sk": ITEM["sk"]})["Item"]
    page = table.query(
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": "file#1"},
        ScanIndexForward=False,
        Limit=1,
    )
    scanned = table.scan()["Items"]

    assert got == ITEM
    assert page["Items"] == [second]
    assert page["Count"] == 1
    assert page["LastEvaluatedKey"] == {"pk": "file#1", "sk": second["sk"]}
    assert sorted(scanned, key=lambda i: i["sk"]) == [ITEM, second]
    assert "Item" not in table.get_item(Key={"pk": "missing", "sk": "x"})


def test_errors_still_come_from_moto(table: Any) -> None:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    with pytest.raises(ClientError) as failed:
        table.query(KeyConditionExpression="nokey = :p", ExpressionAttributeValues={":p": "x"})
    assert failed.value.response["Error"]["Code"] == "ValidationException"
