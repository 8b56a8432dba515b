"""The stand-in for API Gateway's HTTP API and CloudFront: the staff API and the dashboard page.

One loopback HTTP server (`ThreadingHTTPServer`, standard library) does what AWS splits in two:

- **API routes** (`/files`, `/files/...`, `/uploads`, `/messages`, `/messages/...`) behave as
  the HTTP API in front of the `api` function does: the route is matched, the JWT authorizer
  is played (a request without `Authorization: Bearer <a token this server issued>` gets API
  Gateway's own 401 `{"message":"Unauthorized"}` and never reaches the function; a token's
  claims reach the function as the authorizer passes them, `cognito:groups` as one string
  `"[admins]"`, see `authorizer_claims`), the request becomes a
  payload 2.0 event (`build_event`) and the function's result becomes the HTTP response
  (`write_result`). OPTIONS (CORS preflight) goes to the function unauthenticated: browsers
  never send credentials on a preflight, and the function's resolver answers it.
- **Everything else** is the dashboard site, as CloudFront serves it from its bucket: the files
  of `web/` (`/` is `index.html`), plus `/config.json`, which Terraform writes on AWS and this
  server generates (`{"apiUrl", "auth": {"mode": "local", "user"}}`), each with the
  security headers the distribution's response-headers policy adds.

Only its user reaches it: a request whose `Host` is not `127.0.0.1:PORT` or `localhost:PORT`
is answered 421 before anything else (a DNS-rebinding page sends its own name), and the token
is in no response: `mailroom local` prints it in the dashboard link's fragment
(`http://127.0.0.1:PORT/#token=...`), which the browser never sends and the page moves to its
tab's sessionStorage.

The function runs through the local Lambda runner (`invoke` is `Runner.invoke` bound to the
provisioned `api` function), not in this process: the handler reads its settings and builds
its boto3 clients from the process environment once per cold start, which in this process is
the developer's shell (or a test's), and the runner gives it the environment Terraform would,
pointed at the emulator; it also enforces the function's timeout and memory, and a slow
request cannot hold the emulator's threads. The cost is a cold start (~1 s) on the first call
and a JSON round trip per request.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import mimetypes
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

log = logging.getLogger("mailroom_local.httpapi")

LOOPBACK = "127.0.0.1"
DEFAULT_API_PORT = 4526  # beside the emulator's 4525, fixed so the exports survive a restart
STAFF_ADDRESS = "staff@mailroom.local"
WEB_DIR_ENV = "MAILROOM_WEB_DIR"
CONFIG_PATH = "/config.json"
ACCOUNT_ID = "123456789012"  # moto's default account
API_ID = "local"
# API Gateway quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/
# http-api-quotas.html): payload 10 MB, integration timeout 30 s.
MAX_BODY_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_S = 30
MAX_IN_FLIGHT = 4  # concurrent invocations of the api function; more wait for a slot
_CLIENT_TIMEOUT_S = 30  # a client that stops sending is dropped after this long

# Bodies API Gateway passes as text; anything else is base64 with isBase64Encoded true.
_TEXT_TYPES = re.compile(
    r"^(text/[^;]+|application/(json|[^;]+\+json|javascript|xml|[^;]+\+xml|"
    r"x-www-form-urlencoded))(\s*;.*)?$",
    re.IGNORECASE,
)

Invoke = Callable[[dict[str, Any]], Any]


class InvokeError(RuntimeError):
    """The function failed; `timed_out` says whether it ran past its timeout."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


