"""EventBridge rule on the outcome bus (issue 21): answer an outcome event with a receipt."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailroom.handlers.runtime import receipt_runtime
from mailroom.usecases.receipts import answer_event

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = receipt_runtime()
    detail = event.get("detail") or {}
    logger.append_keys(message_id=detail.get("message_id"))
    result = answer_event(
        str(event.get("detail-type") or ""), detail, rt.settings, rt.ledger, rt.mailer
    )
    logger.info("receipt decided", extra={"sent": result.sent, "reason": result.reason})
    if result.sent:
        metrics.add_metric(name="ReceiptsSent", unit=MetricUnit.Count, value=1)
    return {"sent": result.sent, "reason": result.reason}
