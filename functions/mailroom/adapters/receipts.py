"""DynamoDB and SES for receipts (issue 21): the claim, the per-sender count, the sending.

Items, in the one table (no index key, so no listing ever sees them):

    claim   pk MSG#<message-id>    sk RECEIPT   to, claimed_at, status   (one per message)
    count   pk RECEIPTS#<address>  sk <hour>    sent                     (per sender and hour)
"""

from __future__ import annotations

from typing import Any

from mailroom.adapters.catalog import to_ddb
from mailroom.model import PK_PREFIX, message_pk_sk

CLAIM_SK = "RECEIPT"
RATE_PREFIX = "RECEIPTS#"


class ReceiptBook:
    def __init__(self, client: Any, table: str) -> None:
        self._ddb = client
        self.table = table

    def _claim_key(self, message_id: str) -> dict[str, Any]:
        return to_ddb({"pk": PK_PREFIX + message_id, "sk": CLAIM_SK})

    def claim_receipt(self, message_id: str, to: str, at: str) -> bool:
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item=to_ddb(
                    {
                        "pk": PK_PREFIX + message_id,
                        "sk": CLAIM_SK,
                        "to": to,
                        "claimed_at": at,
                        "status": "claimed",
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_receipt(self, message_id: str) -> None:
        self._ddb.delete_item(TableName=self.table, Key=self._claim_key(message_id))

    def take_rate(self, address: str, window: str, limit: int) -> bool:
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=to_ddb({"pk": RATE_PREFIX + address.lower(), "sk": window}),
                UpdateExpression="ADD sent :one",
                ConditionExpression="attribute_not_exists(sent) OR sent < :limit",
                ExpressionAttributeValues=to_ddb({":one": 1, ":limit": limit}),
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def note_receipt(self, message_id: str, status: str) -> None:
        """On the message record (what staff see) and on the claim, when there is one."""
        for key in (to_ddb(message_pk_sk(message_id)), self._claim_key(message_id)):
            try:
                self._ddb.update_item(
                    TableName=self.table,
                    Key=key,
                    UpdateExpression="SET #r = :s",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeNames={
                        "#r": "receipt" if key["sk"]["S"] != CLAIM_SK else "status"
                    },
                    ExpressionAttributeValues=to_ddb({":s": status}),
                )
            except self._ddb.exceptions.ConditionalCheckFailedException:
                continue


class SesMailer:
    """SES SendRawEmail from the configured address (the grant is conditioned on it)."""

    def __init__(self, client: Any) -> None:
        self._ses = client

    def send_raw(self, source: str, to: str, raw: bytes) -> str:
        response = self._ses.send_raw_email(
            Source=source, Destinations=[to], RawMessage={"Data": raw}
        )
        return str(response["MessageId"])
