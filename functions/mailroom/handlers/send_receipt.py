"""EventBridge rule on the outcome bus (issue 21): answer an outcome event with a receipt."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailroom.adapters.receipts import ReceiptBook, SesMailer
from mailroom.receipts import ReceiptSettings
from mailroom.settings import ENV_TABLE
from mailroom.usecases.receipts import answer_event

logger = Logger()
metrics = Metrics()


@cache
def _wiring() -> tuple[ReceiptSettings, ReceiptBook, SesMailer]:
    settings = ReceiptSettings.from_env(os.environ)  # raises naming every problem
    table = os.environ[ENV_TABLE]
    return settings, ReceiptBook(boto3.client("dynamodb"), table), SesMailer(boto3.client("ses"))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, book, mailer = _wiring()
    detail = event.get("detail") or {}
    logger.append_keys(message_id=detail.get("message_id"))
    result = answer_event(str(event.get("detail-type") or ""), detail, settings, book, mailer)
    logger.info("receipt decided", extra={"sent": result.sent, "reason": result.reason})
    if result.sent:
        metrics.add_metric(name="ReceiptsSent", unit=MetricUnit.Count, value=1)
    return {"sent": result.sent, "reason": result.reason}
