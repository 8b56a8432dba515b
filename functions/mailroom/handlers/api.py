"""The staff HTTP API (API Gateway HTTP API, payload 2.0, behind a JWT authorizer).

Thin: each route reads its parameters, checks the role its use case needs, calls it
(`mailroom.usecases`) and returns JSON. Errors are `{"error": {"code", "message"}}` with the
status a client can act on. Who is asking comes from the authorizer's verified claims: the
`email`, only when `email_verified` is true (else 401), and the roles of `cognito:groups`
(`usecases/roles.py`; a route whose role the person lacks is 403 naming it). CORS headers
are sent for the configured dashboard origin only, and none when no origin is configured.
Every route is also served under `/api` (the prefix the dashboard's distribution forwards).

    GET    /files?sender=&case=&since=&until=&limit=&cursor=&include_deleted=&all=
    GET    /files/{id}                  {id}: the URL-encoded object key
    GET    /files/{id}/download         a presigned GET (at most 300 s)
    DELETE /files/{id}
    POST   /uploads                     a presigned POST into incoming/<upload-id>/
    GET    /messages?outcome=&since=&until=&limit=&cursor=
    GET    /messages/{id}
    POST   /messages/{id}/file          {"case": "case-42"}: re-file it and its files (issue 21)
    GET    /messages?needs_filing=true  those the routing rules could not file
    GET    /quarantine?since=&limit=&cursor=   held messages, with why (admins, issue 22)
    POST   /messages/{id}/release       {"reason": "...", "allow_virus": false} (admins): an
                                        asynchronous invoke of the extract function
    POST   /cases/{case}/export         issue 22 (admins): start an export job; 202 at once
    GET    /exports/{job}               its progress; once done, a presigned GET (at most 300 s)
    POST   /cases/{case}/hold           {"release": false, "reason": "..."}: legal hold (issue 22)
    GET    /audit?who=&file=&since=&until=&action=&limit=   the audit trail (admins; issue 22)

Every call it serves appends a server-reported audit entry naming the person (issue 22,
`usecases/audit.py`): listings and details once per person, filter and minute, every download,
upload, delete and re-filing each time. A refused or failed call writes none. An entry that
cannot be written never fails the call: it is logged and counted (`AuditWriteFailures`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailroom.handlers.runtime import Runtime, export_ports, lambda_invoker, runtime
from mailroom.settings import ApiSettings
from mailroom.usecases import (
    audit,
    deletes,
    downloads,
    export_jobs,
    files,
    filing,
    holds,
    messages,
    release,
    roles,
    uploads,
)
from mailroom.usecases.errors import (
    InvalidInput,
    NotFound,
    TooLarge,
    UnsupportedType,
    UseCaseError,
)
from mailroom.usecases.params import json_object, known

logger = Logger()

# The dashboard's distribution forwards /api/* with the path unchanged (infra/api.tf).
API_PREFIX = "/api"
GROUPS_CLAIM = "cognito:groups"


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def error_response(status: HTTPStatus, code: str, message: str, **extra: str) -> Response[str]:
    return json_response({"error": {"code": code, "message": message, **extra}}, status)


def json_response(body: Any, status: HTTPStatus = HTTPStatus.OK) -> Response[str]:
    return Response(
        status_code=int(status),
        content_type="application/json",
        body=json.dumps(body, default=str, separators=(",", ":")),
        headers={"Cache-Control": "no-store"},  # records and links are per person and short-lived
    )


@dataclass(frozen=True, slots=True)
class Staff:
    """A signed-in person: the verified address, and the roles of their groups."""

    who: str
    roles: frozenset[roles.Role]


def groups_of(claim: Any) -> list[str]:
    """`cognito:groups` as the HTTP API's JWT authorizer passes it: one string, the list in
    brackets and space-separated (`"[admins readers]"`). A JSON list (a Lambda test event) is
    taken as it is; anything else is no group."""
    if isinstance(claim, list):
        return [g for g in claim if isinstance(g, str)]
    if not isinstance(claim, str):
        return []
    text = claim.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text.split()


def staff(event: dict[str, Any]) -> Staff:
    """The signed-in person, from the JWT authorizer's claims (API Gateway verified the token).

    The person is their address, and only once it is verified: `email_verified` comes as the
    string "true" from the authorizer (a JSON true from a test event is the same)."""
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise ApiError(HTTPStatus.UNAUTHORIZED, "unauthorized", "sign in first")
    if str(claims.get("email_verified", "")).strip().lower() != "true":
        raise ApiError(
            HTTPStatus.UNAUTHORIZED,
            "unverified",
            "your address is not verified: ask an administrator to verify it, then sign in again",
        )
    return Staff(email.strip(), roles.roles_from_groups(groups_of(claims.get(GROUPS_CLAIM))))


def identity(event: dict[str, Any]) -> str:
    """The signed-in person's verified address (401 without one)."""
    return staff(event).who


