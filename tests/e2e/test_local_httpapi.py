"""The staff API and the dashboard on a running local stack: the real `api` handler behind the
local HTTP adapter, and a browser-style upload straight to the emulator that then takes the
ordinary incoming/ -> record_metadata path."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
import requests
from click.testing import CliRunner

from mailroom.cli.main import cli
from mailroom.local import state as state_file
from mailroom.local.app import LocalMailroom
from mailroom.local.stack import StackConfig

from .conftest import SUBMIT, run_cli

STAFF = "staff@firm.example"
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("web")
    (site / "index.html").write_text("<!doctype html><title>mailroom dashboard</title>\n")
    return site


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, web: Path) -> Iterator[LocalMailroom]:
    state_dir = tmp_path_factory.mktemp("mailroom-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAILROOM_STATE_DIR", str(state_dir))
        with LocalMailroom(
            StackConfig(submission_addresses=(SUBMIT,)),
            smtp_port=0,
            state_dir=state_dir,
            staff_address=STAFF,
            web_dir=web,
        ) as running:
            yield running


class Api:
    """The API as a script or the page calls it: base URL and bearer token from the stack."""

    def __init__(self, stack: LocalMailroom) -> None:
        env = stack.env()
        self.url = env["MAILROOM_API_URL"]
        self.auth = {"Authorization": f"Bearer {env['MAILROOM_API_TOKEN']}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method, f"{self.url}{path}", headers=self.auth, timeout=60, **kwargs
        )


@pytest.fixture(scope="module")
def api(stack: LocalMailroom) -> Api:
    return Api(stack)


def test_routes_reach_the_real_handler(api: Api) -> None:
    listed = api.call("GET", "/files", params={"limit": "5"})
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"files": [], "next": None}
    assert listed.headers["Cache-Control"] == "no-store"
    # The handler's own errors, not the gateway's: {"error": {"code", "message"}}.
    missing = api.call("GET", f"/files/{quote('incoming/m1/01-a.pdf', safe='')}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = api.call("GET", "/files", params={"limit": "0"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_request")
    unauthorized = requests.get(f"{api.url}/files", timeout=30)
    assert (unauthorized.status_code, unauthorized.json()) == (401, {"message": "Unauthorized"})


def test_cors_preflight_for_the_dashboard_origin_only(api: Api) -> None:
    ok = requests.options(
        f"{api.url}/files",
        headers={
            "Origin": api.url,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=60,
    )
    assert ok.status_code in (200, 204)
    assert ok.headers["Access-Control-Allow-Origin"] == api.url
    assert "authorization" in ok.headers["Access-Control-Allow-Headers"].lower()
    other = requests.options(
        f"{api.url}/files",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=60,
    )
    assert other.headers.get("Access-Control-Allow-Origin") != "http://evil.example"


def test_the_dashboard_and_its_config_are_served_beside_the_api(
    stack: LocalMailroom, api: Api, web: Path
) -> None:
    page = requests.get(f"{api.url}/", timeout=30)
    assert page.status_code == 200
    assert page.content == (web / "index.html").read_bytes()
    assert stack.endpoint is not None
    assert f"connect-src 'self' {stack.endpoint.url}" in page.headers["Content-Security-Policy"]
    config = requests.get(f"{api.url}/config.json", timeout=30).json()
    # The token is in the link `mailroom local` prints (a fragment: never sent), not here.
    assert config == {"apiUrl": api.url, "auth": {"mode": "local", "user": STAFF}}
    assert stack.dashboard_url == f"{api.url}/#token={api.auth['Authorization'][7:]}"


def test_upload_from_the_browser_is_recorded_downloaded_and_deleted(
    stack: LocalMailroom, api: Api
) -> None:
    body = os.urandom(3000) + b"%PDF-1.7 scanned letter\n"
    signed = api.call(
        "POST",
        "/uploads",
        json={"filename": "Lettre reçue.pdf", "size": len(body), "content_type": "application/pdf"},
    )
    assert signed.status_code == 201, signed.text
    form = signed.json()
    file_id = form["file_id"]
    assert stack.endpoint is not None
    assert form["url"].startswith(f"{stack.endpoint.url}/")  # reachable from this machine

    # What a browser on the dashboard's origin does: a preflight (were the request not a
    # "simple" one), then the multipart POST; both must allow the dashboard's origin.
    preflight = requests.options(
        form["url"],
        headers={
            "Origin": api.url,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == api.url
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    posted = requests.post(
        form["url"],
        data=form["fields"],
        files={"file": ("Lettre reçue.pdf", body, "application/pdf")},
        headers={"Origin": api.url},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    assert posted.headers["Access-Control-Allow-Origin"] == api.url

    # ObjectCreated -> record_metadata, as for mail: the uploader is the sender.
    def listed() -> dict[str, Any] | None:
        files = api.call("GET", "/files", params={"sender": STAFF}).json()["files"]
        return next((f for f in files if f["file_id"] == file_id), None)

    record = wait_for(listed, 60, "the uploaded file's record")
    assert record["sender"] == STAFF
    assert record["source"] == "upload"
    assert record["filename"] == "Lettre reçue.pdf"
    assert record["sha256"] == hashlib.sha256(body).hexdigest()

    link = api.call("GET", f"/files/{quote(file_id, safe='')}/download")
    assert link.status_code == 200, link.text
    fetched = requests.get(link.json()["url"], timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == body

    deleted = api.call("DELETE", f"/files/{quote(file_id, safe='')}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["file"]["deleted_by"] == STAFF
    shown = [f["file_id"] for f in api.call("GET", "/files").json()["files"]]
    assert file_id not in shown
    kept = api.call("GET", "/files", params={"include_deleted": "true"}).json()["files"]
    assert [f["deleted"] for f in kept if f["file_id"] == file_id] == [True]

    # Issue 22: the api wrote one server entry per action it served, naming who, from local.
    history = api.call("GET", "/audit", params={"file": file_id})
    assert history.status_code == 200, history.text
    entries = history.json()["entries"]
    assert sorted(e["action"] for e in entries) == ["delete", "download", "upload"]
    assert {(e["actor"], e["origin"], e["reported_by"]) for e in entries} == {
        (STAFF, "local", "server")
    }


def test_the_cli_reports_its_download_and_delete_once_each(stack: LocalMailroom, api: Api) -> None:
    """Issue 22, through `mailroom local`: the CLI's own entries (reported by the client) name
    the local stack's staff identity; `mailroom audit --json` reads them back."""
    signed = upload_one(stack, api, "audited.pdf")
    assert signed.status_code == 201, signed.text
    file_id = signed.json()["file_id"]
    recorded(api, file_id)
    assert stack.runner is not None
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    # What `mailroom local` writes for other shells: the CLI learns the staff identity there.
    state_file.write_state(stack.local_state(os.getpid()))
    try:
        with tempfile.TemporaryDirectory() as out, stack.runner.exclusive():
            got = CliRunner().invoke(cli, ["get", file_id, "--output", out + "/"], env=env)
            assert got.exit_code == 0, got.output
        run_cli(stack, "delete", file_id, "--yes")

        entries = run_cli(stack, "audit", "--file", file_id)
        by_client = [e for e in entries if e["reported_by"] == "client"]
        assert sorted(e["action"] for e in by_client) == ["delete", "download"]
        assert {(e["actor"], e["origin"]) for e in by_client} == {(STAFF, "cli")}
        # the api's own: the upload it signed, the show `recorded` polled (once a minute at most)
        by_server = [e for e in entries if e["reported_by"] == "server"]
        assert {e["action"] for e in by_server} == {"upload", "show"}
        assert all(e["target"] == {"kind": "file", "id": file_id} for e in entries)
    finally:
        state_file.clear_state(os.getpid())


