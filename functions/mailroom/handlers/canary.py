"""Scheduled (EventBridge, infra/canary.tf): check the previous canary arrived, send the next.

Publishes CanaryDelivered (1/0) and CanaryLatency (seconds) in the stack's metrics namespace;
the canary alarm fires on a 0 or on no data at all (a canary function that stopped).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailroom.handlers.runtime import canary_ports, runtime
from mailroom.usecases.canary import CanaryConfig, run_canary

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = CanaryConfig(
        sender=os.environ["MAILROOM_CANARY_SENDER"],
        recipient=os.environ["MAILROOM_CANARY_RECIPIENT"],
        bound_seconds=int(os.environ.get("MAILROOM_CANARY_BOUND_SECONDS", "600")),
    )
    state, sender = canary_ports()
    result = run_canary(config, state, runtime().catalog, sender)
    if result.previous is not None:
        metrics.add_metric(name="CanaryDelivered", unit=MetricUnit.Count, value=result.delivered)
        if result.latency_seconds is not None:
            metrics.add_metric(
                name="CanaryLatency", unit=MetricUnit.Seconds, value=result.latency_seconds
            )
    logger.info("canary", extra=result.as_dict())
    return result.as_dict()
