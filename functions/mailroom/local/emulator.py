"""The AWS emulator: moto's server, in-process, on loopback only, with fake credentials.

`mailroom local` listens on a fixed port (`DEFAULT_ENDPOINT_PORT`) so that the exported
`AWS_ENDPOINT_URL` stays valid across restarts; tests and the library pass 0 (any free port).
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from mailroom.local import hooks

LOOPBACK = "127.0.0.1"
DEFAULT_ENDPOINT_PORT = 4525
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# What another shell exports to reach the emulator (boto3 and the AWS CLI read these).
FAKE_CREDENTIALS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

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
        self._server: Any = None
        self._holds_slot = False
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
            server = ThreadedMotoServer(ip_address=LOOPBACK, port=self._port, verbose=False)
            server.start()
            self._server = server
            host, port = server.get_host_and_port()
            url = f"http://{host}:{port}"
            # Start empty: whatever an earlier emulator or mock in this process left is gone.
            reset = urllib.request.Request(  # noqa: S310 (our own loopback http URL)
                f"{url}/moto-api/reset", method="POST"
            )
            with urllib.request.urlopen(reset, timeout=10):  # noqa: S310
                pass
        except BaseException:
            self.stop()
            raise
        self.endpoint = Endpoint(url, self._region)
        return self.endpoint

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