def build(settings: ApiSettings, rt: Runtime) -> APIGatewayHttpResolver:
    """The resolver with every route, over one set of settings and adapters."""
    cors = None
    if settings.dashboard_origin:
        cors = CORSConfig(
            allow_origin=settings.dashboard_origin,
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
            allow_credentials=False,  # the token travels in Authorization, never in a cookie
        )
    app = APIGatewayHttpResolver(cors=cors, strip_prefixes=[API_PREFIX])
    core = settings.core

    def params() -> dict[str, str]:
        return dict(app.current_event.query_string_parameters or {})

    def who(use_case: Any, action: str) -> str:
        """The person asking, once they hold the role `use_case` needs (401, else 403)."""
        person = staff(app.current_event.raw_event)
        try:
            roles.check(person.roles, use_case, action)
        except roles.Forbidden as refused:
            logger.info("refused", extra={"by": person.who, "needs": refused.needed.group})
            raise
        return person.who

    def record_of(encoded_id: str) -> Any:
        return files.get_file(rt.catalog, unquote(encoded_id))

    def trail(
        person: str, action: str, target: audit.Target, details: dict[str, Any] | None = None
    ) -> None:
        """The server's audit entry of a call it served (issue 22); never fails the call."""
        audit.record_action(
            rt.audit,
            actor=person,
            action=action,
            target=target,
            origin=settings.audit_origin,
            details=details,
            on_failure=count_audit_failure,
        )

    def filters() -> dict[str, str]:
        """The listing's filters, as the person gave them (paging is not a filter)."""
        return {k: v for k, v in params().items() if k not in {"cursor", "limit"} and v}

    @app.get("/files")
    def list_files() -> Response[str]:
        person = who(files.list_files, "listing files")
        page = files.list_files(rt.catalog, files.FileQuery.from_params(params()))
        trail(person, "list", audit.Target.listing("files"), {"filters": filters()})
        return json_response({"files": [m.to_dict() for m in page.files], "next": page.next})

    @app.get("/files/<file_id>")
    def get_file(file_id: str) -> Response[str]:
        person = who(files.get_file, "reading a file's record")
        record = record_of(file_id)
        trail(person, "show", audit.Target.file(record.file_id))
        return json_response({"file": files.FileMatch(record).to_dict()})

    @app.get("/files/<file_id>/download")
    def download(file_id: str) -> Response[str]:
        person = who(downloads.download_link, "downloading a file")
        record = record_of(file_id)
        url = downloads.download_link(
            rt.store, record, settings.link_seconds, incoming_prefix=core.incoming_prefix
        )
        logger.info("download link issued", extra={"file_id": record.file_id, "by": person})
        details = {"expires_in": settings.link_seconds, "version_id": record.version_id}
        trail(person, "download", audit.Target.file(record.file_id), details)
        return json_response({"url": url, "expires_in": settings.link_seconds})

    @app.delete("/files/<file_id>")
    def delete(file_id: str) -> Response[str]:
        person = who(deletes.delete_file, "deleting a file")
        record = deletes.delete_file(
            rt.catalog,
            rt.store,
            unquote(file_id),
            by=person,
            incoming_prefix=core.incoming_prefix,
        )
        logger.info("file deleted", extra={"file_id": record.file_id, "by": record.deleted_by})
        trail(person, "delete", audit.Target.file(record.file_id))
        return json_response({"file": asdict(record)})

    @app.post("/uploads")
    def upload() -> Response[str]:
        person = who(uploads.presign_upload, "uploading a file")
        post = uploads.presign_upload(
            rt.store,
            uploads.UploadRequest.from_body(app.current_event.decoded_body),
            uploader=person,
            max_bytes=settings.upload_max_bytes,
            allowed_types=settings.upload_types,
            expires_in=settings.link_seconds,
            incoming_prefix=core.incoming_prefix,
            ledger=rt.catalog,
        )
        logger.info("upload signed", extra={"file_id": post.file_id, "by": person})
        trail(person, "upload", audit.Target.file(post.file_id), {"signed": True})
        return json_response(
            {
                "url": post.url,
                "fields": post.fields,
                "file_id": post.file_id,
                "expires_in": post.expires_in,
            },
            HTTPStatus.CREATED,
        )

    @app.get("/messages")
    def list_messages() -> Response[str]:
        query = params()
        if query.pop("needs_filing", None) == "true":  # issue 21
            person = who(filing.page_needing_filing, "listing messages that need filing")
            page = filing.page_needing_filing(rt.catalog, messages.MessageQuery.from_params(query))
            listed = "filing"
        else:
            person = who(messages.page_messages, "listing messages")
            page = messages.page_messages(rt.catalog, messages.MessageQuery.from_params(query))
            listed = "messages"
        trail(person, "list", audit.Target.listing(listed), {"filters": filters()})
        return json_response({"messages": [asdict(m) for m in page.messages], "next": page.next})

    @app.get("/messages/<message_id>")
    def get_message(message_id: str) -> Response[str]:
        person = who(messages.get_message, "reading a message")
        view = messages.get_message(rt.catalog, unquote(message_id))
        trail(person, "show", audit.Target.message(unquote(message_id)))
        return json_response(
            {
                "message": asdict(view.record) if view.record else None,
                "files": [asdict(f) for f in view.files],
                "held": view.held,
            }
        )

    @app.post("/messages/<message_id>/file")
    def file_message(message_id: str) -> Response[str]:
        person = who(filing.file_message, "filing a message")
        case = filing.case_from_body(app.current_event.decoded_body)
        done = filing.file_message(
            rt.catalog, unquote(message_id), case, by=person, holds=rt.catalog, locks=rt.store
        )
        logger.info("message filed", extra={"case": case, "by": person})
        details = {"case": case, "counts": {"files": len(done.files)}}
        trail(person, "refile", audit.Target.message(done.message.message_id), details)
        return json_response(
            {"message": asdict(done.message), "files": [asdict(f) for f in done.files]}
        )

    @app.get("/audit")
    def audit_trail() -> Response[str]:
        person = who(audit.audit_trail, "reading the audit trail")
        query = audit.AuditQuery.from_params(params())
        if rt.audit is None:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable", "no audit trail here")
        entries = audit.audit_trail(rt.audit, query, retention_days=core.audit_retention_days)
        trail(person, "list", audit.Target.listing("audit"), {"filters": filters()})
        return json_response({"entries": [e.to_dict() for e in entries]})

    @app.get("/quarantine")
    def quarantine() -> Response[str]:
        person = who(release.quarantine, "reviewing the quarantine")
        page = release.quarantine(rt.catalog, **release.quarantine_params(params()))
        trail(person, "list", audit.Target.listing("quarantine"), {"filters": filters()})
        return json_response({"messages": [asdict(m) for m in page.messages], "next": page.next})

    @app.post("/messages/<message_id>/release")
    def release_message(message_id: str) -> Response[str]:
        person = who(release.release_message, "releasing a message")
        function = settings.extract_function
        if not function:
            raise ApiError(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "not_configured",
                "releases are not configured (no extract function in the api's settings)",
            )
        reason, allow_virus = release.release_from_body(app.current_event.decoded_body)
        queued = release.release_message(
            rt.catalog,
            lambda_invoker(),
            function,
            unquote(message_id),
            by=person,
            reason=reason,
            allow_virus=allow_virus,
        )
        logger.info(
            "release queued",
            extra={"message_id": queued.message_id, "by": person, "allow_virus": allow_virus},
        )
        return json_response({"release": queued.as_dict()}, HTTPStatus.ACCEPTED)

    # Issue 22: case export jobs (usecases/export_jobs.py), built by the export function.
    @app.post("/cases/<case>/export")
    def start_export(case: str) -> Response[str]:
        person = who(export_jobs.start_export, "exporting a case")
        request = export_jobs.ExportRequest.from_body(unquote(case), app.current_event.body)
        job = export_jobs.new_job(
            request.case,
            request.since,
            request.until,
            with_raw=request.with_raw,
            by=person,
            via="api",
            exports_prefix=settings.exports_prefix,
        )
        ports = export_ports()
        export_jobs.start_export(ports.jobs, ports.invoker, settings.export_function, job)
        logger.info(
            "export started",
            extra={"job": job.job_id, "case": job.case, "with_raw": job.with_raw, "by": person},
        )
        return json_response({"job": job.view()}, HTTPStatus.ACCEPTED)

    @app.get("/exports/<job_id>")
    def export_status(job_id: str) -> Response[str]:
        person = who(export_jobs.job_status, "following an export")
        ports = export_ports()
        job = export_jobs.job_status(ports.jobs, job_id)
        body: dict[str, Any] = {"job": job.view()}
        if job.status == export_jobs.DONE:
            body["url"] = export_jobs.job_link(ports.objects, job, settings.link_seconds)
            body["expires_in"] = settings.link_seconds
            logger.info("export link issued", extra={"job": job.job_id, "by": person})
        return json_response(body)

    @app.post("/cases/<case>/hold")
    def hold_case(case: str) -> Response[str]:
        person = who(holds.hold_case, "placing or releasing a legal hold")
        body = json_object(app.current_event.decoded_body)
        known(body, ("release", "reason"), "field")
        lift = body.get("release", False)
        if not isinstance(lift, bool):
            raise InvalidInput("release", "release is true or false")
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise InvalidInput("reason", "reason is a string")
        done = holds.hold_case(
            rt.catalog,
            rt.store,
            unquote(case),
            by=person,
            reason=reason,
            release=lift,
            audit=rt.audit,
            origin="api",
        )
        logger.info(
            "case hold released" if lift else "case held",
            extra={"case": done.case, "by": person, "files": len(done.files)},
        )
        return json_response(
            {
                "case": done.case,
                "released": done.released,
                "by": done.by,
                "at": done.at,
                "reason": done.reason,
                "files": done.files,
                "raw_objects": len(done.raw_objects),
                "versions": done.versions,
            }
        )

    def api_error(exc: ApiError) -> Response[str]:
        return error_response(exc.status, exc.code, str(exc))

    def use_case_error(exc: UseCaseError) -> Response[str]:
        status, code = HTTPStatus.BAD_REQUEST, "bad_request"
        if isinstance(exc, roles.Forbidden):  # names the role that is missing
            return error_response(
                HTTPStatus.FORBIDDEN, "forbidden", str(exc), role=exc.needed.group
            )
        if isinstance(exc, NotFound):
            status, code = HTTPStatus.NOT_FOUND, "not_found"
        elif isinstance(exc, holds.Held):  # the file is under legal hold: the message names it
            status, code = HTTPStatus.CONFLICT, "held"
        elif isinstance(exc, holds.NoObjectLock):
            status, code = HTTPStatus.CONFLICT, "no_object_lock"
        elif isinstance(exc, TooLarge):
            status, code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large"
        elif isinstance(exc, UnsupportedType):
            status, code = HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_type"
        elif not isinstance(exc, InvalidInput):  # IntegrityError and the like: ours, not theirs
            logger.exception("use case failed")
            status, code = HTTPStatus.INTERNAL_SERVER_ERROR, "internal"
        return error_response(status, code, str(exc))

    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("request failed")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal", "internal error")

    # Registered by call: powertools' exception_handler decorator is untyped.
    app.exception_handler(ApiError)(api_error)
    app.exception_handler(UseCaseError)(use_case_error)
    app.exception_handler(Exception)(unexpected)

    @app.not_found
    def no_route(exc: Exception) -> Response[str]:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route")

    return app


