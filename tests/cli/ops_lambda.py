"""An in-process stand-in for the Lambda service, at the botocore boundary.

moto stores functions but runs them only in Docker. This hooks `before-call.lambda.Invoke` in
every botocore session created while it is active (the way moto hooks `before-send`), so the
code under test goes through its real adapter and boto3: an Event invoke is answered 202 and
queued. `drain()` then plays Lambda's asynchronous runtime: each event runs the function's
handler in this process, is retried twice on failure, and finally goes to the function's
dead-letter queue (the event, unmodified, as the message body), as Lambda does.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from mailroom.handlers.runtime import runtime

Handler = Callable[[dict[str, Any], Any], Any]


class Context:
    """The attributes powertools reads from a Lambda context."""

    function_version = "$LATEST"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_stream_name = "test"

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
        self.log_group_name = f"/aws/lambda/{name}"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@dataclass
class Function:
    handler: Handler
    dlq_url: str | None = None


@dataclass
class LambdaStandIn:
    functions: dict[str, Function]
    sqs: Any = None  # a client to send dead letters with
    queued: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    invocations: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # + "ok"/err

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # url_path: /2015-03-31/functions/<name>/invocations
        name = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        name = name.rsplit(":function:", 1)[-1]
        if name not in self.functions:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": f"no {name}"}},
                "Invoke",
            )
        kind = params["headers"].get("X-Amz-Invocation-Type", "RequestResponse")
        assert kind == "Event", f"only asynchronous invokes are expected, not {kind}"
        body = params["body"]
        event = json.loads(body.read() if hasattr(body, "read") else body)
        self.queued.append((name, event))
        http = AWSResponse(params.get("url", ""), 202, {}, io.BytesIO(b""))
        return http, {"StatusCode": 202, "ResponseMetadata": {"HTTPStatusCode": 202}}

    def drain(self, attempts: int = 3) -> None:
        """Run every queued event (and any they queue) like Lambda's async runtime."""
        while self.queued:
            name, event = self.queued.pop(0)
            function = self.functions[name]
            for attempt in range(1, attempts + 1):
                try:
                    function.handler(json.loads(json.dumps(event)), Context(name))
                except Exception as exc:
                    self.invocations.append((name, event, type(exc).__name__))
                    if attempt == attempts and function.dlq_url and self.sqs is not None:
                        self.sqs.send_message(
                            QueueUrl=function.dlq_url,
                            MessageBody=json.dumps(event),
                            MessageAttributes={
                                "ErrorMessage": {
                                    "DataType": "String",
                                    "StringValue": str(exc)[:1024],
                                }
                            },
                        )
                else:
                    self.invocations.append((name, event, "ok"))
                    break


@contextmanager
def lambda_stand_in(stand_in: LambdaStandIn) -> Iterator[LambdaStandIn]:
    """Every botocore session created inside answers lambda Invoke with `stand_in`."""
    saved = list(botocore.handlers.BUILTIN_HANDLERS)
    botocore.handlers.BUILTIN_HANDLERS.append(("before-call.lambda.Invoke", stand_in))
    runtime.cache_clear()
    try:
        yield stand_in
    finally:
        botocore.handlers.BUILTIN_HANDLERS[:] = saved
        runtime.cache_clear()
