"""Every route of the api handler against moto: results, status codes, paging, errors."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from mailroom.adapters.catalog import AuditTrail, Catalog
from mailroom.adapters.s3 import S3Store
from mailroom.audit import Target
from mailroom.handlers import api
from mailroom.policy import Outcome
from mailroom.usecases.recording import ObjectCreated, record_object
from tests.api.conftest import ORIGIN, STAFF, Call, event, file_path
from tests.cli.conftest import BUCKET, TABLE, Stack, hours_ago, run
from tests.conftest import load_event
from tests.integration.conftest import LambdaContext

ROUTES = [
    ("GET", "/files"),
    ("GET", "/files/incoming%2Fm1%2F01-a.pdf"),
    ("GET", "/files/incoming%2Fm1%2F01-a.pdf/download"),
    ("DELETE", "/files/incoming%2Fm1%2F01-a.pdf"),
    ("POST", "/uploads"),
    ("GET", "/messages"),
    ("GET", "/messages/m1"),
    ("POST", "/cases/case-7/hold"),
]


def seed(stack: Stack) -> None:
    """Three messages, five files, newest first: m3 (1 file), m2 (3 files), m1 (1 file)."""
    t1, t2, t3 = hours_ago(30), hours_ago(20), hours_ago(10)
    stack.add_message("m1", received_at=t1, from_address="client@example.com")
    stack.add_file("m1", "a.pdf", received_at=t1, case="case-7")
    stack.add_message("m2", received_at=t2, from_address="other@example.org")
    for n in (1, 2, 3):
        stack.add_file("m2", f"scan-{n}.pdf", index=n, received_at=t2, sender="other@example.org")
    stack.add_message(
        "m3", received_at=t3, outcome=Outcome.NO_ATTACHMENTS, from_address="x@y.example"
    )
    stack.add_file("m3", "late.pdf", received_at=t3, body=b"%PDF-1.7 late\n")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_answers_401_without_a_signed_in_identity(
    call: Call, stack: Stack, method: str, path: str
) -> None:
    seed(stack)
    reply = call(method, path, claims=None, body={} if method == "POST" else None)
    assert reply.status == 401
    assert reply.body == {"error": {"code": "unauthorized", "message": "sign in first"}}
    # Claims without any identity are no better than none.
    assert call(method, path, claims={"token_use": "id"}).status == 401
    assert stack.catalog.get_file("incoming/m1/01-a.pdf") is not None  # nothing was deleted


def test_sample_event_lists_files_from_one_sender(stack: Stack, call: Call) -> None:
    seed(stack)
    result = api.handler(load_event("api-http-get-files.json"), LambdaContext())
    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"] == "application/json"
    assert result["headers"]["Access-Control-Allow-Origin"] == ORIGIN
    body = json.loads(result["body"])
    assert [f["file_id"] for f in body["files"]] == [
        "incoming/m3/01-late.pdf",
        "incoming/m1/01-a.pdf",
    ]
    assert {f["matched"] for f in body["files"]} == {"sender"}
    assert body["next"] is None

    reply = call("GET", "/files", query={"sender": "Other@Example.org"})
    assert [f["file_id"] for f in reply.body["files"]] == [
        "incoming/m2/01-scan-1.pdf",
        "incoming/m2/02-scan-2.pdf",
        "incoming/m2/03-scan-3.pdf",
    ]


def test_files_are_the_records_of_list_json_newest_first(call: Call, stack: Stack) -> None:
    seed(stack)
    reply = call("GET", "/files")
    cli = run("list", "--format", "json")
    assert cli.exit_code == 0, cli.output
    assert reply.body["files"] == json.loads(cli.stdout)
    assert [f["file_id"] for f in reply.body["files"]] == [
        "incoming/m3/01-late.pdf",
        "incoming/m2/01-scan-1.pdf",
        "incoming/m2/02-scan-2.pdf",
        "incoming/m2/03-scan-3.pdf",
        "incoming/m1/01-a.pdf",
    ]


def test_pages_cover_every_file_once_even_inside_a_message(call: Call, stack: Stack) -> None:
    seed(stack)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        reply = call("GET", "/files", query=query)
        assert reply.status == 200
        assert len(reply.body["files"]) <= 2
        seen += [f["file_id"] for f in reply.body["files"]]
        pages += 1
        cursor = reply.body["next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f["file_id"] for f in call("GET", "/files").body["files"]]


def test_filters_by_case_and_dates(call: Call, stack: Stack) -> None:
    seed(stack)
    by_case = call("GET", "/files", query={"case": "case-7"}).body["files"]
    assert [f["file_id"] for f in by_case] == ["incoming/m1/01-a.pdf"]
    today = hours_ago(0)[:10]
    recent = call("GET", "/files", query={"since": today, "until": today}).body["files"]
    assert all(f["received_at"][:10] == today for f in recent)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
        ({"include_deleted": "maybe"}, "include_deleted"),
        ({"sendr": "typo@example.com"}, "sendr"),
    ],
)
def test_bad_listing_parameters_are_400(
    call: Call, stack: Stack, query: dict[str, str], field: str
) -> None:
    reply = call("GET", "/files", query=query)
    assert reply.status == 400, reply.body
    assert reply.error == "bad_request"
    assert reply.body["error"]["message"]


def test_one_file_by_its_url_encoded_key(call: Call, stack: Stack) -> None:
    seed(stack)
    record = stack.add_file("m4", "Relevé – été.pdf", received_at=hours_ago(1))
    reply = call("GET", file_path(record.file_id))
    assert reply.status == 200
    assert reply.body["file"]["file_id"] == record.file_id
    assert reply.body["file"]["filename"] == "Relevé – été.pdf"
    assert reply.body["file"]["deleted"] is False


def test_unknown_file_message_and_route_are_404(call: Call, stack: Stack) -> None:
    seed(stack)
    for method, path in [
        ("GET", file_path("incoming/m1/09-missing.pdf")),
        ("GET", file_path("incoming/m1/09-missing.pdf", "/download")),
        ("DELETE", file_path("incoming/m1/09-missing.pdf")),
        ("GET", "/messages/no-such-message"),
        ("GET", "/nothing-here"),
    ]:
        reply = call(method, path)
        assert reply.status == 404, (method, path, reply.body)
        assert reply.error == "not_found"


def test_download_is_a_short_link_under_the_original_name(call: Call, stack: Stack) -> None:
    seed(stack)
    record = stack.add_file(
        "m5", "Contrat signé.pdf", received_at=hours_ago(1), body=b"%PDF-1.7 contract\n"
    )
    reply = call("GET", file_path(record.file_id, "/download"))
    assert reply.status == 200
    assert reply.body["expires_in"] == 300
    params = parse_qs(urlparse(reply.body["url"]).query)
    assert params["X-Amz-Expires"] == ["300"]
    assert params["versionId"] == [record.version_id]
    disposition = params["response-content-disposition"][0]
    assert "filename*=UTF-8''Contrat%20sign%C3%A9.pdf" in disposition
    fetched = requests.get(reply.body["url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == b"%PDF-1.7 contract\n"


def test_quarantined_objects_are_never_served(call: Call, stack: Stack) -> None:
    key = "quarantine/m9/01-virus.exe"
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"MZ")
    assert call("GET", file_path(key, "/download")).status == 404
    # Even a record pointing there (the pipeline never writes one) gets no link.
    record = stack.add_file("m9", "virus.exe", received_at=hours_ago(1), store=False)
    stack.catalog.put_file(replace(record, file_id=key))
    reply = call("GET", file_path(key, "/download"))
    assert (reply.status, reply.error) == (404, "not_found")
    assert "url" not in reply.body


def policy_of(fields: dict[str, str]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return decoded


def test_presigned_post_uploads_and_is_recorded_with_the_uploader_as_sender(
    call: Call, stack: Stack
) -> None:
    body = b"%PDF-1.7 scanned letter\n" * 10
    reply = call(
        "POST",
        "/uploads",
        body={
            "filename": "Lettre reçue.pdf",
            "size": len(body),
            "content_type": "application/pdf",
            "case": "Case-42",
        },
    )
    assert reply.status == 201, reply.body
    file_id = reply.body["file_id"]
    assert file_id.startswith("incoming/up-")
    assert file_id.endswith("/Lettre reçue.pdf")
    fields = reply.body["fields"]
    assert fields["key"] == file_id
    assert fields["x-amz-meta-sender"] == "staff@firm.example"
    policy = policy_of(fields)
    conditions = policy["conditions"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert {"bucket": BUCKET} in conditions
    assert {"key": file_id} in conditions
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert expires <= datetime.now(UTC) + timedelta(seconds=301)
    # S3 refuses any other size, type or metadata (checked by S3, not by the emulator).
    assert ["content-length-range", len(body), len(body)] in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert {"x-amz-meta-sender": "staff@firm.example"} in conditions
    assert {"x-amz-meta-case": "case-42"} in conditions

    posted = requests.post(
        reply.body["url"],
        data=fields,
        files={"file": ("Lettre reçue.pdf", body, "application/pdf")},
        timeout=10,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    assert call("GET", file_path(file_id)).status == 404  # not recorded yet

    # What the ObjectCreated event makes record_metadata do.
    store = S3Store(stack.s3, BUCKET)
    recorded = record_object(ObjectCreated(file_id), "incoming/", store, Catalog(stack.ddb, TABLE))
    assert recorded is not None
    shown = call("GET", file_path(file_id))
    assert shown.status == 200
    record = shown.body["file"]
    assert record["sender"] == "staff@firm.example"
    assert record["source"] == "upload"
    assert record["case"] == "case-42"
    assert record["filename"] == "Lettre reçue.pdf"
    assert record["size"] == len(body)
    assert record["detected_type"] == "application/pdf"
    assert record["sha256"] == hashlib.sha256(body).hexdigest()
    # who uploaded: the api's note of who signed the form, not the form's own fields
    assert (record["uploaded_by"], record["sender_named_by"]) == ("staff@firm.example", None)
    assert stack.catalog.get_upload(file_id) == "staff@firm.example"
    listed = call("GET", "/files", query={"sender": "staff@firm.example"}).body["files"]
    assert [f["file_id"] for f in listed] == [file_id]


def test_include_claimed_finds_a_claimed_client_marked_so(call: Call, stack: Stack) -> None:
    forged = stack.add_file(
        "m9",
        "contract.pdf",
        received_at=hours_ago(1),
        sender="mallory@evil.example",
        original_sender="ceo@client.example",
        original_sender_level="claimed",
    )
    plain = call("GET", "/files", query={"sender": "ceo@client.example"})
    wider = call("GET", "/files", query={"sender": "ceo@client.example", "include_claimed": "true"})
    assert plain.body["files"] == []
    [found] = wider.body["files"]
    assert (found["file_id"], found["original_sender_level"]) == (forged.file_id, "claimed")
    assert call("GET", file_path(forged.file_id)).body["file"]["original_sender_level"] == "claimed"
    bad = call("GET", "/files", query={"sender": "ceo@client.example", "include_claimed": "maybe"})
    assert bad.status == 400


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (
            {"filename": "big.pdf", "size": 1048577, "content_type": "application/pdf"},
            413,
            "too_large",
        ),
        (
            {"filename": "x.exe", "size": 10, "content_type": "application/x-msdownload"},
            415,
            "unsupported_type",
        ),
        ({"filename": "x.exe", "size": 10}, 415, "unsupported_type"),
        ({"filename": "", "size": 10, "content_type": "application/pdf"}, 400, "bad_request"),
        ({"size": 10, "content_type": "application/pdf"}, 400, "bad_request"),
        (
            {"filename": "a.pdf", "size": "10", "content_type": "application/pdf"},
            400,
            "bad_request",
        ),
        ({"filename": "a.pdf", "size": 0, "content_type": "application/pdf"}, 400, "bad_request"),
        (
            {"filename": "a.pdf", "size": True, "content_type": "application/pdf"},
            400,
            "bad_request",
        ),
        ({"filename": "a.pdf", "size": 10, "case": "no spaces"}, 400, "bad_request"),
        ({"filename": "a.pdf", "size": 10, "sender": "me@x.example"}, 400, "bad_request"),
        ({"filename": 7, "size": 10}, 400, "bad_request"),
        (["a.pdf"], 400, "bad_request"),
    ],
)
def test_upload_limits_and_bad_input(
    call: Call, stack: Stack, payload: Any, status: int, code: str
) -> None:
    reply = call("POST", "/uploads", body=payload)
    assert (reply.status, reply.error) == (status, code), reply.body
    assert "url" not in reply.body


def test_upload_body_that_is_not_json_is_400(call: Call, stack: Stack) -> None:
    reply = call("POST", "/uploads", raw_body="filename=a.pdf")
    assert (reply.status, reply.error) == (400, "bad_request")


def test_delete_hides_the_file_keeps_its_version_and_never_serves_it(
    call: Call, stack: Stack
) -> None:
    seed(stack)
    target = "incoming/m2/02-scan-2.pdf"
    reply = call("DELETE", file_path(target))
    assert reply.status == 200
    assert reply.body["file"]["deleted"] is True
    assert reply.body["file"]["deleted_by"] == "Staff@Firm.example"
    when = reply.body["file"]["deleted_at"]
    # The current version is gone behind a delete marker; versioning keeps the bytes.
    versions = stack.s3.list_object_versions(Bucket=BUCKET, Prefix=target)
    assert len(versions["Versions"]) == 1
    assert [m["IsLatest"] for m in versions["DeleteMarkers"]] == [True]
    # Gone from listings, back with include_deleted, still readable by id, never served.
    listed = [f["file_id"] for f in call("GET", "/files").body["files"]]
    assert target not in listed and len(listed) == 4
    every = call("GET", "/files", query={"include_deleted": "true"}).body["files"]
    assert target in [f["file_id"] for f in every] and len(every) == 5
    assert call("GET", file_path(target)).body["file"]["deleted_at"] == when
    assert call("GET", file_path(target, "/download")).status == 404
    # A repeated DELETE changes nothing (same who and when).
    again = call("DELETE", file_path(target), claims={**STAFF, "email": "someone@firm.example"})
    assert again.status == 200
    assert (again.body["file"]["deleted_by"], again.body["file"]["deleted_at"]) == (
        "Staff@Firm.example",
        when,
    )
    assert len(stack.s3.list_object_versions(Bucket=BUCKET, Prefix=target)["DeleteMarkers"]) == 1
    # The CLI sees the same.
    cli = run("list", "--format", "json")
    assert target not in [f["file_id"] for f in json.loads(cli.stdout)]


def test_messages_by_outcome_paged_and_one_message(call: Call, stack: Stack) -> None:
    seed(stack)
    every = call("GET", "/messages", query={"limit": "2"})
    assert every.status == 200
    assert [m["message_id"] for m in every.body["messages"]] == ["m3", "m2"]
    rest = call("GET", "/messages", query={"limit": "2", "cursor": every.body["next"]})
    assert [m["message_id"] for m in rest.body["messages"]] == ["m1"]
    assert rest.body["next"] is None
    extracted = call("GET", "/messages", query={"outcome": "extracted"}).body["messages"]
    assert [m["message_id"] for m in extracted] == ["m2", "m1"]
    one = call("GET", "/messages/m2")
    assert one.status == 200
    assert one.body["message"]["from_address"] == "other@example.org"
    assert [f["file_id"] for f in one.body["files"]] == [
        "incoming/m2/01-scan-1.pdf",
        "incoming/m2/02-scan-2.pdf",
        "incoming/m2/03-scan-3.pdf",
    ]
    assert one.body["held"] == []
    bad = call("GET", "/messages", query={"outcome": "lost"})
    assert (bad.status, bad.error) == (400, "bad_request")
    assert call("GET", "/messages", query={"since": "soon"}).status == 400


def test_the_person_is_a_verified_address_and_nothing_else(call: Call, stack: Stack) -> None:
    """No falling back to a user name or subject: the address must be there and verified."""
    seed(stack)
    target = file_path("incoming/m1/01-a.pdf")
    for claims in (
        {**STAFF, "email_verified": "false"},
        {k: v for k, v in STAFF.items() if k != "email_verified"},
        {**STAFF, "email_verified": "yes"},
    ):
        for method, path in ROUTES:
            reply = call(method, path, claims=claims, body={} if method == "POST" else None)
            assert (reply.status, reply.error) == (401, "unverified"), (claims, method, path)
    without = {k: v for k, v in STAFF.items() if k != "email"} | {"cognito:username": "ann"}
    assert call("DELETE", target, claims=without).status == 401
    assert stack.catalog.get_file("incoming/m1/01-a.pdf").deleted is False  # type: ignore[union-attr]
    # A JSON true (a Lambda test event) is as good as the authorizer's "true".
    verified = call("GET", "/files", claims={**STAFF, "email_verified": True})
    assert verified.status == 200


# What each role may do (docs/ARCHITECTURE.md "Roles"): hierarchical, admins everything.
NEEDS = {
    ("GET", "/files"): "readers",
    ("GET", "/files/incoming%2Fm1%2F01-a.pdf"): "readers",
    ("GET", "/files/incoming%2Fm1%2F01-a.pdf/download"): "readers",
    ("GET", "/messages"): "readers",
    ("GET", "/messages/m1"): "readers",
    ("POST", "/uploads"): "uploaders",
    ("DELETE", "/files/incoming%2Fm1%2F01-a.pdf"): "admins",
    ("POST", "/cases/case-7/hold"): "admins",
}
RANK = {"readers": 1, "uploaders": 2, "admins": 3}
UPLOAD = {"filename": "a.pdf", "size": 10, "content_type": "application/pdf"}
BODIES = {"/cases/case-7/hold": {"release": True}}  # a release: the DELETE after it still runs


@pytest.mark.parametrize("groups", ["[readers]", "[uploaders]", "[admins]", "[]", "[staff]"])
def test_each_route_needs_its_role_and_a_403_names_the_missing_one(
    call: Call, stack: Stack, groups: str
) -> None:
    assert set(NEEDS) == set(ROUTES)
    seed(stack)
    held = max((RANK.get(g, 0) for g in groups.strip("[]").split()), default=0)
    # DELETE last: it changes what the other routes answer.
    for method, path in sorted(NEEDS, key=lambda route: route[0] == "DELETE"):
        needed = NEEDS[(method, path)]
        claims = {**STAFF, "cognito:groups": groups}
        body = BODIES.get(path, UPLOAD) if method == "POST" else None
        reply = call(method, path, claims=claims, body=body)
        if held >= RANK[needed]:
            assert reply.status in (200, 201), (groups, method, path, reply.body)
        else:
            assert reply.status == 403, (groups, method, path, reply.body)
            assert reply.body["error"]["code"] == "forbidden"
            assert reply.body["error"]["role"] == needed
            assert f"needs the {needed} role" in reply.body["error"]["message"]
    record = stack.catalog.get_file("incoming/m1/01-a.pdf")
    assert record is not None and record.deleted is (held == RANK["admins"])


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        ("[admins readers]", ["admins", "readers"]),  # the authorizer's form, exactly
        ("[readers]", ["readers"]),
        ("[]", []),
        ("", []),
        (["uploaders", "readers"], ["uploaders", "readers"]),  # a JSON list (a test event)
        (None, []),
        (7, []),
    ],
)
def test_the_groups_claim_is_parsed_in_the_authorizers_form(claim: Any, groups: list[str]) -> None:
    assert api.groups_of(claim) == groups


def test_several_groups_in_one_claim_grant_the_highest(call: Call, stack: Stack) -> None:
    seed(stack)
    claims = {**STAFF, "cognito:groups": "[readers admins]"}
    deleted = call("DELETE", file_path("incoming/m1/01-a.pdf"), claims=claims)
    assert deleted.status == 200 and deleted.body["file"]["deleted_by"] == "Staff@Firm.example"
    # A group that is no role adds nothing; the role that is there still counts.
    claims = {**STAFF, "cognito:groups": "[auditors readers]"}
    assert call("GET", "/files", claims=claims).status == 200
    assert call("POST", "/uploads", claims=claims, body=UPLOAD).status == 403


def test_routes_answer_under_the_api_prefix_the_distribution_forwards(
    call: Call, stack: Stack
) -> None:
    """CloudFront sends /api/files on unchanged; the HTTP API's routes are /api/...: the
    function strips the prefix, and a decoded key under it is put back in one segment."""
    seed(stack)
    listed = call("GET", "/api/files")
    assert listed.status == 200 and len(listed.body["files"]) == 5
    one = call("GET", "/api/files/incoming/m1/01-a.pdf")  # rawPath as an HTTP API decodes it
    assert (one.status, one.body["file"]["file_id"]) == (200, "incoming/m1/01-a.pdf")
    link = call("GET", "/api/files/incoming/m1/01-a.pdf/download")
    assert link.status == 200 and link.body["url"]
    assert call("GET", "/api/messages/m1").status == 200
    assert call("GET", "/apix/files").status == 404


def test_cors_answers_the_dashboard_origin_only(call: Call, stack: Stack) -> None:
    seed(stack)
    ours = call("GET", "/files", headers={"origin": ORIGIN})
    assert ours.headers["access-control-allow-origin"] == ORIGIN
    theirs = call("GET", "/files", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in theirs.headers
    preflight = call(
        "OPTIONS",
        "/files",
        claims=None,
        headers={"origin": ORIGIN, "access-control-request-method": "DELETE"},
    )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
    assert "Authorization" in preflight.headers["access-control-allow-headers"]


def test_no_cors_headers_without_a_configured_origin(
    call: Call, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILROOM_DASHBOARD_ORIGIN")
    api.resolver.cache_clear()
    reply = call("GET", "/files", headers={"origin": ORIGIN})
    assert reply.status == 200
    assert not any(k.startswith("access-control-") for k in reply.headers)


def test_event_builder_matches_the_sample(stack: Stack) -> None:
    built = event("GET", "/files", query={"sender": "client@example.com", "limit": "20"})
    assert built["requestContext"]["authorizer"]["jwt"]["claims"]["email"] == "Staff@Firm.example"
    assert built["version"] == "2.0"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/files/incoming%2Fm1%2F01-a.pdf", "/files/incoming%2Fm1%2F01-a.pdf"),
        ("/files/incoming%2Fm1%2F01-a.pdf/download", "/files/incoming%2Fm1%2F01-a.pdf/download"),
        ("/files/incoming/m1/01-a.pdf", "/files/incoming%2Fm1%2F01-a.pdf"),
        ("/files/incoming/m1/01-a.pdf/download", "/files/incoming%2Fm1%2F01-a.pdf/download"),
        ("/files/incoming/m1/download", "/files/incoming%2Fm1%2Fdownload"),
        ("/files/incoming/m1/download/download", "/files/incoming%2Fm1%2Fdownload/download"),
        ("/files/incoming/m1/50%.pdf", "/files/incoming%2Fm1%2F50%25.pdf"),
        ("/files", "/files"),
        ("/messages/m1", "/messages/m1"),
    ],
)
def test_canonical_path_puts_a_decoded_key_back_in_one_segment(raw: str, canonical: str) -> None:
    assert api.canonical_path(raw) == canonical


def test_routes_work_when_the_http_api_hands_over_a_decoded_path(call: Call, stack: Stack) -> None:
    seed(stack)
    # An upload keeps its name: a file called "download" is `incoming/<upload-id>/download`.
    key = "incoming/up-20261129-0a1b2c3d4e/download"
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"plain text\n", ContentType="text/plain")
    store = S3Store(stack.s3, BUCKET)
    assert record_object(ObjectCreated(key), "incoming/", store, stack.catalog) is not None
    shown = call("GET", f"/files/{key}")
    assert shown.body["file"]["file_id"] == key
    link = call("GET", f"/files/{key}/download")
    assert link.status == 200
    assert requests.get(link.body["url"], timeout=10).content == b"plain text\n"
    assert call("DELETE", "/files/incoming/m2/02-scan-2.pdf").body["file"]["deleted"] is True


def test_a_refusal_is_logged_with_who_and_the_missing_role(
    call: Call, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(stack)
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        api.logger, "info", lambda msg, *a, extra=None, **k: logged.append((msg, extra or {}))
    )
    claims = {**STAFF, "cognito:groups": "[uploaders]"}
    assert call("DELETE", file_path("incoming/m1/01-a.pdf"), claims=claims).status == 403
    assert ("refused", {"by": "Staff@Firm.example", "needs": "admins"}) in logged


def test_a_held_file_is_refused_by_delete_naming_the_hold_and_an_admin_releases_it(
    call: Call, stack: Stack
) -> None:
    """Issue 22 through the API (the bucket has Object Lock: tests/cli/conftest.py)."""
    seed(stack)
    admin = {**STAFF, "cognito:groups": "[admins]"}
    target = file_path("incoming/m1/01-a.pdf")
    held = call("POST", "/cases/case-7/hold", claims=admin, body={"reason": "dispute"})
    assert held.status == 200, held.body
    assert held.body["files"] == ["incoming/m1/01-a.pdf"] and held.body["reason"] == "dispute"
    assert held.body["by"] == "Staff@Firm.example"
    refused = call("DELETE", target, claims=admin)
    assert (refused.status, refused.error) == (409, "held")
    message = refused.body["error"]["message"]
    assert "legal hold" in message and "Staff@Firm.example" in message and "dispute" in message
    assert not stack.s3.list_object_versions(Bucket=BUCKET, Prefix="incoming/m1/01-a.pdf").get(
        "DeleteMarkers"
    )
    bad = call("POST", "/cases/case-7/hold", claims=admin, body={"release": "yes"})
    assert (bad.status, bad.error) == (400, "bad_request")
    released = call("POST", "/cases/case-7/hold", claims=admin, body={"release": True})
    assert released.status == 200 and released.body["released"] is True
    assert call("DELETE", target, claims=admin).status == 200
    # The api function writes the entries (server), one per call that did the work.
    entries = list(AuditTrail(stack.ddb, TABLE, 30).entries_of([Target.case("case-7")]))
    assert [(e.action, e.origin, e.reported_by) for e in entries] == [
        ("unhold", "api", "server"),
        ("hold", "api", "server"),
    ]
