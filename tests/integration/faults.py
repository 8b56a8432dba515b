"""Fault injection at the adapter boundary, and the parts of Lambda and S3 the tests play.

Faults are botocore `before-call` hooks registered on the functions' own clients: a matching
call is answered with an AWS error before it is sent (moto answers every other call), so the
code under test runs unchanged and sees what a call that outlasted botocore's own retries
looks like. (`before-send` would not do: botocore calls every before-send handler, so moto
would carry out the request it was told had failed.)
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote

from botocore.awsrequest import AWSResponse, HTTPHeaders

from tests.conftest import load_event
from tests.integration.conftest import BUCKET, LambdaContext, Stack

Handler = Callable[[dict[str, Any], Any], Any]
Request = dict[str, Any]  # botocore's request dict: url, method, headers, body


@dataclass(eq=False)
class Fault:
    """Answer matching calls with an AWS error, `times` times, instead of sending them."""

    client: Any
    operation: str  # "dynamodb.PutItem", "s3.PutObject"
    status: int
    code: str
    match: Callable[[Request], bool] = lambda request: True
    times: int = 1
    injected: int = 0

    def __post_init__(self) -> None:
        self.client.meta.events.register_first(f"before-call.{self.operation}", self)

    def __call__(self, params: Request, **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.injected >= self.times or not self.match(params):
            return None
        self.injected += 1
        parsed = {
            "Error": {"Code": self.code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": self.status},
        }
        return AWSResponse(params["url"], self.status, HTTPHeaders(), None), parsed

    def remove(self) -> None:
        self.client.meta.events.unregister(f"before-call.{self.operation}", self)


def _body(request: Request) -> dict[str, Any]:
    body = request["body"]
    data: dict[str, Any] = json.loads(body.decode() if isinstance(body, bytes) else str(body))
    return data


def put_item_sk(request: Request) -> str:
    return str(_body(request)["Item"]["sk"]["S"])


def item_sk(request: Request) -> str:
    """The sort key of a PutItem or an UpdateItem (a file record is put first, then updated
    when recorded again: Catalog.put_file)."""
    body = _body(request)
    return str((body.get("Key") or body.get("Item") or {}).get("sk", {}).get("S", ""))


def put_item_outcome(request: Request) -> str | None:
    outcome = _body(request)["Item"].get("outcome", {}).get("S")
    return str(outcome) if outcome else None


def object_key(request: Request) -> str:
    """The key of an S3 request (path style or virtual host: the path after the bucket)."""
    path = unquote(request["url"].split("?", 1)[0].split("://", 1)[1].split("/", 1)[1])
    return path.removeprefix(BUCKET + "/")


@dataclass(eq=False)
class FileWrites:
    """Successful writes per file record (sk), counted after the response: a new file record
    is a PutItem, one recorded again an UpdateItem (Catalog.put_file keeps what staff own)."""

    client: Any
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        events = self.client.meta.events
        for operation in ("PutItem", "UpdateItem"):
            events.register(f"before-parameter-build.dynamodb.{operation}", self._remember)
            events.register(f"after-call.dynamodb.{operation}", self._count)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["mailroom_sk"] = (params.get("Key") or params.get("Item") or {})["sk"]["S"]

    def _count(self, http_response: AWSResponse, context: dict[str, Any], **kwargs: Any) -> None:
        sk = str(context.get("mailroom_sk", ""))
        if http_response.status_code == 200 and sk.startswith("FILE#"):
            self.counts[sk.removeprefix("FILE#")] += 1


def invoke_async(handler: Handler, event: dict[str, Any], context: Any) -> list[BaseException]:
    """Lambda's asynchronous invocation: the first try and two retries; the errors it saw."""
    errors: list[BaseException] = []
    for _ in range(3):
        try:
            handler(copy.deepcopy(event), context)
        except Exception as exc:
            errors.append(exc)
            continue
        break
    return errors


@dataclass
class Notifications:
    """S3's ObjectCreated notification on `incoming/`: one event per new object version."""

    stack: Stack
    delivered: set[str] = field(default_factory=set)

    def deliver(self, handler: Handler) -> dict[str, int]:
        """Run `handler` once per new version (with Lambda's retries): key -> failed attempts."""
        listing = self.stack.s3.list_object_versions(Bucket=BUCKET, Prefix="incoming/")
        failures: dict[str, int] = {}
        for version in listing.get("Versions", []):
            if version["VersionId"] in self.delivered:
                continue
            self.delivered.add(version["VersionId"])
            errors = invoke_async(handler, object_created(version["Key"]), LambdaContext())
            assert len(errors) < 3, f"record_metadata dead-lettered: {errors}"
            failures[version["Key"]] = len(errors)
        return failures


def object_created(key: str) -> dict[str, Any]:
    event = load_event("s3-object-created.json")
    event["Records"][0]["s3"]["object"]["key"] = quote_plus(key, safe="/")
    event["Records"][0]["s3"]["bucket"]["name"] = BUCKET
    return event


class ClockedContext(LambdaContext):
    """A Lambda context whose remaining time drops by `per_put_ms` with each S3 PutObject."""

    def __init__(self, client: Any, budget_ms: int, per_put_ms: int) -> None:
        self.budget_ms = budget_ms
        self.per_put_ms = per_put_ms
        self.puts = 0
        self._client = client
        client.meta.events.register("before-call.s3.PutObject", self._tick)

    def _tick(self, **kwargs: Any) -> None:
        self.puts += 1

    def close(self) -> None:
        self._client.meta.events.unregister("before-call.s3.PutObject", self._tick)

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.budget_ms - self.per_put_ms * self.puts