# -- roles, end to end: tokens of each role on the same stack --------------------------------


def as_role(stack: LocalMailroom, role: str, *, email_verified: bool = True) -> Api:
    assert stack.api is not None
    api = Api(stack)
    token = stack.api.issue_token(role, email_verified=email_verified)
    api.auth = {"Authorization": f"Bearer {token}"}
    return api


def upload_one(stack: LocalMailroom, api: Api, name: str) -> requests.Response:
    """Sign an upload and, when signed, post the bytes; the signing answer."""
    body = b"%PDF-1.7 " + name.encode() + b"\n"
    signed = api.call(
        "POST",
        "/uploads",
        json={"filename": name, "size": len(body), "content_type": "application/pdf"},
    )
    if signed.status_code == 201:
        form = signed.json()
        posted = requests.post(
            form["url"],
            data=form["fields"],
            files={"file": (name, body, "application/pdf")},
            timeout=30,
        )
        assert posted.status_code in (200, 201, 204), posted.text
    return signed


def recorded(api: Api, file_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        reply = api.call("GET", f"/files/{quote(file_id, safe='')}")
        return reply.json()["file"] if reply.status_code == 200 else None

    return wait_for(found, 60, f"the record of {file_id}")


def test_each_role_may_do_what_it_needs_and_is_told_what_it_lacks(stack: LocalMailroom) -> None:
    reader, uploader, admin = (as_role(stack, r) for r in ("reader", "uploader", "admin"))

    # An uploader uploads (the record names it), but may not delete.
    signed = upload_one(stack, uploader, "filed by the uploader.pdf")
    assert signed.status_code == 201, signed.text
    file_id = signed.json()["file_id"]
    assert recorded(uploader, file_id)["sender"] == STAFF
    path = f"/files/{quote(file_id, safe='')}"
    refused = uploader.call("DELETE", path)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert refused.json()["error"]["role"] == "admins"
    assert "admins" in refused.json()["error"]["message"]

    # A reader lists, reads and downloads; gets 403 naming the role on upload and delete.
    listed = reader.call("GET", "/files")
    assert listed.status_code == 200
    assert file_id in {f["file_id"] for f in listed.json()["files"]}
    assert reader.call("GET", path).status_code == 200
    assert reader.call("GET", "/messages").status_code == 200
    link = reader.call("GET", f"{path}/download")
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["url"], timeout=30).content.startswith(b"%PDF-1.7 filed")
    for method, target, role in (("DELETE", path, "admins"), ("POST", "/uploads", "uploaders")):
        answer = (
            upload_one(stack, reader, "not allowed.pdf")
            if method == "POST"
            else reader.call(method, target)
        )
        assert answer.status_code == 403, (method, answer.text)
        assert answer.json()["error"]["role"] == role
    assert recorded(reader, file_id)["deleted"] is False  # nothing happened

    # An admin does everything: upload, read, delete.
    signed = upload_one(stack, admin, "filed by the admin.pdf")
    assert signed.status_code == 201, signed.text
    recorded(admin, signed.json()["file_id"])
    deleted = admin.call("DELETE", path)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["file"]["deleted_by"] == STAFF
    assert admin.call("GET", "/messages").status_code == 200


