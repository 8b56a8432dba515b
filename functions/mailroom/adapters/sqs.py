"""SQS: a function's dead-letter queue, read one batch at a time.

A message is deleted only once its event has been handed back to Lambda, so an interrupted
redrive loses nothing: what was not deleted becomes visible again after the visibility timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailroom.ports import MAX_BATCH, QueuedMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class DeadLetterQueue:
    def __init__(self, client: SQSClient, url: str) -> None:
        self._sqs = client
        self.url = url

    def depth(self) -> int:
        """Messages waiting, visible or in flight (approximate, as SQS reports it)."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        ).get("Attributes", {})
        return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def receive(self, max_messages: int, visibility_timeout: int) -> list[QueuedMessage]:
        response = self._sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(max_messages, MAX_BATCH)),
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        )
        return [
            QueuedMessage(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m.get("Body", ""),
                attributes={
                    name: str(value.get("StringValue", ""))
                    for name, value in m.get("MessageAttributes", {}).items()
                },
            )
            for m in response.get("Messages", [])
        ]

    def delete(self, message: QueuedMessage) -> None:
        self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    def release(self, message: QueuedMessage) -> None:
        """Make a received message visible again at once (a dry run, or a failed hand-back)."""
        self._sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
        )