# -- routes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP API route: `GET /files/{proxy+}` and the like."""

    method: str
    template: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if `path` (decoded, as API Gateway matches) fits, else None."""
        if method != self.method:
            return None
        want = self.template.split("/")[1:]
        have = path.split("/")[1:]  # a trailing slash is one more (empty) segment: no match
        params: dict[str, str] = {}
        for index, part in enumerate(want):
            if part.startswith("{") and part.endswith("+}"):  # greedy: the rest of the path
                rest = "/".join(have[index:])
                if not rest:
                    return None
                params[part[1:-2]] = rest
                return params
            if index >= len(have):
                return None
            if part.startswith("{") and part.endswith("}"):
                if not have[index]:
                    return None
                params[part[1:-1]] = have[index]
            elif part != have[index]:
                return None
        return params if len(have) == len(want) else None


# The routes the HTTP API has in front of the function (docs/ARCHITECTURE.md "HTTP API"): file
# ids are URL-encoded keys that the HTTP API hands over decoded, hence `{proxy+}` (and the
# same for message ids, which never hold a slash, so both routes have one form).
ROUTES = (
    Route("GET", "/files"),
    Route("GET", "/files/{proxy+}"),
    Route("DELETE", "/files/{proxy+}"),
    Route("POST", "/uploads"),
    Route("GET", "/messages"),
    Route("GET", "/messages/{proxy+}"),
    Route("POST", "/messages/{proxy+}"),  # issue 21: /messages/{id}/file; 22: .../release
    Route("GET", "/quarantine"),  # issue 22
    Route("POST", "/cases/{case}/export"),  # issue 22: start an export job
    Route("GET", "/exports/{job}"),  # issue 22: its progress and link
    Route("GET", "/audit"),  # issue 22: the audit trail (admins)
    Route("POST", "/cases/{case}/hold"),  # issue 22: legal hold
)
API_PREFIXES = ("/files", "/uploads", "/messages", "/quarantine", "/cases", "/exports", "/audit")


def is_api_path(path: str) -> bool:
    """Paths the API owns; the site never serves a file under them."""
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


# -- the payload 2.0 event -------------------------------------------------------------------


# `mailroom local --role`: the Cognito group each role's token carries (infra/auth.tf).
ROLE_GROUPS = {"reader": "readers", "uploader": "uploaders", "admin": "admins"}
DEFAULT_ROLE = "admin"


def id_token_claims(
    staff_address: str, role: str = DEFAULT_ROLE, *, email_verified: bool = True
) -> dict[str, Any]:
    """The claims of a Cognito ID token for a staff member in the role's group."""
    return {
        "sub": "local-staff",
        "email": staff_address,
        "email_verified": email_verified,
        "cognito:username": "local-staff",
        "cognito:groups": [ROLE_GROUPS[role]],
    }


def authorizer_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as the HTTP API's JWT authorizer hands them to the function: every value a
    string, a list as one string in brackets, space-separated (`"[admins readers]"`), a
    boolean as `"true"`/`"false"`."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "[" + " ".join(text(v) for v in value) + "]"
        return str(value)

    return {name: text(value) for name, value in claims.items()}


def local_claims(
    staff_address: str, role: str = DEFAULT_ROLE, *, email_verified: bool = True
) -> dict[str, str]:
    """What the JWT authorizer would tell the function about a signed-in staff member."""
    return authorizer_claims(id_token_claims(staff_address, role, email_verified=email_verified))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_token(claims: Mapping[str, Any]) -> str:
    """A token shaped like a JWT (header.claims.secret), so the page reads who and which role
    from it as from Cognito's ID token. It is not signed: this server knows every token it
    issued, and the random third part is what makes one unguessable."""
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    return f"{header}.{body}.{_b64url(secrets.token_bytes(32))}"


