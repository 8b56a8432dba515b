"""Issue 22: POST /cases/{case}/export and GET /exports/{job} against moto.

The api hands the job to the export function with an asynchronous invoke; here the invoker is
the one stand-in: it records the event and runs the export function's handler on it in
process (moto runs no function code), so the job is built by the real handler against the same
moto S3, DynamoDB and KMS. Through `mailroom local`'s real invoke: tests/e2e/test_smtp_to_cli.py.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from mailroom import exports
from mailroom.adapters.export_jobs import ExportJobTable
from mailroom.handlers import api, export_case
from mailroom.handlers.runtime import ExportPorts, export_ports
from tests.api.conftest import STAFF, Call
from tests.api.test_api import seed
from tests.cli.conftest import BUCKET, TABLE, Stack
from tests.integration.conftest import LambdaContext

FUNCTION = "mailroom-test-export-case"


class RunNow:
    """Records each asynchronous invoke and runs the export function's handler on it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Mapping[str, Any]]] = []
        self.run = True

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> None:
        self.events.append((function, event))
        if self.run:
            export_case.handler(dict(event), LambdaContext())  # type: ignore[arg-type]


@pytest.fixture
def invoker(stack: Stack, monkeypatch: pytest.MonkeyPatch, call: Call) -> Iterator[RunNow]:
    key = boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    monkeypatch.setenv("MAILROOM_EXPORT_SIGNING_KEY_ARN", key["KeyMetadata"]["Arn"])
    monkeypatch.setenv("MAILROOM_EXPORT_FUNCTION", FUNCTION)
    export_ports.cache_clear()
    export_case.export_settings.cache_clear()
    fake = RunNow()
    real = export_ports()
    monkeypatch.setattr(
        "mailroom.handlers.api.export_ports",
        lambda: ExportPorts(jobs=real.jobs, objects=real.objects, invoker=fake),  # type: ignore[arg-type]
    )
    yield fake
    export_ports.cache_clear()
    export_case.export_settings.cache_clear()


ADMIN = {**STAFF, "cognito:groups": "[admins]"}


def test_an_admin_starts_an_export_follows_it_and_gets_a_short_link(
    call: Call, stack: Stack, invoker: RunNow
) -> None:
    seed(stack)  # case-7: one file of m1
    invoker.run = False
    started = call("POST", "/cases/Case-7/export", claims=ADMIN, body={})
    assert started.status == 202, started.body
    job = started.body["job"]
    assert (job["status"], job["case"], job["requested_by"]) == (
        "queued",
        "case-7",
        "Staff@Firm.example",
    )
    assert job["requested_via"] == "api"
    [(function, event)] = invoker.events
    assert function == FUNCTION and event["job"]["job_id"] == job["job_id"]
    # Followed before the function ran: queued, no link.
    waiting = call("GET", f"/exports/{job['job_id']}", claims=ADMIN)
    assert waiting.status == 200 and waiting.body["job"]["status"] == "queued"
    assert "url" not in waiting.body

    export_case.handler(dict(event), LambdaContext())  # type: ignore[arg-type]

    done = call("GET", f"/exports/{job['job_id']}", claims=ADMIN)
    assert done.status == 200, done.body
    assert done.body["job"]["status"] == "done"
    assert (done.body["job"]["files_done"], done.body["job"]["files_total"]) == (1, 1)
    assert done.body["expires_in"] <= 300
    link = urlparse(done.body["url"])
    assert link.path.endswith(f"/exports/{job['job_id']}.zip")
    query = parse_qs(link.query)
    assert int(query["X-Amz-Expires"][0]) <= 300
    assert "case-7-export-" in query["response-content-disposition"][0]
    body = stack.s3.get_object(Bucket=BUCKET, Key=f"exports/{job['job_id']}.zip")["Body"].read()
    checked = exports.verify_export(io.BytesIO(body))
    assert checked.ok and checked.documents == 1, checked.problems


@pytest.mark.parametrize("groups", ["[readers]", "[uploaders]", "[]"])
def test_only_admins_may_start_or_follow_an_export(
    call: Call, stack: Stack, invoker: RunNow, groups: str
) -> None:
    seed(stack)
    claims = {**STAFF, "cognito:groups": groups}
    refused = call("POST", "/cases/case-7/export", claims=claims, body={})
    assert refused.status == 403 and refused.body["error"]["role"] == "admins"
    assert invoker.events == []  # nothing started
    job = call("POST", "/cases/case-7/export", claims=ADMIN, body={}).body["job"]
    followed = call("GET", f"/exports/{job['job_id']}", claims=claims)
    assert followed.status == 403 and followed.body["error"]["role"] == "admins"
    assert "url" not in followed.body


def test_bad_requests_are_refused_and_nothing_starts(
    call: Call, stack: Stack, invoker: RunNow
) -> None:
    for path, body in (
        ("/cases/Case 7!/export", {}),
        ("/cases/case-7/export", {"since": "soon"}),
        ("/cases/case-7/export", {"with_raw": "yes"}),
        ("/cases/case-7/export", {"format": "tar"}),
        ("/cases/case-7/export", {"since": "2026-12-05", "until": "2026-12-01"}),
    ):
        reply = call("POST", path, claims=ADMIN, body=body)
        assert reply.status == 400, (path, body, reply.body)
    assert invoker.events == []
    assert call("GET", "/exports/not-a-job", claims=ADMIN).status == 400
    assert call("GET", "/exports/" + "0" * 32, claims=ADMIN).status == 404


def test_a_case_without_documents_ends_failed_saying_so(
    call: Call, stack: Stack, invoker: RunNow
) -> None:
    job = call("POST", "/cases/case-99/export", claims=ADMIN, body={}).body["job"]
    reply = call("GET", f"/exports/{job['job_id']}", claims=ADMIN)
    assert reply.body["job"]["status"] == "failed"
    assert "no documents" in reply.body["job"]["error"]
    assert "url" not in reply.body


def test_a_job_with_no_progress_for_twenty_minutes_reads_failed(
    call: Call, stack: Stack, invoker: RunNow
) -> None:
    invoker.run = False
    job = call("POST", "/cases/case-7/export", claims=ADMIN, body={}).body["job"]
    ExportJobTable(stack.ddb, TABLE).update_job(
        job["job_id"], {"status": "running", "updated_at": "2026-01-01T00:00:00Z"}
    )
    reply = call("GET", f"/exports/{job['job_id']}", claims=ADMIN)
    assert reply.body["job"]["status"] == "failed"
    assert "no progress" in reply.body["job"]["error"]


def test_without_an_export_function_the_route_says_exports_are_not_configured(
    call: Call, stack: Stack, invoker: RunNow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_EXPORT_FUNCTION", "")
    api.resolver.cache_clear()
    reply = call("POST", "/cases/case-7/export", claims=ADMIN, body={})
    assert reply.status == 500
    assert "not configured" in reply.body["error"]["message"]
    assert invoker.events == []