def test_a_token_whose_address_is_not_verified_is_401(stack: LocalMailroom) -> None:
    for role in ("reader", "admin"):
        unverified = as_role(stack, role, email_verified=False)
        for method, path in (("GET", "/files"), ("GET", "/messages"), ("POST", "/uploads")):
            answer = unverified.call(method, path, json={} if method == "POST" else None)
            assert answer.status_code == 401, (role, method, path, answer.text)
            assert answer.json()["error"]["code"] == "unverified"


# -- `mailroom local` as a user runs it ----------------------------------------------------

MAILROOM = [sys.executable, "-c", "from mailroom.cli.main import main; main()"]
READER = ["--role", "reader"]


def test_mailroom_local_prints_the_api_the_token_and_the_dashboard(
    tmp_path: Path, web: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAILROOM_"))}
    env |= {"MAILROOM_STATE_DIR": str(tmp_path), "MAILROOM_WEB_DIR": str(web)}
    process = subprocess.Popen(
        [*MAILROOM, "local", "--port", "0", "--endpoint-port", "0", "--api-port", "0", *READER],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:  # the exports come out at once, then the stack serves
            lines.append(line.rstrip("\n"))
            if line.startswith("# dashboard:"):
                break
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        url, token = exports["MAILROOM_API_URL"], exports["MAILROOM_API_TOKEN"]
        assert url.startswith("http://127.0.0.1:")
        assert lines[-1] == f"# dashboard: {url}/#token={token}"
        assert len(token) >= 32
        state = (tmp_path / "local.json").read_text()
        assert f'"api_token": "{token}"' in state
        assert f'"api_port": {url.rsplit(":", 1)[1]}' in state
        assert oct((tmp_path / "local.json").stat().st_mode & 0o777) == "0o600"

        assert '"api_role": "reader"' in state
        good = requests.get(
            f"{url}/messages", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        assert good.status_code == 200, good.text
        # --role reader: the token reads, and may not upload.
        refused = requests.post(
            f"{url}/uploads",
            json={"filename": "a.pdf", "size": 10, "content_type": "application/pdf"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["role"] == "uploaders"
        wrong = requests.get(
            f"{url}/messages", headers={"Authorization": "Bearer not-it"}, timeout=60
        )
        assert wrong.status_code == 401
        assert requests.get(f"{url}/", timeout=30).content == (web / "index.html").read_bytes()

        # A second stack on the same API port is refused, naming the way out.
        port = url.rsplit(":", 1)[1]
        taken = subprocess.run(
            [*MAILROOM, "local", "--port", "0", "--endpoint-port", "0", "--api-port", port],
            check=False,
            env={**env, "MAILROOM_STATE_DIR": str(tmp_path / "other")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert taken.returncode != 0
        assert "is in use" in taken.stderr and "--api-port" in taken.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