def _joined(pairs: Sequence[tuple[str, str]], *, lower: bool) -> dict[str, str]:
    # Payload 2.0 has no multi-value fields: repeated names are joined with commas.
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if lower else name
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def _is_text(content_type: str, body: bytes) -> bool:
    if not _TEXT_TYPES.match(content_type.strip()):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def build_event(
    *,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route_key: str,
    path_parameters: Mapping[str, str] | None,
    claims: Mapping[str, str] | None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The event an HTTP API sends a Lambda proxy integration, payload format 2.0.

    Shape from "Create AWS Lambda proxy integrations for HTTP APIs" (https://docs.aws.amazon.com/
    apigateway/latest/developerguide/http-api-develop-integrations-lambda.html): header names
    lower-cased, repeated headers and query parameters joined with commas, cookies in their
    own list, `rawQueryString` as sent. `rawPath` and `requestContext.http.path` are the path
    URL-decoded, as an HTTP API hands them over (REST APIs and function URLs keep the
    encoding), which is why the handler puts a file id back into one segment.
    """
    now = now or datetime.now(UTC)
    raw_path, _, raw_query = target.partition("?")
    raw_path = raw_path.partition("#")[0]
    path = unquote(raw_path)
    header_map = _joined(headers, lower=True)
    cookie_header = header_map.pop("cookie", "")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
    }
    cookies = [c.strip() for c in re.split(r"[;,]", cookie_header) if c.strip()]
    if cookies:
        event["cookies"] = cookies
    event["headers"] = header_map
    if raw_query:
        event["queryStringParameters"] = _joined(
            parse_qsl(raw_query, keep_blank_values=True), lower=False
        )
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": header_map.get("host", LOOPBACK),
        "domainPrefix": header_map.get("host", LOOPBACK).split(".")[0],
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": header_map.get("user-agent", ""),
        },
        "requestId": request_id or base64.b64encode(uuid.uuid4().bytes[:12]).decode(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": None}}
    event["requestContext"] = context
    if body:
        if _is_text(header_map.get("content-type", ""), body):
            event["body"] = body.decode("utf-8")
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def reply_from_result(result: Any) -> HttpReply:
    """The HTTP response API Gateway makes of a payload 2.0 function result.

    A dict with `statusCode` is used as is (headers, cookies as Set-Cookie, base64 body);
    anything else is taken as a JSON body with status 200, as API Gateway infers it.
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        body = json.dumps(result).encode()
        return HttpReply(200, [("Content-Type", "application/json")], body)
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(c)) for c in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return HttpReply(int(result["statusCode"]), headers, body)


def gateway_reply(status: HTTPStatus, message: str) -> HttpReply:
    """An answer API Gateway gives itself (no function involved): `{"message": ...}`."""
    body = json.dumps({"message": message}).encode()
    return HttpReply(int(status), [("Content-Type", "application/json")], body)


# -- the site --------------------------------------------------------------------------------


