"""The api handler against moto, called with API Gateway HTTP API (payload 2.0) events."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from mailroom.handlers import api
from mailroom.handlers.runtime import runtime
from tests.cli.conftest import Stack, cli_env, hours_ago, iso, run, stack  # noqa: F401
from tests.conftest import load_event
from tests.integration.conftest import LambdaContext

ORIGIN = "https://dashboard.example.com"
# As the HTTP API's JWT authorizer passes an ID token's claims: every value a string, the
# groups one bracketed, space-separated string.
STAFF = {
    "sub": "5f1e2d3c-0000-4000-8000-000000000001",
    "email": "Staff@Firm.example",
    "email_verified": "true",
    "cognito:groups": "[admins]",
}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any = field(default=None)

    @property
    def error(self) -> str:
        return str(self.body["error"]["code"])


def file_path(file_id: str, suffix: str = "") -> str:
    """`/files/{id}` with the key URL-encoded, slashes included, as a client must send it."""
    return f"/files/{quote(file_id, safe='')}{suffix}"


def event(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
    claims: dict[str, str] | None = STAFF,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """A payload 2.0 event, shaped like events/api-http-get-files.json."""
    base = copy.deepcopy(load_event("api-http-get-files.json"))
    base["routeKey"] = f"{method} {path}"
    base["rawPath"] = path
    base["rawQueryString"] = urlencode(query or {})
    base["queryStringParameters"] = dict(query) if query else None
    if query is None:
        del base["queryStringParameters"]
    base["requestContext"]["http"]["method"] = method
    base["requestContext"]["http"]["path"] = path
    if claims is None:
        del base["requestContext"]["authorizer"]
        del base["headers"]["authorization"]
    else:
        base["requestContext"]["authorizer"]["jwt"]["claims"] = dict(claims)
    base["headers"].update(headers or {})
    if raw_body is not None or body is not None:
        base["body"] = raw_body if raw_body is not None else json.dumps(body)
        base["headers"]["content-type"] = "application/json"
    return base


Call = Callable[..., Reply]


@pytest.fixture
def call(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Call]:  # noqa: F811
    """Invoke the handler as Lambda would; a fresh cold start (settings, resolver) per test."""
    monkeypatch.setenv("MAILROOM_DASHBOARD_ORIGIN", ORIGIN)
    monkeypatch.setenv("MAILROOM_UPLOAD_MAX_BYTES", "1048576")
    runtime.cache_clear()
    api.resolver.cache_clear()

    def invoke(method: str, path: str, **kwargs: Any) -> Reply:
        result = api.handler(event(method, path, **kwargs), LambdaContext())
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        text = result.get("body") or ""
        return Reply(result["statusCode"], headers, json.loads(text) if text else None)

    yield invoke
    runtime.cache_clear()
    api.resolver.cache_clear()
