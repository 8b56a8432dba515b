"""SES receipt rule, Lambda action (invoked asynchronously): extract one message's attachments."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SESEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailroom.handlers.runtime import audit_trail, runtime
from mailroom.model import MessageRecord
from mailroom.usecases.intake import (
    DeadlineReached,
    ReceivedMail,
    ReleaseRefused,
    process_message,
)
from mailroom.usecases.outcomes import OutcomePublisher

# Traced by Lambda's active tracing (infra/lambda.tf), without the X-Ray SDK: keeping the SDK off
# the import path is most of the cold start it cost (docs/ARCHITECTURE.md, Observability).
logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=SESEvent)
def handler(event: SESEvent, context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    for record in event.records:
        try:
            mail = ReceivedMail.from_ses(record.ses.mail.raw_event, record.ses.receipt.raw_event)
        except ReleaseRefused as refused:
            _refused(refused)
            continue
        logger.append_keys(message_id=mail.message_id)
        if mail.is_setup_notification:
            logger.info("SES setup notification skipped")
            continue
        outcomes = OutcomePublisher(rt.events) if rt.events else None
        try:
            result = process_message(
                mail,
                rt.settings,
                rt.store,
                rt.catalog,
                remaining_ms=context.get_remaining_time_in_millis,
                outcomes=outcomes,
                txt_lookup=rt.txt_lookup,
                audit=audit_trail() if mail.release is not None else None,
                on_audit_failure=_audit_failed,
            )
        except ReleaseRefused as refused:  # a retry would decide the same: nothing to retry
            _refused(refused)
            continue
        except Exception as exc:
            _failed(exc)
            raise  # so Lambda retries, then dead-letters the event
        finally:
            # An event that could not be published never fails the message: its record is
            # final and kept; the publisher logged it, the metric counts it (an alarm's input).
            if outcomes is not None and outcomes.failed:
                metrics.add_metric(
                    name="EventPublishFailures", unit=MetricUnit.Count, value=len(outcomes.failed)
                )
        _report(result)
    return {"disposition": "CONTINUE"}  # what SES reads if the action is ever made synchronous


def _audit_failed(exc: Exception) -> None:
    # The release happened; its audit entry did not get written (logged by record_action).
    metrics.add_metric(name="AuditWriteFailures", unit=MetricUnit.Count, value=1)


def _refused(refused: ReleaseRefused) -> None:
    # Issue 22: a release this function will not carry out; the message stays quarantined.
    metrics.add_metric(name="ReleasesRefused", unit=MetricUnit.Count, value=1)
    logger.error("release refused; message left as it was", extra={"reason": str(refused)})


def _failed(exc: Exception) -> None:
    # Recorded `failed` (deadline, S3, an engine bug), or left `processing` if even that failed.
    metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=1)
    logger.exception(
        "message extraction failed; raising for retry",
        extra={"error_type": type(exc).__name__, "deadline": isinstance(exc, DeadlineReached)},
    )


def _report(result: MessageRecord) -> None:
    logger.info(
        "message processed",
        extra={
            "outcome": str(result.outcome),
            "attachments": result.attachment_count,
            "authenticated": result.authenticated,
        },
    )
    metrics.add_metric(name="Messages", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="FilesExtracted", unit=MetricUnit.Count, value=result.file_count)
    outcome_metric = {"quarantined": "MessagesQuarantined", "rejected": "MessagesRejected"}
    if str(result.outcome) in outcome_metric:
        metrics.add_metric(name=outcome_metric[str(result.outcome)], unit=MetricUnit.Count, value=1)
