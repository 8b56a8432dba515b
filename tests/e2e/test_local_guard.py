"""Attacks on a running `mailroom local`, as another web page, a rebinding DNS name or a hostile
sender would make them: each is refused (or neutralised) and changes nothing.

- moto's server answered every origin (CORS echoing the Origin) and `/moto-api/*` to anyone;
- the local API answered any Host, and `/config.json` held the sign-in token;
- the SMTP door read a browser's HTTP POST line by line and ran the SMTP in its body;
- a `${filename}` in an upload's name made the presigned POST's key condition a prefix;
- `mailroom list --format csv` wrote an email's attachment name as a spreadsheet formula.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import smtplib
import socket
import time
from email.message import EmailMessage
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from mailroom.cli.main import cli
from mailroom.local.app import LocalMailroom

from .conftest import SUBMIT

EVIL = "http://evil.example"
PROBE_KEY = "guard/probe.txt"


@pytest.fixture(scope="module")
def probe(stack: LocalMailroom) -> str:
    """An object in the bucket that every refused request must leave where it is."""
    assert stack.endpoint is not None
    stack.endpoint.client("s3").put_object(
        Bucket=stack.config.bucket, Key=PROBE_KEY, Body=b"still here"
    )
    return f"{stack.endpoint.url}/{stack.config.bucket}/{PROBE_KEY}"


def signed(stack: LocalMailroom, method: str, **params: str) -> str:
    """A presigned URL made with the published fake credentials, as any page could make one."""
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    return str(
        s3.generate_presigned_url(
            method, Params={"Bucket": stack.config.bucket, **params}, ExpiresIn=300
        )
    )


def list_tables(stack: LocalMailroom, headers: dict[str, str]) -> requests.Response:
    """DynamoDB's ListTables as a page's fetch() makes it (moto checks no signature)."""
    assert stack.endpoint is not None
    return requests.post(
        stack.endpoint.url + "/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/"
            f"{stack.endpoint.region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            **headers,
        },
        timeout=30,
    )


def refused_by_the_guard(reply: requests.Response) -> bool:
    return reply.status_code == 403 and reply.text.startswith("403 Forbidden: ")


def probe_is_intact(stack: LocalMailroom) -> bool:
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    body = s3.get_object(Bucket=stack.config.bucket, Key=PROBE_KEY)["Body"].read()
    return bool(body == b"still here")


def api_url(stack: LocalMailroom) -> str:
    assert stack.api is not None
    return stack.api.url


def test_another_origin_is_refused_by_the_emulator_and_changes_nothing(
    stack: LocalMailroom, probe: str
) -> None:
    assert stack.endpoint is not None
    for method, url in (
        ("GET", signed(stack, "list_objects_v2")),  # list the raw mail
        ("GET", signed(stack, "get_object", Key=PROBE_KEY)),
        ("DELETE", signed(stack, "delete_object", Key=PROBE_KEY)),
        ("POST", f"{stack.endpoint.url}/moto-api/reset"),
    ):
        reply = requests.request(method, url, headers={"Origin": EVIL}, timeout=30)
        assert refused_by_the_guard(reply), (method, url, reply.status_code, reply.text)
        assert "Access-Control-Allow-Origin" not in reply.headers
        assert b"still here" not in reply.content
    tables = list_tables(stack, {"Origin": EVIL})
    assert refused_by_the_guard(tables), tables.text
    assert stack.config.table not in tables.text
    # A preflight from another origin gets no CORS answer: the browser sends nothing after it.
    preflight = requests.options(
        probe,
        headers={"Origin": EVIL, "Access-Control-Request-Method": "DELETE"},
        timeout=30,
    )
    assert refused_by_the_guard(preflight)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert probe_is_intact(stack)


def test_a_browser_request_without_origin_from_another_page_is_refused(
    stack: LocalMailroom, probe: str
) -> None:
    """`<img src>`, `<script src>`, `fetch(url, {mode: "no-cors"})`: no Origin, but
    Sec-Fetch-Site says a page made it. A link followed (the dashboard's download links)
    passes: its answer goes to the person, not to the page."""
    assert stack.api is not None
    url = signed(stack, "get_object", Key=PROBE_KEY)
    for site in ("cross-site", "same-site"):
        for mode in ("no-cors", "cors"):
            headers = {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": "image"}
            reply = requests.get(url, headers=headers, timeout=30)
            assert refused_by_the_guard(reply), (site, mode)
        opened = requests.get(
            url,
            headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "navigate"},
            timeout=30,
        )
        assert opened.status_code == 200
        assert opened.content == b"still here"


def test_the_dashboards_origins_still_reach_the_emulator(stack: LocalMailroom, probe: str) -> None:
    """The page's presigned GETs and POSTs come from http://127.0.0.1:API or localhost:API."""
    assert stack.api is not None
    for origin in (stack.api.url, f"http://localhost:{stack.api.port}"):
        url = signed(stack, "get_object", Key=PROBE_KEY)
        reply = requests.get(url, headers={"Origin": origin}, timeout=30)
        assert reply.status_code == 200, origin
        assert reply.content == b"still here"
        assert reply.headers["Access-Control-Allow-Origin"] == origin


def test_the_control_api_is_for_the_stack_alone(stack: LocalMailroom, probe: str) -> None:
    """No Origin (curl, a script, a form some browser sent without one): still refused."""
    assert stack.endpoint is not None
    for method, path in (
        ("POST", "/moto-api/reset"),
        ("GET", "/moto-api/data.json"),  # every bucket, table and queue in one document
        ("GET", "/moto-api/"),
    ):
        reply = requests.request(method, f"{stack.endpoint.url}{path}", timeout=30)
        assert refused_by_the_guard(reply), (method, path)
    assert probe_is_intact(stack)


def test_a_rebinding_host_is_refused_by_the_emulator_and_the_api(
    stack: LocalMailroom, probe: str
) -> None:
    assert stack.endpoint is not None and stack.api is not None
    emulator_port = stack.endpoint.url.rsplit(":", 1)[1]
    tables = list_tables(stack, {"Host": f"evil.example:{emulator_port}"})
    assert refused_by_the_guard(tables), tables.text
    assert stack.config.table not in tables.text
    url = signed(stack, "get_object", Key=PROBE_KEY)
    for host in (f"evil.example:{emulator_port}", "evil.example", "motoapi.amazonaws.com"):
        reply = requests.get(url, headers={"Host": host}, timeout=30)
        assert refused_by_the_guard(reply), host
        assert b"still here" not in reply.content
    reset = requests.post(
        f"{stack.endpoint.url}/moto-api/reset",
        headers={"Host": f"evil.example:{emulator_port}"},
        timeout=30,
    )
    assert refused_by_the_guard(reset)
    assert probe_is_intact(stack)

    auth = {"Authorization": f"Bearer {stack.api.token}"}
    for path, headers in (("/config.json", {}), ("/", {}), ("/files", auth)):
        reply = requests.get(
            f"{stack.api.url}{path}",
            headers={"Host": f"evil.example:{stack.api.port}", **headers},
            timeout=30,
        )
        assert reply.status_code == 421, path
        assert stack.api.token not in reply.text


def test_config_json_holds_no_token_and_the_link_does(stack: LocalMailroom) -> None:
    assert stack.api is not None
    reply = requests.get(f"{stack.api.url}/config.json", timeout=30)
    assert reply.status_code == 200
    assert stack.api.token not in reply.text
    assert "token" not in reply.json()["auth"]
    assert stack.dashboard_url == f"{stack.api.url}/#token={stack.api.token}"


def test_an_http_request_to_the_smtp_door_is_dropped(stack: LocalMailroom) -> None:
    """What a page's `fetch("http://127.0.0.1:2525/", {method: "POST", body})` sends."""
    assert stack.frontdoor is not None
    before = len(stack.frontdoor.received)
    smtp_in_body = (
        "HELO evil.example\r\n"
        "MAIL FROM:<mallory@evil.example>\r\n"
        f"RCPT TO:<{SUBMIT}>\r\n"
        "DATA\r\n"
        "Subject: from a web page\r\n\r\nhello\r\n.\r\n"
        "QUIT\r\n"
    )
    request = (
        "POST / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{stack.frontdoor.port}\r\n"
        "Origin: http://evil.example\r\n"
        "Content-Type: text/plain\r\n"
        f"Content-Length: {len(smtp_in_body)}\r\n\r\n" + smtp_in_body
    ).encode()
    with socket.create_connection((stack.frontdoor.host, stack.frontdoor.port), timeout=10) as s:
        greeting = s.recv(1024)
        assert greeting.startswith(b"220")
        s.sendall(request)
        answered = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break  # dropped
            answered += chunk
        else:
            pytest.fail("the SMTP door kept the connection open")
    assert answered == b""  # not a 500 per header, not a 250 for MAIL, RCPT or DATA
    time.sleep(0.5)
    assert len(stack.frontdoor.received) == before


def test_a_formula_named_attachment_is_neutralised_in_csv(stack: LocalMailroom) -> None:
    name = '=HYPERLINK("http://evil.example","open").pdf'
    message = EmailMessage()
    message["From"] = "Mallory <mallory@evil.example>"
    message["To"] = SUBMIT
    message["Subject"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    message.set_content("see attached")
    message.add_attachment(
        b"%PDF-1.4 hostile\n", maintype="application", subtype="pdf", filename=name
    )
    assert stack.frontdoor is not None
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
        smtp.ehlo("evil.example")
        smtp.mail("mallory@evil.example")
        smtp.rcpt(SUBMIT)
        code, reply = smtp.data(message.as_bytes())
        assert code == 250, reply
    message_id = reply.decode().split()[-1]
    stack.wait_for_messages([message_id], timeout=60)

    files = run_cli_csv(stack, "list", "--format", "csv")
    row = next(r for r in files if r["message_id"] == message_id)
    assert row["filename"] == "'" + name  # a spreadsheet shows the text, runs nothing
    messages = run_cli_csv(stack, "messages", "--format", "csv")
    subject = next(r["subject"] for r in messages if r["message_id"] == message_id)
    assert subject == "'@SUM(1+1)*cmd|' /C calc'!A0"


def run_cli_csv(stack: LocalMailroom, *args: str) -> list[dict[str, Any]]:
    assert stack.runner is not None
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    with stack.runner.exclusive():
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines()[1:]:
        assert not line.startswith(("=", "+", "-", "@", "\t", "\r")), line
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_a_dollar_brace_upload_name_lands_under_exactly_one_key(stack: LocalMailroom) -> None:
    """boto3 makes a key ending in `${filename}` a starts-with condition (S3 substitutes the
    form's file name): the form could then write any key under the upload's folder."""
    assert stack.api is not None and stack.endpoint is not None
    auth = {"Authorization": f"Bearer {stack.api.token}"}
    body = b"%PDF-1.7 brace name\n"
    signed = requests.post(
        f"{stack.api.url}/uploads",
        json={"filename": "scan${filename}", "size": len(body), "content_type": "application/pdf"},
        headers=auth,
        timeout=60,
    )
    assert signed.status_code == 201, signed.text
    form = signed.json()
    key = form["fields"]["key"]
    assert not set("${}") & set(key), key
    fields = {k.lower(): v for k, v in form["fields"].items()}
    policy = json.loads(base64.b64decode(fields["policy"]))
    key_conditions = [
        c
        for c in policy["conditions"]
        if (isinstance(c, dict) and "key" in c) or (isinstance(c, list) and c[1] == "$key")
    ]
    assert key_conditions in ([{"key": key}], [["eq", "$key", key]])
    assert not any("$" in json.dumps(c).replace('"$key"', "") for c in policy["conditions"])

    posted = requests.post(
        form["url"],
        data=form["fields"],
        files={"file": ("other-name.pdf", body, "application/pdf")},
        headers={"Origin": stack.api.url},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    folder = key.rsplit("/", 1)[0] + "/"
    s3 = stack.endpoint.client("s3")
    listed = s3.list_objects_v2(Bucket=stack.config.bucket, Prefix=folder).get("Contents", [])
    assert [o["Key"] for o in listed] == [key]
