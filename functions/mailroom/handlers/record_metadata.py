"""S3 ObjectCreated under `incoming/`: write each object's file record."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailroom.handlers.runtime import runtime
from mailroom.usecases.recording import ObjectCreated, record_object

# Traced by Lambda's active tracing (infra/lambda.tf), without the X-Ray SDK: keeping the SDK off
# the import path is most of the cold start it cost (docs/ARCHITECTURE.md, Observability).
logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    recorded = 0
    for record in event.records:
        # S3 URL-encodes keys in events ("+" for a space); the object has the decoded key.
        key = unquote_plus(record.s3.get_object.key)
        result = record_object(
            ObjectCreated(
                key=key,
                event_time=record.event_time,
                version_id=record.s3.get_object.version_id,
                requester=(record.raw_event.get("userIdentity") or {}).get("principalId"),
            ),
            rt.settings.incoming_prefix,
            rt.store,
            rt.catalog,
            sightings=rt.catalog,
            signature_repeats=rt.settings.limits.signature_repeats,
            filings=rt.catalog,
            holds=rt.catalog,
            locks=rt.store,
        )
        if result is not None:
            recorded += 1
            logger.info("file recorded", extra={"file_id": key, "message_id": result.message_id})
            metrics.add_metric(name="FilesRecorded", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="BytesRecorded", unit=MetricUnit.Bytes, value=result.size)
    return {"recorded": recorded}
