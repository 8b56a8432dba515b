"""Issue 22: build a case export job's zip (asynchronous invoke from the api or the CLI).

The event is `{"job": {...}}` (usecases/export_jobs.job_event). The zip streams into an S3
multipart upload under exports/<job>.zip; progress and the result go on the job item.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailroom.handlers.runtime import export_ports, export_signer, runtime
from mailroom.settings import ExportSettings
from mailroom.usecases import export_jobs

logger = Logger()
metrics = Metrics()


@cache
def export_settings() -> ExportSettings:
    """Read once; a wiring mistake raises SettingsError naming every problem."""
    return ExportSettings.from_env(os.environ)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    job = event.get("job")
    if not isinstance(job, Mapping):
        raise ValueError("an export event is {'job': {...}}")
    settings, rt, ports = export_settings(), runtime(), export_ports()
    logger.append_keys(job=str(job.get("job_id")), case=str(job.get("case")))
    done = export_jobs.run_export(
        job,
        catalog=rt.catalog,
        jobs=ports.jobs,
        reader=lambda _bucket: rt.store,
        raw_reader=rt.store,
        objects=ports.objects,
        signer=export_signer(settings.signing_key_arn),
        incoming_prefix=rt.settings.incoming_prefix,
        exports_prefix=settings.exports_prefix,
        audit=ports.audit,
    )
    logger.info(
        "export job ended",
        extra={
            "status": done.status,
            "files": done.files_done,
            "bytes": done.bytes_done,
            "size": done.size,
            "with_raw": done.with_raw,
            "requested_by": done.requested_by,
            "requested_via": done.requested_via,
            "error": done.error,
        },
    )
    if done.status == export_jobs.DONE:
        metrics.add_metric(name="ExportsBuilt", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ExportBytes", unit=MetricUnit.Bytes, value=done.size)
    return {"job": done.job_id, "status": done.status}