def count_audit_failure(exc: Exception) -> None:
    """An audit entry that could not be written: the AuditWriteFailures metric (an alarm's
    input), flushed at once (EMF on stdout; the namespace from POWERTOOLS_METRICS_NAMESPACE)."""
    with single_metric(name="AuditWriteFailures", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="function", value="api")


@cache
def resolver() -> APIGatewayHttpResolver:
    """Built once per cold start; a wiring mistake raises SettingsError naming every problem."""
    return build(ApiSettings.from_env(os.environ), runtime())


FILES = "/files/"
DOWNLOAD = "/download"


def canonical_path(raw_path: str) -> str:
    """`/files/{id}[/download]` with the id as one URL-encoded segment, however it arrived.

    A client sends the key encoded (`incoming%2Fm1%2F01-a.pdf`), but an HTTP API hands the
    function `rawPath` already decoded (unlike REST APIs and function URLs), so the key's
    slashes may be back: the API routes `/files/{proxy+}` and this puts the key back in one
    segment. Every file key has at least a prefix, a folder and a name, so a key whose last
    name is `download` is told apart from the download route by its depth.
    """
    if not raw_path.startswith(FILES):
        return raw_path
    rest = raw_path.removeprefix(FILES)
    suffix = ""
    if rest.endswith(DOWNLOAD) and rest.removesuffix(DOWNLOAD).count("/") != 1:
        rest, suffix = rest.removesuffix(DOWNLOAD), DOWNLOAD
    if "/" not in rest:
        return raw_path  # already one encoded segment: decoded once by the route
    return FILES + quote(rest, safe="") + suffix


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    path = event.get("rawPath")
    if isinstance(path, str):
        prefix = API_PREFIX if path.startswith(API_PREFIX + "/") else ""
        fixed = prefix + canonical_path(path.removeprefix(prefix))
        if fixed != path:
            event = {**event, "rawPath": fixed}
    return resolver().resolve(event, context)