def default_web_dir(env: Mapping[str, str]) -> Path:
    """`$MAILROOM_WEB_DIR`, else the page the wheel carries (`mailroom/web/`, see setup.py),
    else `web/` at the top of the repository (an editable install)."""
    explicit = env.get(WEB_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser().resolve()
    from importlib.resources import files  # noqa: PLC0415 (only here)

    packaged = files("mailroom") / "web"
    if isinstance(packaged, Path) and (packaged / "index.html").is_file():
        return packaged
    # functions/mailroom/local/httpapi.py -> the repository root is three folders up.
    return Path(__file__).resolve().parents[3] / "web"


def security_headers(emulator_url: str) -> list[tuple[str, str]]:
    """What the CloudFront response-headers policy adds to every page response.

    The page talks to its own origin (config.json, the API) and to S3 for the presigned POST
    and GET, which locally is the emulator: the only other origin it may connect to.
    """
    csp = (
        "default-src 'self'; "
        f"connect-src 'self' {emulator_url}; "
        "img-src 'self' data:; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )
    return [
        ("Content-Security-Policy", csp),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]


def _missing_site_page(web_dir: Path) -> bytes:
    from html import escape  # noqa: PLC0415 (only for this page)

    return (
        "<!doctype html><meta charset=utf-8><title>mailroom: no dashboard files</title>"
        "<h1>No dashboard files</h1>"
        f"<p>The dashboard page is served from <code>{escape(str(web_dir))}</code>, which has "
        f"no <code>index.html</code>. Set <code>{WEB_DIR_ENV}</code> to the folder that holds "
        "the page (the repository's <code>web/</code>).</p>"
        "<p>The API answers under <code>/files</code>, <code>/uploads</code> and "
        "<code>/messages</code>.</p>\n"
    ).encode()


# -- the server ------------------------------------------------------------------------------


class LocalHttpApi:
    """The HTTP API and the dashboard site on one loopback port.

    `bind()` takes the port (so the origin is known before the function is configured with
    it), `serve(invoke)` starts answering, `stop()` ends it within about a second.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        token: str | None = None,
        staff_address: str = STAFF_ADDRESS,
        web_dir: Path,
        emulator_url: str,
        host: str = LOOPBACK,
        role: str = DEFAULT_ROLE,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.staff_address = staff_address
        self.role = role
        # Every token this server issued, with the claims the authorizer passes on for it.
        self._tokens: dict[str, dict[str, str]] = {}
        if token is None:
            self.token = self.issue_token(role)
        else:
            self.token = token
            self._tokens[token] = local_claims(staff_address, role)
        self.web_dir = web_dir
        self.emulator_url = emulator_url
        self._invoke: Invoke | None = None
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the local HTTP API is not bound")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The origin: the API's base URL and the dashboard's address (without the `/`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def dashboard_link(self) -> str:
        """The page with the token in the fragment: what `mailroom local` prints to open."""
        return f"{self.url}/#token={self.token}"

    def allowed_hosts(self) -> frozenset[str]:
        """The `Host` values this server answers: its own port on 127.0.0.1 or localhost."""
        return frozenset({f"{LOOPBACK}:{self.port}", f"localhost:{self.port}"})

    def config(self) -> dict[str, Any]:
        """`/config.json`, the contract with the page (on AWS, Terraform writes it).

        No token: any page that can make the browser fetch this file (DNS rebinding, a
        misconfigured proxy) must learn nothing that signs in; the link carries it."""
        return {"apiUrl": self.url, "auth": {"mode": "local", "user": self.staff_address}}

    def bind(self) -> LocalHttpApi:
        if self._server is None:
            try:
                self._server = _Server((self.host, self.requested_port), _Handler, self)
            except OSError as exc:
                raise OSError(f"port {self.requested_port} on {self.host} is in use") from exc
        return self

    def serve(self, invoke: Invoke) -> None:
        self.bind()
        self._invoke = invoke
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="mailroom-local-httpapi",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            if self._thread is not None:
                server.shutdown()
                self._thread.join(2)
                self._thread = None
            server.server_close()
        self._invoke = None

    # -- answering (called from the request threads) ------------------------------------------

    def issue_token(
        self, role: str = DEFAULT_ROLE, *, email_verified: bool = True, staff_address: str = ""
    ) -> str:
        """A new bearer token for a staff member in `role` (tests sign in as several roles)."""
        claims = id_token_claims(
            staff_address or self.staff_address, role, email_verified=email_verified
        )
        token = make_token(claims)
        self._tokens[token] = authorizer_claims(claims)
        return token

    def claims_for(self, headers: Mapping[str, str]) -> dict[str, str] | None:
        """The JWT authorizer's decision: the claims of a token this server issued, else None."""
        scheme, _, token = headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = token.strip().encode()
        found = None
        for issued, claims in list(self._tokens.items()):  # each compared in constant time
            if hmac.compare_digest(presented, issued.encode()):
                found = claims
        return dict(found) if found is not None else None

    def authorized(self, headers: Mapping[str, str]) -> bool:
        return self.claims_for(headers) is not None

    def api(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        source_ip: str,
    ) -> HttpReply:
        path = unquote(target.partition("?")[0].partition("#")[0])
        header_map = _joined(headers, lower=True)
        claims: dict[str, str] | None = None
        if method == "OPTIONS":
            # CORS preflight: no credentials; the function's resolver answers it.
            route_key, params = f"OPTIONS {path}", None
        else:
            found = find_route(method, path)
            if found is None:
                return gateway_reply(HTTPStatus.NOT_FOUND, "Not Found")
            route, params = found
            route_key = route.key
            claims = self.claims_for(header_map)
            if claims is None:
                return gateway_reply(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        event = build_event(
            method=method,
            target=target,
            headers=headers,
            body=body,
            source_ip=source_ip,
            route_key=route_key,
            path_parameters=params,
            claims=claims,
        )
        invoke = self._invoke
        if invoke is None:
            return gateway_reply(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable")
        if not self._slots.acquire(timeout=INTEGRATION_TIMEOUT_S):
            return gateway_reply(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable")
        try:
            # On this request's thread: the runner starts sandboxes from a thread of its own.
            result = invoke(event)
        except InvokeError as exc:
            log.warning("api invocation failed: %s", exc)
            if exc.timed_out:  # past the integration timeout API Gateway gives up with 503
                return gateway_reply(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable")
            return gateway_reply(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        finally:
            self._slots.release()
        return reply_from_result(result)

    def site(self, path: str) -> HttpReply:
        """A file of the dashboard, or the generated config; with the security headers."""
        headers = security_headers(self.emulator_url)
        if path == CONFIG_PATH:
            body = json.dumps(self.config()).encode()
            return HttpReply(
                200,
                [*headers, ("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                body,
            )
        file = self._site_file(path)
        if file is None:
            if not (self.web_dir / "index.html").is_file():
                status, body = 404, _missing_site_page(self.web_dir)
            else:
                status, body = 404, b"<!doctype html><title>Not found</title><h1>Not found</h1>\n"
            return HttpReply(status, [*headers, ("Content-Type", "text/html; charset=utf-8")], body)
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in {"application/json", "application/javascript"}:
            kind += "; charset=utf-8"
        return HttpReply(
            200,
            [*headers, ("Content-Type", kind), ("Cache-Control", "no-cache")],
            file.read_bytes(),
        )

    def _site_file(self, path: str) -> Path | None:
        relative = unquote(path).lstrip("/")
        if relative == "" or relative.endswith("/"):
            relative += "index.html"
        parts = relative.split("/")
        if any(p in {"", ".", ".."} or p.startswith(".") or "\\" in p for p in parts):
            return None  # no traversal, no dotfiles
        root = self.web_dir.resolve()
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], api: LocalHttpApi
    ) -> None:
        self.api = api
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "mailroom-local"
    sys_version = ""
    timeout = _CLIENT_TIMEOUT_S

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def do_OPTIONS(self) -> None:
        self._answer()

    def _answer(self, *, head: bool = False) -> None:
        started = time.monotonic()
        api = self.server.api
        path = unquote(self.path.partition("?")[0].partition("#")[0])
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in api.allowed_hosts():
            # Another name for this address (DNS rebinding) or none: refused before the body.
            reply = gateway_reply(HTTPStatus.MISDIRECTED_REQUEST, "Misdirected Request")
            self._send(reply, head=head, close=True)
            return
        length_text = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0:
            self._send(gateway_reply(HTTPStatus.BAD_REQUEST, "Bad Request"), close=True)
            return
        if self.headers.get("Transfer-Encoding"):
            # Browsers and scripts send a length; a chunked body is not read (nor left behind
            # to be taken for the next request on this connection).
            self._send(gateway_reply(HTTPStatus.LENGTH_REQUIRED, "Length Required"), close=True)
            return
        if length > MAX_BODY_BYTES:
            reply = gateway_reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
            self._send(reply, close=True)  # the unread body is never read: drop the connection
            return
        body = self.rfile.read(length) if length else b""
        method = self.command
        if is_api_path(path):
            reply = api.api(
                method, self.path, list(self.headers.items()), body, self.client_address[0]
            )
        elif method in {"GET", "HEAD"}:
            reply = api.site(path)
        else:
            reply = HttpReply(
                405,
                [*security_headers(api.emulator_url), ("Allow", "GET, HEAD")],
                b"",
            )
        self._send(reply, head=head)
        log.debug(
            "%s %s %d %.0f ms", method, path, reply.status, (time.monotonic() - started) * 1000
        )

    def _send(self, reply: HttpReply, *, head: bool = False, close: bool = False) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("apigw-requestid", uuid.uuid4().hex[:16])
        self.send_header("Content-Length", str(len(reply.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)
