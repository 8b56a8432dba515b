"""The local emulator's shortcuts (local/hooks.py): a partition-only table Query, and an
UpdateItem whose clauses are counted once, answer as moto does."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.ast_nodes import Node
from moto.dynamodb.parsing.validators import ActionCountValidator

from mailroom.local import hooks


def _table(client: Any) -> None:
    client.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def _pages(client: Any, **args: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    while True:
        page = client.query(TableName="t", **args)
        pages.append([item["sk"]["S"] for item in page["Items"]])
        if "LastEvaluatedKey" not in page:
            return pages
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _flat(pages: list[list[str]]) -> list[str]:
    return [key for page in pages for key in page]


@mock_aws
def test_a_table_query_reads_its_partition_in_order_with_paging_and_conditions() -> None:
    hooks.install()
    assert Table.query.__module__ == hooks.__name__  # the partition-only Query answers below
    client = boto3.client("dynamodb", region_name="eu-west-1")
    _table(client)
    rng = random.Random(7)
    kept: dict[str, list[str]] = {}
    for n in rng.sample(range(600), 600):  # written out of order, across 20 partitions
        pk, sk = f"P{n % 20}", f"{'FILE' if n % 3 else 'META'}#{n:04d}"
        kept.setdefault(pk, []).append(sk)
        client.put_item(
            TableName="t", Item={"pk": {"S": pk}, "sk": {"S": sk}, "g": {"S": f"G{n % 2}"}}
        )
    want = sorted(kept["P3"])
    key = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P3"}}}

    assert _flat(_pages(client, **key)) == want
    assert _flat(_pages(client, **key, ScanIndexForward=False)) == want[::-1]
    paged = _pages(client, **key, Limit=4)
    assert [len(p) for p in paged[:-1]] == [4] * (len(paged) - 1)
    assert _flat(paged) == want
    files = {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :f)",
        "ExpressionAttributeValues": {":p": {"S": "P3"}, ":f": {"S": "FILE#"}},
    }
    assert _flat(_pages(client, **files, Limit=5)) == [s for s in want if s.startswith("FILE#")]
    missing = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "X"}}}
    assert _pages(client, **missing) == [[]]
    # AND the table did not grow a partition for the key that was only asked about
    assert client.scan(TableName="t", Select="COUNT")["Count"] == 600

    # AND an index Query, which moto answers from every item, keeps the index's order
    by_g = _pages(
        client,
        IndexName="by_g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "G1"}},
    )
    assert _flat(by_g) == sorted(
        f"{'FILE' if n % 3 else 'META'}#{n:04d}" for n in range(600) if n % 2
    )


@mock_aws
def test_an_update_counts_its_clauses_once_and_still_refuses_a_second_set() -> None:
    """The emulator's UpdateItem check (local/hooks.py) gives moto's answers, without moto's
    re-count at every nested action."""
    hooks.install()
    assert ActionCountValidator.verify_action_counts.__module__ == hooks.__name__
    client = boto3.client("dynamodb", region_name="eu-west-1")
    _table(client)
    names = {f"#a{i}": f"attr{i}" for i in range(60)}
    values = {f":v{i}": {"S": f"value {i}"} for i in range(50)}
    sets = ", ".join(f"#a{i} = :v{i}" for i in range(50))
    removes = ", ".join(f"#a{i}" for i in range(50, 60))
    walked = 0
    original = Node.find_clauses

    def counting(self: Node, clause_types: Any) -> Any:
        nonlocal walked
        walked += 1
        return original(self, clause_types)

    Node.find_clauses = counting  # type: ignore[method-assign]
    try:
        # WHEN a 60-action update is made
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "p"}, "sk": {"S": "s"}},
            UpdateExpression=f"SET {sets} REMOVE {removes}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    finally:
        Node.find_clauses = original  # type: ignore[method-assign]
    # THEN the item has every attribute, and the count walked the tree a bounded number of
    # times (moto alone walks it again at each of ~230 nested nodes: over 20,000)
    item = client.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "s"}})["Item"]
    assert {item[f"attr{i}"]["S"] for i in range(50)} == {f"value {i}" for i in range(50)}
    assert walked < 8000, walked
    # AND two SET clauses are still refused, as moto (and DynamoDB) refuse them
    with pytest.raises(ClientError, match="SET"):
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "p"}, "sk": {"S": "s"}},
            UpdateExpression="SET #a0 = :v0 SET #a1 = :v1",
            ExpressionAttributeNames={"#a0": "attr0", "#a1": "attr1"},
            ExpressionAttributeValues={":v0": {"S": "x"}, ":v1": {"S": "y"}},
        )
