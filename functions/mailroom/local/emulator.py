"""The AWS emulator: moto's server, in-process, on loopback only, with fake credentials.

`mailroom local` listens on a fixed port (`DEFAULT_ENDPOINT_PORT`) so that the exported
`AWS_ENDPOINT_URL` stays valid across restarts; tests and the library pass 0 (any free port).

moto's server trusts whoever reaches it: it answers every origin's CORS requests, accepts any
signature made with the published fake credentials, and `/moto-api/*` resets or dumps it all.
Loopback alone does not keep a web page in the developer's browser out, so a guard (`Guard`,
a WSGI middleware in front of moto's app) refuses, with 403 and before moto sees them:

- a request whose `Origin` is present and is not one the stack allowed (the local dashboard's
  own; SDKs and the CLI send none), and a page's request without one that is not a link
  followed (`Sec-Fetch-Site` cross-site or same-site: an image, a script, a no-cors fetch);
- a `Host` other than `127.0.0.1:PORT` or `localhost:PORT` (DNS rebinding);
- `/moto-api/*` without the per-start key only the stack's own calls carry (`MOTO_API_KEY`).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import secrets
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from mailroom.local import hooks

LOOPBACK = "127.0.0.1"
DEFAULT_ENDPOINT_PORT = 4525
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# What another shell exports to reach the emulator (boto3 and the AWS CLI read these).
FAKE_CREDENTIALS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# The header that lets a call through to /moto-api/* (value: the emulator's per-start key).
MOTO_API_KEY = "X-Mailroom-Emulator-Key"

_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)


@dataclass(slots=True)
class Endpoint:
    """How to reach an emulator (ours or one somebody else started)."""

    url: str
    region: str = "eu-west-1"
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client bound to this endpoint; never the real AWS, whatever the environment.

        Clients are thread-safe once built; building them (a shared session) is not: locked.
        """
        with self._lock:
            if service not in self._clients:
                if "_session" not in self._clients:
                    self._clients["_session"] = boto3.session.Session()  # one model cache
                session: boto3.session.Session = self._clients["_session"]
                self._clients[service] = session.client(
                    service,  # type: ignore[call-overload]
                    endpoint_url=self.url,
                    region_name=self.region,
                    config=_CLIENT_CONFIG,
                    **FAKE_CREDENTIALS,
                )
            return self._clients[service]

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **FAKE_CREDENTIALS_ENV,
        }


WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class Guard:
    """WSGI middleware: only this machine's own tools and the local dashboard reach moto.

    Until `listen_on(port)` no Host is accepted, so nothing passes before the stack knows its
    port; `allow_origins` adds the dashboard's origins once the local API is bound.
    """

    def __init__(self, app: WsgiApp, key: str) -> None:
        self.app = app
        self.key = key
        self.hosts: frozenset[str] = frozenset()
        self.origins: frozenset[str] = frozenset()

    def listen_on(self, port: int) -> None:
        self.hosts = frozenset({f"{LOOPBACK}:{port}", f"localhost:{port}"})

    def allow_origins(self, *origins: str) -> None:
        self.origins = self.origins | {o.rstrip("/").lower() for o in origins}

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why this request is refused, or None to pass it to moto."""
        host = str(environ.get("HTTP_HOST", "")).strip().lower()
        if host not in self.hosts:
            return "this emulator answers only to 127.0.0.1 and localhost on its own port"
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and str(origin).strip().lower() not in self.origins:
            return "requests from other web origins are refused"
        # A page's request without Origin and without CORS (an <img>, a <script>, a no-cors
        # fetch) is refused; a link followed (the dashboard's download links, which go out
        # without a Referer) is a GET whose answer goes to the person, not to the page.
        from_a_page = environ.get("HTTP_SEC_FETCH_SITE") in {"cross-site", "same-site"}
        followed = environ.get("HTTP_SEC_FETCH_MODE") == "navigate" and environ.get(
            "REQUEST_METHOD"
        ) in {"GET", "HEAD"}
        if origin is None and from_a_page and not followed:
            return "requests another site's page made are refused"
        path = environ.get("PATH_INFO", "")
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if str(path).lstrip("/").startswith("moto-api"):
            given = str(environ.get("HTTP_" + MOTO_API_KEY.upper().replace("-", "_"), ""))
            if not hmac.compare_digest(given.encode(), self.key.encode()):
                return "the emulator's control API is for the local stack itself"
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        reason = self.refusal(environ)
        if reason is None:
            return self.app(environ, start_response)
        body = f"403 Forbidden: {reason}\n".encode()
        start_response(
            "403 Forbidden",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]


class _GuardedMotoServer(ThreadedMotoServer):
    """moto's ThreadedMotoServer with `Guard` in front of its app (otherwise its own code)."""

    def __init__(self, guard_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = Guard(DomainDispatcherApplication(create_backend_app), guard_key)

    def _server_entry(self) -> None:
        self._server = make_server(
            self._ip_address,
            self._port,
            self.guard,
            True,
            request_handler=MotoRequestHandler,
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class EmulatorBusy(RuntimeError):
    """An emulator is already running in this process."""


class Emulator:
    """moto's ThreadedMotoServer bound to 127.0.0.1 (port 0 picks a free one).

    moto keeps its resources per process, not per server: two emulators in one process would
    share (and a reset would wipe) each other's buckets and tables. So there is one at a time,
    and each starts empty.
    """

    _running = False
    _guard = threading.Lock()

    def __init__(self, port: int = 0, region: str = "eu-west-1") -> None:
        self._port = port
        self._region = region
        self._server: _GuardedMotoServer | None = None
        self._holds_slot = False
        self.key = secrets.token_urlsafe(32)  # what the stack's own /moto-api calls carry
        self.endpoint: Endpoint | None = None

    def start(self) -> Endpoint:
        with Emulator._guard:
            if Emulator._running:
                raise EmulatorBusy(
                    "an AWS emulator is already running in this process (moto keeps one state "
                    "per process); stop it first"
                )
            Emulator._running = True
        self._holds_slot = True
        try:
            _quiet_moto()
            _faster_moto()
            if self._port:
                _check_free(self._port)  # moto's server thread would hang on a taken port
            hooks.install()  # moto's notification and invoke hooks (no Docker, no polling)
            server = _GuardedMotoServer(
                self.key, ip_address=LOOPBACK, port=self._port, verbose=False
            )
            server.start()
            self._server = server
            host, port = server.get_host_and_port()
            server.guard.listen_on(port)
            url = f"http://{host}:{port}"
            # Start empty: whatever an earlier emulator or mock in this process left is gone.
            reset = urllib.request.Request(  # noqa: S310 (our own loopback http URL)
                f"{url}/moto-api/reset", method="POST", headers={MOTO_API_KEY: self.key}
            )
            with urllib.request.urlopen(reset, timeout=10):  # noqa: S310
                pass
        except BaseException:
            self.stop()
            raise
        self.endpoint = Endpoint(url, self._region)
        return self.endpoint

    def allow_origins(self, *origins: str) -> None:
        """Let these web origins (the local dashboard's) through the guard."""
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        self._server.guard.allow_origins(*origins)

    def stop(self) -> None:
        if self._server is not None:
            hooks.listen()  # nobody listens any more
            self._server.stop()
            self._server = None
        if self._holds_slot:
            self._holds_slot = False
            with Emulator._guard:
                Emulator._running = False


def _check_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as exc:
            raise OSError(f"port {port} on {LOOPBACK} is in use") from exc


def _faster_moto() -> None:
    """Two per-request costs of moto's server, measured under load (see docs/ARCHITECTURE.md).

    - `moto.backends.list_of_moto_modules()` lists and stats moto's ~150 package directories
      on every request to route it: the answer never changes in a process, so it is computed
      once.
    - werkzeug writes a response's headers and body in separate sends; with Nagle's algorithm
      on, the second waits for the client's delayed ACK (~40 ms on Linux). TCP_NODELAY.
    """
    from moto import backends  # noqa: PLC0415
    from moto.moto_server.werkzeug_app import MotoRequestHandler  # noqa: PLC0415

    if not getattr(backends.list_of_moto_modules, "_mailroom_cached", False):
        modules = tuple(backends.list_of_moto_modules())

        def list_of_moto_modules() -> tuple[str, ...]:
            return modules

        list_of_moto_modules._mailroom_cached = True  # type: ignore[attr-defined,unused-ignore]
        backends.list_of_moto_modules = list_of_moto_modules
    MotoRequestHandler.disable_nagle_algorithm = True
    _fast_dynamodb_reads()


_FAST_ACTIONS = frozenset({"Query", "Scan", "GetItem"})


def _fast_dynamodb_reads() -> None:
    """Query, Scan and GetItem answers as plain JSON.

    moto serialises every response through botocore's output model, attribute by attribute:
    measured 6.6 s of CPU for one Query page of 1,000 file records (17 attributes each), about
    90 % of the request. Those three results are already DynamoDB JSON (`dynamo_to_dict`), so
    `json.dumps` gives the same document (binary values base64-encoded, as the wire format
    has them); anything else, errors included, still goes through moto's serializer.
    """
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415

    if getattr(DynamoHandler.serialized, "_mailroom_fast", False):
        return
    original = DynamoHandler.serialized

    def serialized(self: Any, action_result: Any) -> Any:
        result = getattr(action_result, "result", None)
        if self._get_action() in _FAST_ACTIONS and isinstance(result, dict):
            try:
                body = json.dumps(result, default=_wire_json)
            except TypeError:
                return original(self, action_result)
            headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
            return 200, headers, body
        return original(self, action_result)

    serialized._mailroom_fast = True  # type: ignore[attr-defined]
    DynamoHandler.serialized = serialized  # type: ignore[method-assign]


def _wire_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


def _quiet_moto() -> None:
    # Request lines and moto's own warnings would drown the demo; they go to the log file when
    # the caller has configured one (see mailroom.local.runner.FunctionLog).
    for name in ("werkzeug", "moto", "botocore.credentials"):
        logging.getLogger(name).setLevel(logging.ERROR)
