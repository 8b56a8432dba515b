"""Export jobs (issue 22): a case export built by the export function, for the dashboard and
for `mailroom export --with-raw`.

API Gateway answers within 30 s, so the dashboard's "Export case" cannot stream a zip through
the api. Instead:

1. `start_export` (admins) writes a job item (`queued`) and hands `{"job": <id>, ...}` to the
   export function (an asynchronous invoke) and answers with the job at once.
2. The export function (`run_export`) builds the zip with `usecases.export.write_export`
   straight into an S3 multipart upload under `exports/<job>.zip` (memory stays at one part,
   nothing on /tmp), recording progress (files and bytes done) on the job item as it goes,
   then `done` with the object's size and the export's summary, or `failed` with the reason.
3. `job_status` reads the item; once done, the api adds a presigned GET of the zip (at most
   300 s). The object expires with the bucket's `exports/` lifecycle rule (1 day), the item
   with the table's TTL at the same time.

Every event may arrive twice: a job already `done` is not built again, and a job id names one
object, so a rerun overwrites the same key. The job item is created by the function when the
starter could not write it (the CLI: staff credentials write no items).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from mailroom import exports
from mailroom.audit import Action, Reporter, Target
from mailroom.ports import (
    AuditLog,
    ExportJobs,
    ExportObjects,
    ExportSigner,
    FileCatalog,
    Invoker,
    ObjectReader,
)
from mailroom.usecases import export, filing, params
from mailroom.usecases.audit import record_action
from mailroom.usecases.errors import InvalidInput, NotFound, UseCaseError
from mailroom.usecases.files import check_range
from mailroom.usecases.roles import Role, needs

JOB_RE = re.compile(r"^[a-z0-9]{16,64}$")
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
EXPIRY_SECONDS = 86400  # as the exports/ lifecycle rule: the zip and its item last a day
PROGRESS_EVERY_S = 2.0  # at most one progress write per this many seconds (plus one per end)
# Lambda's longest run, its two retries' waits (about 1 and 2 minutes), and a margin.
STALLED_S = 20 * 60
ZIP_TYPE = "application/zip"


def new_job_id() -> str:
    return secrets.token_hex(16)


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not JOB_RE.match(job_id):
        raise InvalidInput("job", "not an export job id")
    return job_id


@dataclass(slots=True)
class ExportJob:
    job_id: str
    case: str
    status: str = QUEUED
    since: str | None = None
    until: str | None = None
    with_raw: bool = False
    requested_by: str = ""
    # "api": the api verified who asked (its JWT); "cli": the person's own credentials invoked
    # the function, and requested_by is what their CLI reported (their IAM principal's ARN).
    requested_via: str = "api"
    created_at: str = ""
    updated_at: str = ""
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    key: str = ""  # exports/<job>.zip
    size: int = 0  # the zip's size once done
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    expires_at: int = 0  # epoch seconds: the table's TTL

    def to_item(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ExportJob:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in item.items() if k in known}
        for name in ("files_done", "files_total", "bytes_done", "bytes_total", "size"):
            values[name] = int(values.get(name) or 0)
        values["expires_at"] = int(values.get("expires_at") or 0)
        values["with_raw"] = bool(values.get("with_raw"))
        # DynamoDB hands numbers back as Decimal: whole numbers here.
        values["summary"] = {
            k: int(v) if isinstance(v, Decimal) else v
            for k, v in dict(values.get("summary") or {}).items()
        }
        return cls(**values)

    def view(self) -> dict[str, Any]:
        """What the api and the CLI show: no internal key, no expiry stamp."""
        shown = self.to_item()
        shown.pop("expires_at")
        return shown


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_job(
    case: str,
    since: date | None,
    until: date | None,
    *,
    with_raw: bool,
    by: str,
    via: str,
    exports_prefix: str,
    now: datetime | None = None,
    job_id: str | None = None,
) -> ExportJob:
    tag = case.strip().lower()
    if not tag:
        raise InvalidInput("case", "name the case to export")
    check_range(since, until)
    when = now or datetime.now(UTC)
    jid = check_job_id(job_id) if job_id else new_job_id()
    return ExportJob(
        job_id=jid,
        case=tag,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        with_raw=with_raw,
        requested_by=by,
        requested_via=via,
        created_at=_stamp(when),
        updated_at=_stamp(when),
        key=f"{exports_prefix}{jid}.zip",
        expires_at=int(when.timestamp()) + EXPIRY_SECONDS,
    )


def job_event(job: ExportJob) -> dict[str, Any]:
    """What the export function is handed: the whole request, so it can create the item."""
    return {"job": job.to_item()}


@needs(Role.ADMIN)
def start_export(
    jobs: ExportJobs,
    invoker: Invoker,
    function: str,
    job: ExportJob,
) -> ExportJob:
    """Record the job (queued) and hand it to the export function; answers at once."""
    if not function:
        raise UseCaseError("case export is not configured here (no export function)")
    if not jobs.create_job(job.to_item()):
        raise InvalidInput("job", f"export job {job.job_id} exists already")
    try:
        invoker.invoke_async(function, job_event(job))
    except Exception as exc:
        jobs.update_job(job.job_id, {"status": FAILED, "error": f"not started: {exc}"})
        raise
    return job


@needs(Role.ADMIN)
def job_status(jobs: ExportJobs, job_id: str, now: datetime | None = None) -> ExportJob:
    """The job as recorded; one queued or running with no progress written for STALLED_S is
    shown failed (its function timed out for good, or the local stack stopped under it)."""
    item = jobs.get_job(check_job_id(job_id))
    if item is None:
        raise NotFound(f"no export job {job_id} (jobs last a day)")
    job = ExportJob.from_item(item)
    if job.status in {QUEUED, RUNNING} and job.updated_at:
        quiet = (now or datetime.now(UTC)) - datetime.fromisoformat(
            job.updated_at.replace("Z", "+00:00")
        )
        if quiet.total_seconds() > STALLED_S:
            job.status = FAILED
            job.error = (
                f"no progress for {int(quiet.total_seconds() // 60)} minutes: the export function "
                "stopped (its log and dead-letter queue say why); start the export again"
            )
    return job


def download_name(job: ExportJob) -> str:
    return f"{job.case}-export-{job.created_at[:10]}.zip"


@needs(Role.ADMIN)
def job_link(objects: ExportObjects, job: ExportJob, expires_in: int) -> str:
    """A presigned GET of a finished export, saved as `<case>-export-<date>.zip`."""
    if job.status != DONE:
        raise InvalidInput("job", f"export job {job.job_id} is {job.status}, not done")
    return objects.presigned_get(job.key, expires_in, filename=download_name(job))


class _Progress:
    """Counts bytes and files as the zip is written; writes the job item at most every 2 s
    (so a job's cost in writes follows its duration, not its number of chunks)."""

    def __init__(
        self,
        jobs: ExportJobs,
        job: ExportJob,
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self.jobs, self.job, self.clock, self.now = jobs, job, clock, now
        self.last = clock()

    def bytes(self, n: int) -> None:
        self.job.bytes_done += n
        self._maybe_flush()

    def file(self, name: str) -> None:
        self.job.files_done += 1
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self.clock() - self.last >= PROGRESS_EVERY_S:
            self.last = self.clock()
            self.jobs.update_job(
                self.job.job_id,
                {
                    "files_done": self.job.files_done,
                    "bytes_done": self.job.bytes_done,
                    "updated_at": _stamp(self.now()),
                },
            )


def run_export(
    event_job: Mapping[str, Any],
    *,
    catalog: FileCatalog,
    jobs: ExportJobs,
    reader: Callable[[str | None], ObjectReader],
    raw_reader: ObjectReader,
    objects: ExportObjects,
    signer: ExportSigner,
    incoming_prefix: str,
    exports_prefix: str,
    render_csv: export.CsvRenderer = exports.csv_text,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    clock: Callable[[], float] = time.monotonic,
    audit: AuditLog | None = None,
) -> ExportJob:
    """The export function's work: build the job's zip into exports/<job>.zip.

    Once the zip is complete, one `export` entry goes on the audit trail, written by the
    function (reported_by server), naming who asked (verified by the api, or as the CLI
    reported it: `requested_via`). A redelivered event of a done job writes none.

    A job already done is returned as it is (a redelivered event). A use-case failure (no
    documents, a file whose bytes differ, an object gone) marks the job failed and returns: a
    retry would fail the same way. Anything else marks it failed and raises (Lambda retries).
    """
    requested = ExportJob.from_item(event_job)
    check_job_id(requested.job_id)
    # The key is ours to name, never the event's.
    requested.key = f"{exports_prefix}{requested.job_id}.zip"
    if not jobs.create_job(requested.to_item()):
        stored = jobs.get_job(requested.job_id)
        if stored is not None:
            requested = ExportJob.from_item(stored)
            requested.key = f"{exports_prefix}{requested.job_id}.zip"
    job = requested
    if job.status == DONE:
        return job
    since = date.fromisoformat(job.since) if job.since else None
    until = date.fromisoformat(job.until) if job.until else None
    upload = None
    try:
        plan = export.plan_export(catalog, job.case, since, until)
        if not plan.records:
            raise NotFound(f"case {plan.case!r} has no documents in that range: nothing exported")
        job.status, job.error = RUNNING, None
        job.files_done = job.bytes_done = 0
        job.files_total = len(plan.records) + (
            len({r.message_id for r in plan.records}) if job.with_raw else 0
        )
        job.bytes_total = plan.total_bytes
        jobs.update_job(
            job.job_id,
            {
                "status": RUNNING,
                "error": None,
                "files_done": 0,
                "bytes_done": 0,
                "files_total": job.files_total,
                "bytes_total": job.bytes_total,
                "updated_at": _stamp(now()),
            },
        )
        progress = _Progress(jobs, job, clock, now)
        upload = objects.open_upload(job.key, ZIP_TYPE)
        summary = export.write_export(
            plan,
            catalog,
            reader,
            signer,
            upload,  # type: ignore[arg-type]  # write/tell/flush: all zipfile uses
            incoming_prefix=incoming_prefix,
            render_csv=render_csv,
            progress=progress.bytes,
            on_file=progress.file,
            raw_reader=raw_reader if job.with_raw else None,
            now=now(),
        )
        job.size = upload.complete()
        upload = None
    except UseCaseError as exc:
        _fail(jobs, job, str(exc), now)
        return job
    except Exception as exc:
        _fail(jobs, job, f"{type(exc).__name__}: {exc}", now)
        raise
    finally:
        if upload is not None:
            upload.abort()
    job.status = DONE
    job.files_total = summary.documents + summary.raw_messages
    job.files_done = job.files_total
    job.summary = asdict(summary)
    jobs.update_job(
        job.job_id,
        {
            "status": DONE,
            "files_done": job.files_done,
            "files_total": job.files_total,
            "bytes_done": job.bytes_done,
            "size": job.size,
            "summary": job.summary,
            "updated_at": _stamp(now()),
        },
    )
    record_action(
        audit,
        actor=job.requested_by or "unknown",
        action=Action.EXPORT,
        target=Target.case(job.case),
        origin="function",
        reported_by=Reporter.SERVER,
        details={
            "job": job.job_id,
            "requested_via": job.requested_via,
            "with_raw": job.with_raw,
            "since": job.since,
            "until": job.until,
            "documents": summary.documents,
            "raw_messages": summary.raw_messages,
            "bytes": summary.bytes,
            "zip_bytes": job.size,
            "sha256sums_sha256": summary.sha256sums_sha256,
        },
    )
    return job


def _fail(jobs: ExportJobs, job: ExportJob, reason: str, now: Callable[[], datetime]) -> None:
    job.status, job.error = FAILED, reason[:1000]
    jobs.update_job(job.job_id, {"status": FAILED, "error": job.error, "updated_at": _stamp(now())})


@dataclass(frozen=True, slots=True)
class ExportRequest:
    case: str
    since: date | None = None
    until: date | None = None
    with_raw: bool = False

    @classmethod
    def from_body(cls, case: str, text: str | None) -> ExportRequest:
        """POST /cases/{case}/export with an optional {"since", "until", "with_raw"}."""
        values = params.json_object(text) if (text or "").strip() else {}
        params.known(values, ("since", "until", "with_raw"), "field")
        params.strings(values, ("since", "until"))
        with_raw = values.get("with_raw", False)
        if not isinstance(with_raw, bool):
            raise InvalidInput("with_raw", "with_raw is true or false")
        return cls(
            filing.case_from(case),
            params.day("since", values.get("since")),
            params.day("until", values.get("until")),
            with_raw,
        )
