"""The emulator's guard and the SMTP door's HTTP check as pure functions (no server).

The same refusals against a running stack are in tests/e2e/test_local_guard.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from mailroom.local.emulator import MOTO_API_KEY, Guard
from mailroom.local.frontdoor import is_http_request_line

PORT = 4525
KEY = "k" * 43
DASHBOARD = "http://127.0.0.1:4526"


def guard() -> Guard:
    passed: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        passed.append(environ)
        start_response("200 OK", [])
        return [b"moto"]

    made = Guard(app, KEY)
    made.listen_on(PORT)
    made.allow_origins(DASHBOARD, "http://localhost:4526/")
    return made


def environ(path: str = "/bucket/key", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    env.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return env


def answer(g: Guard, env: dict[str, Any]) -> tuple[str, bytes]:
    status: list[str] = []
    body = b"".join(g(env, lambda s, h: status.append(s)))
    return status[0], body


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Host at all (HTTP/1.0)
        {"host": "evil.example:4525"},
        {"host": "127.0.0.1:4526"},
        {"host": "127.0.0.1"},
        {"host": "motoapi.amazonaws.com"},
        {"host": "bucket.localhost:4525"},
        {"host": "127.0.0.1:4525", "origin": "http://evil.example"},
        {"host": "127.0.0.1:4525", "origin": "null"},
        {"host": "127.0.0.1:4525", "origin": "http://127.0.0.1:4525"},  # not the dashboard
        {"host": "127.0.0.1:4525", "sec_fetch_site": "cross-site"},  # <img>, no-cors fetch
        {"host": "127.0.0.1:4525", "sec_fetch_site": "same-site", "sec_fetch_mode": "no-cors"},
    ],
)
def test_refused_before_moto(headers: dict[str, str]) -> None:
    g = guard()
    status, body = answer(g, environ(**headers))
    assert status == "403 Forbidden"
    assert body.startswith(b"403 Forbidden: ")


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "127.0.0.1:4525"},  # an SDK, the CLI, a sandbox
        {"host": "LOCALHOST:4525"},
        {"host": "127.0.0.1:4525", "origin": DASHBOARD},
        {"host": "127.0.0.1:4525", "origin": "http://localhost:4526"},
        # A link followed (the dashboard's download links): the answer goes to the person.
        {"host": "127.0.0.1:4525", "sec_fetch_site": "same-site", "sec_fetch_mode": "navigate"},
        {"host": "127.0.0.1:4525", "sec_fetch_site": "cross-site", "sec_fetch_mode": "navigate"},
        {"host": "127.0.0.1:4525", "sec_fetch_site": "none"},  # typed into the address bar
    ],
)
def test_passed_to_moto(headers: dict[str, str]) -> None:
    assert answer(guard(), environ(**headers)) == ("200 OK", b"moto")


def test_a_followed_link_that_is_not_a_get_is_refused() -> None:
    env = environ(host="127.0.0.1:4525", sec_fetch_site="cross-site", sec_fetch_mode="navigate")
    env["REQUEST_METHOD"] = "POST"  # a form without Origin (no browser sends one so, but)
    assert answer(guard(), env)[0] == "403 Forbidden"


def test_the_control_api_needs_the_key_of_this_start() -> None:
    g = guard()
    host = {"host": f"127.0.0.1:{PORT}"}
    for path in ("/moto-api/reset", "/moto-api/data.json", "//moto-api/reset", "/moto-api"):
        assert answer(g, environ(path, **host))[0] == "403 Forbidden", path
        wrong = {MOTO_API_KEY.replace("-", "_"): "x" * 43}
        assert answer(g, environ(path, **host, **wrong))[0] == "403 Forbidden", path
    key = {MOTO_API_KEY.replace("-", "_"): KEY}
    assert answer(g, environ("/moto-api/reset", **host, **key)) == ("200 OK", b"moto")


def test_nothing_passes_before_the_port_is_known() -> None:
    g = Guard(lambda e, s: [b"moto"], KEY)
    assert answer(g, environ(host=f"127.0.0.1:{PORT}"))[0] == "403 Forbidden"


@pytest.mark.parametrize(
    ("command", "arg", "http"),
    [
        ("POST", "/ HTTP/1.1", True),
        ("GET", "/favicon.ico HTTP/1.1", True),
        ("OPTIONS", "* HTTP/1.1", True),
        ("put", "/x http/1.0", True),
        ("CONNECT", "127.0.0.1:2525 HTTP/1.1", True),
        ("GET", "foo", False),  # a person typing: 500, the session goes on
        ("GET", None, False),
        ("HELO", "/ HTTP/1.1", False),
        ("MAIL", "FROM:<a@b.example>", False),
    ],
)
def test_an_http_request_line_is_recognised(command: str, arg: str | None, http: bool) -> None:
    assert is_http_request_line(command, arg) is http
