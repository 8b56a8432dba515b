"""The local HTTP API adapter without a stack: the payload 2.0 event it builds, the gateway's
own answers (authorizer, routes), and the dashboard site it serves (files, config.json,
security headers). The function behind it is a recording stand-in here; the real handler on a
running stack is in tests/e2e/test_local_httpapi.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests

from mailroom.handlers.api import canonical_path
from mailroom.local.httpapi import (
    CONFIG_PATH,
    ROUTES,
    InvokeError,
    LocalHttpApi,
    authorizer_claims,
    build_event,
    default_web_dir,
    find_route,
    is_api_path,
    reply_from_result,
)
from tests.conftest import load_event

EMULATOR = "http://127.0.0.1:45250"
TOKEN = "local-token-for-tests"
KEY = "incoming/m1/01-Lettre reçue.pdf"
NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


def event_for(
    method: str,
    target: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    path = target.partition("?")[0]
    found = find_route(method, unquote(path))
    assert found is not None, target
    route, params = found
    return build_event(
        method=method,
        target=target,
        headers=headers or [("Host", "127.0.0.1:4526")],
        body=body,
        source_ip="127.0.0.1",
        route_key=route.key,
        path_parameters=params,
        claims=claims,
        now=NOW,
        request_id="req-1",
    )


# -- the event -------------------------------------------------------------------------------


def test_an_encoded_key_arrives_decoded_as_an_http_api_hands_it_over() -> None:
    target = f"/files/{quote(KEY, safe='')}/download"
    assert "%2F" in target
    event = event_for("GET", target)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /files/{proxy+}"
    assert event["rawPath"] == f"/files/{KEY}/download"
    assert event["requestContext"]["http"]["path"] == f"/files/{KEY}/download"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["routeKey"] == "GET /files/{proxy+}"
    assert event["pathParameters"] == {"proxy": f"{KEY}/download"}
    # ...and the handler puts the key back into one segment before routing.
    assert canonical_path(event["rawPath"]) == f"/files/{quote(KEY, safe='')}/download"


def test_query_string_raw_and_parsed_with_repeats_joined() -> None:
    event = event_for("GET", "/files?sender=a%40x.example&limit=20&case=c1&case=c2&flag=")
    assert event["rawQueryString"] == "sender=a%40x.example&limit=20&case=c1&case=c2&flag="
    assert event["queryStringParameters"] == {
        "sender": "a@x.example",
        "limit": "20",
        "case": "c1,c2",
        "flag": "",
    }
    assert "queryStringParameters" not in event_for("GET", "/files")
    assert event_for("GET", "/files")["rawQueryString"] == ""


def test_headers_lower_cased_repeats_joined_cookies_apart() -> None:
    event = event_for(
        "GET",
        "/files",
        headers=[
            ("Host", "127.0.0.1:4526"),
            ("User-Agent", "Mozilla/5.0"),
            ("X-Forwarded-For", "10.0.0.1"),
            ("X-Forwarded-For", "10.0.0.2"),
            ("Cookie", "a=1; b=2"),
        ],
    )
    assert event["headers"] == {
        "host": "127.0.0.1:4526",
        "user-agent": "Mozilla/5.0",
        "x-forwarded-for": "10.0.0.1,10.0.0.2",
    }
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["userAgent"] == "Mozilla/5.0"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["domainName"] == "127.0.0.1:4526"
    assert event["requestContext"]["time"] == "29/Nov/2026:20:00:00 +0000"
    assert event["requestContext"]["timeEpoch"] == int(NOW.timestamp() * 1000)


def test_json_body_is_text_and_binary_body_is_base64() -> None:
    text = json.dumps({"filename": "é.pdf", "size": 3}).encode()
    event = event_for(
        "POST",
        "/uploads",
        headers=[("Content-Type", "application/json; charset=utf-8")],
        body=text,
    )
    assert event["body"] == text.decode()
    assert event["isBase64Encoded"] is False

    binary = bytes(range(256))
    event = event_for(
        "POST", "/uploads", headers=[("Content-Type", "application/octet-stream")], body=binary
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == binary

    # Declared as text but not UTF-8: passed on as bytes, never mangled.
    event = event_for("POST", "/uploads", headers=[("Content-Type", "text/plain")], body=b"\xff")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff"

    assert "body" not in event_for("GET", "/files")


def test_claims_go_where_the_jwt_authorizer_puts_them() -> None:
    claims = {"sub": "local-staff", "email": "staff@mailroom.local"}
    event = event_for("GET", "/files", claims=claims)
    assert event["requestContext"]["authorizer"] == {"jwt": {"claims": claims, "scopes": None}}
    assert "authorizer" not in event_for("GET", "/files")["requestContext"]


def test_the_event_has_every_field_of_the_sample_http_api_event() -> None:
    sample = load_event("api-http-get-files.json")
    built = event_for("GET", "/files?limit=20", claims={"email": "s@x.example"})
    assert set(sample) <= set(built) | {"body"}
    assert set(sample["requestContext"]) <= set(built["requestContext"])
    assert set(sample["requestContext"]["http"]) == set(built["requestContext"]["http"])


@pytest.mark.parametrize(
    ("method", "path", "route_key"),
    [
        ("GET", "/files", "GET /files"),
        ("GET", "/files/incoming/m1/a.pdf", "GET /files/{proxy+}"),
        ("DELETE", "/files/incoming/m1/a.pdf", "DELETE /files/{proxy+}"),
        ("POST", "/uploads", "POST /uploads"),
        ("GET", "/messages", "GET /messages"),
        ("GET", "/messages/0123abc", "GET /messages/{proxy+}"),
        ("GET", "/messages/a/b", "GET /messages/{proxy+}"),  # the handler answers 404
        ("POST", "/cases/case-42/hold", "POST /cases/{case}/hold"),  # issue 22
        ("POST", "/cases/case-42", None),
        ("GET", "/cases/case-42/hold", None),
        ("GET", "/uploads", None),
        ("POST", "/files", None),
        ("GET", "/files/", None),
        ("POST", "/cases/matter-1/export", "POST /cases/{case}/export"),  # issue 22
        ("GET", "/cases/matter-1/export", None),
        ("POST", "/cases/a/b/export", None),
        ("GET", "/exports/0123abcd", "GET /exports/{job}"),
        ("GET", "/exports/a/b", None),
    ],
)
def test_routes_as_the_http_api_declares_them(
    method: str, path: str, route_key: str | None
) -> None:
    found = find_route(method, path)
    assert (found[0].key if found else None) == route_key
    assert is_api_path(path)


def test_site_paths_never_collide_with_api_paths() -> None:
    for path in ("/", "/index.html", "/app.js", "/style.css", CONFIG_PATH, "/filesystem.js"):
        assert not is_api_path(path)
    assert {r.template.split("/")[1] for r in ROUTES} == {
        "files",
        "uploads",
        "messages",
        "quarantine",
        "cases",  # issue 22: POST /cases/{case}/export
        "exports",  # issue 22: GET /exports/{job}
        "audit",  # issue 22: GET /audit
    }


def test_the_function_result_becomes_the_http_response() -> None:
    reply = reply_from_result(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json"},
            "cookies": ["a=1; Secure", "b=2"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert reply.status == 201
    assert ("Set-Cookie", "a=1; Secure") in reply.headers
    assert ("Set-Cookie", "b=2") in reply.headers
    assert reply.body == b"\x00\x01"
    # Without a statusCode API Gateway takes the result as a JSON body with status 200.
    inferred = reply_from_result({"hello": "world"})
    assert (inferred.status, json.loads(inferred.body)) == (200, {"hello": "world"})


def test_web_dir_comes_from_the_environment_else_the_repository(tmp_path: Path) -> None:
    assert default_web_dir({"MAILROOM_WEB_DIR": str(tmp_path)}) == tmp_path.resolve()
    repository = Path(__file__).resolve().parents[2]
    assert default_web_dir({}) == repository / "web"


# -- the server, with a recording stand-in for the function ---------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail: InvokeError | None = None

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if self.fail is not None:
            raise self.fail
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"seen": event["rawPath"]}),
        }


@pytest.fixture
def web(tmp_path: Path) -> Path:
    site = tmp_path / "web"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>mailroom</title>\n")
    (site / "app.js").write_text("console.log('mailroom');\n")
    (site / "style.css").write_text("body { margin: 0 }\n")
    (site / ".secret").write_text("hidden\n")
    (tmp_path / "outside.txt").write_text("outside\n")
    return site


@pytest.fixture
def server(web: Path) -> Iterator[tuple[LocalHttpApi, Recorder]]:
    api = LocalHttpApi(
        port=0, token=TOKEN, staff_address="staff@firm.example", web_dir=web, emulator_url=EMULATOR
    )
    recorder = Recorder()
    api.serve(recorder)
    try:
        yield api, recorder
    finally:
        api.stop()


def test_no_token_or_a_wrong_one_is_401_before_the_function(
    server: tuple[LocalHttpApi, Recorder],
) -> None:
    api, recorder = server
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        reply = requests.get(f"{api.url}/files", headers=headers, timeout=10)
        assert reply.status_code == 401, headers
        assert reply.json() == {"message": "Unauthorized"}
    assert recorder.events == []

    reply = requests.get(
        f"{api.url}/files", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert reply.status_code == 200
    claims = recorder.events[0]["requestContext"]["authorizer"]["jwt"]["claims"]
    # As API Gateway's JWT authorizer passes them: strings, a list as "[a b]".
    assert claims == {
        "sub": "local-staff",
        "email": "staff@firm.example",
        "email_verified": "true",
        "cognito:username": "local-staff",
        "cognito:groups": "[admins]",
    }


def test_each_issued_token_carries_its_role_in_the_authorizers_form(
    server: tuple[LocalHttpApi, Recorder],
) -> None:
    api, recorder = server
    reader = api.issue_token("reader")
    unverified = api.issue_token("uploader", email_verified=False)
    for token in (reader, unverified):
        reply = requests.get(
            f"{api.url}/files", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert reply.status_code == 200
    first, second = (e["requestContext"]["authorizer"]["jwt"]["claims"] for e in recorder.events)
    assert (first["cognito:groups"], first["email_verified"]) == ("[readers]", "true")
    assert (second["cognito:groups"], second["email_verified"]) == ("[uploaders]", "false")
    # The token reads like Cognito's ID token (the page shows who and which role from it).
    payload = reader.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["cognito:groups"] == ["readers"] and claims["email_verified"] is True
    assert len(reader.split(".")[2]) >= 43  # 32 random bytes: the part nobody can guess
    # A made-up token with the same claims is refused: only issued tokens count.
    forged = ".".join([*reader.split(".")[:2], "x" * 43])
    reply = requests.get(
        f"{api.url}/files", headers={"Authorization": f"Bearer {forged}"}, timeout=10
    )
    assert reply.status_code == 401


def test_authorizer_claims_are_strings_as_api_gateway_passes_them() -> None:
    claims = authorizer_claims(
        {"email_verified": True, "cognito:groups": ["admins", "readers"], "exp": 1700000000}
    )
    assert claims == {
        "email_verified": "true",
        "cognito:groups": "[admins readers]",
        "exp": "1700000000",
    }


def test_an_unknown_api_route_is_the_gateways_404(server: tuple[LocalHttpApi, Recorder]) -> None:
    api, recorder = server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for method, path in (("GET", "/uploads"), ("POST", "/files"), ("PUT", "/files/x/y/z")):
        reply = requests.request(method, f"{api.url}{path}", headers=auth, timeout=10)
        assert (reply.status_code, reply.json()) == (404, {"message": "Not Found"})
    assert recorder.events == []


def test_preflight_reaches_the_function_without_credentials(
    server: tuple[LocalHttpApi, Recorder],
) -> None:
    api, recorder = server
    reply = requests.options(
        f"{api.url}/files/{quote(KEY, safe='')}",
        headers={"Origin": api.url, "Access-Control-Request-Method": "DELETE"},
        timeout=10,
    )
    assert reply.status_code == 200
    (event,) = recorder.events
    assert event["requestContext"]["http"]["method"] == "OPTIONS"
    assert "authorizer" not in event["requestContext"]


def test_a_failed_or_timed_out_function_is_500_or_503(
    server: tuple[LocalHttpApi, Recorder],
) -> None:
    api, recorder = server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    recorder.fail = InvokeError("boom")
    reply = requests.get(f"{api.url}/messages", headers=auth, timeout=10)
    assert (reply.status_code, reply.json()) == (500, {"message": "Internal Server Error"})
    recorder.fail = InvokeError("Task timed out", timed_out=True)
    reply = requests.get(f"{api.url}/messages", headers=auth, timeout=10)
    assert (reply.status_code, reply.json()) == (503, {"message": "Service Unavailable"})


def test_a_body_over_the_gateways_10_mb_is_413(server: tuple[LocalHttpApi, Recorder]) -> None:
    api, recorder = server
    reply = requests.post(
        f"{api.url}/uploads",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Length": str(10 * 1024 * 1024 + 1)},
        data=b"",
        timeout=10,
    )
    assert reply.status_code == 413
    assert recorder.events == []


def test_a_chunked_body_is_refused_not_misread(server: tuple[LocalHttpApi, Recorder]) -> None:
    api, recorder = server

    def chunks() -> Iterator[bytes]:
        yield b'{"filename": "a.pdf",'
        yield b' "size": 3}'

    reply = requests.post(
        f"{api.url}/uploads",
        headers={"Authorization": f"Bearer {TOKEN}"},
        data=chunks(),
        timeout=10,
    )
    assert reply.status_code == 411
    assert recorder.events == []


def test_the_site_serves_web_files_with_cloudfronts_security_headers(
    server: tuple[LocalHttpApi, Recorder], web: Path
) -> None:
    api, _ = server
    for path, kind, name in (
        ("/", "text/html", "index.html"),
        ("/index.html", "text/html", "index.html"),
        ("/app.js", "javascript", "app.js"),
        ("/style.css", "text/css", "style.css"),
    ):
        reply = requests.get(f"{api.url}{path}", timeout=10)
        assert reply.status_code == 200, path
        assert kind in reply.headers["Content-Type"]
        assert reply.content == (web / name).read_bytes()
        csp = reply.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert f"connect-src 'self' {EMULATOR}" in csp
        assert "frame-ancestors 'none'" in csp
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
    head = requests.head(f"{api.url}/app.js", timeout=10)
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    "path", ["/.secret", "/../outside.txt", "/%2e%2e/outside.txt", "/nope.js", "/web/app.js"]
)
def test_the_site_serves_nothing_outside_web_nor_hidden(
    server: tuple[LocalHttpApi, Recorder], path: str
) -> None:
    api, _ = server
    reply = requests.get(f"{api.url}{path}", timeout=10)
    assert reply.status_code == 404
    assert b"outside" not in reply.content and b"hidden" not in reply.content
    assert reply.headers["X-Frame-Options"] == "DENY"


def test_config_json_is_the_contract_with_the_page(server: tuple[LocalHttpApi, Recorder]) -> None:
    api, _ = server
    reply = requests.get(f"{api.url}/config.json", timeout=10)
    assert reply.status_code == 200
    # No token: whatever can make a browser fetch this file learns nothing that signs in.
    assert reply.json() == {
        "apiUrl": api.url,
        "auth": {"mode": "local", "user": "staff@firm.example"},
    }
    assert TOKEN not in reply.text
    assert api.url == f"http://127.0.0.1:{api.port}"
    assert api.dashboard_link == f"{api.url}/#token={TOKEN}"
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_another_host_is_421_before_anything_is_answered(
    server: tuple[LocalHttpApi, Recorder],
) -> None:
    """DNS rebinding: a page at evil.example whose name now points to 127.0.0.1 sends its own
    Host; neither the site, nor config.json, nor the API (with a valid token) answers it."""
    api, recorder = server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for host in (
        f"evil.example:{api.port}",
        "evil.example",
        f"127.0.0.1:{api.port + 1}",
        f"127.0.0.1.evil.example:{api.port}",
        f"localhost.:{api.port}",
    ):
        for path, headers in (("/", {}), ("/config.json", {}), ("/files", auth)):
            reply = requests.get(f"{api.url}{path}", headers={"Host": host, **headers}, timeout=10)
            assert reply.status_code == 421, (host, path)
            assert reply.json() == {"message": "Misdirected Request"}
    assert recorder.events == []
    for host in (f"127.0.0.1:{api.port}", f"localhost:{api.port}", f"LOCALHOST:{api.port}"):
        reply = requests.get(f"{api.url}/files", headers={"Host": host, **auth}, timeout=10)
        assert reply.status_code == 200, host
    assert len(recorder.events) == 3


def test_without_the_page_slash_says_which_folder_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "no-web-here"
    api = LocalHttpApi(port=0, token=TOKEN, web_dir=missing, emulator_url=EMULATOR)
    api.serve(Recorder())
    try:
        reply = requests.get(f"{api.url}/", timeout=10)
        assert reply.status_code == 404
        assert str(missing) in reply.text
        assert "MAILROOM_WEB_DIR" in reply.text
        assert requests.get(f"{api.url}/config.json", timeout=10).status_code == 200
    finally:
        api.stop()


def test_a_taken_port_is_refused_clearly() -> None:
    first = LocalHttpApi(port=0, token=TOKEN, web_dir=Path("/nonexistent"), emulator_url=EMULATOR)
    first.bind()
    try:
        second = LocalHttpApi(
            port=first.port, token=TOKEN, web_dir=Path("/nonexistent"), emulator_url=EMULATOR
        )
        with pytest.raises(OSError, match=f"port {first.port} on 127.0.0.1 is in use"):
            second.bind()
    finally:
        first.stop()


def test_local_help_names_the_api_port_and_the_dashboard() -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from mailroom.cli.main import cli  # noqa: PLC0415

    result = CliRunner().invoke(cli, ["local", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--api-port" in text and "4526" in text
    assert "dashboard" in text and "MAILROOM_API_TOKEN" in text
    assert "--staff" in text


def test_the_staff_address_must_be_an_address() -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from mailroom.cli.main import cli  # noqa: PLC0415

    # Refused while parsing: --data with --attach would be refused next, so nothing starts.
    result = CliRunner().invoke(
        cli, ["local", "--staff", "nobody", "--attach", "http://127.0.0.1:9", "--data", "x"]
    )
    assert result.exit_code == 2
    assert "'nobody' is not an address" in result.output
