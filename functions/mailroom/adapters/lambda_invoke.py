"""Lambda: hand an event to a deployed function asynchronously (InvocationType Event).

The function then runs with its own code and role, retried and dead-lettered by Lambda like
any other asynchronous event; the caller only needs lambda:InvokeFunction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

# Lambda answers 202 Accepted when an asynchronous event is queued.
ACCEPTED = 202


class InvokeRejected(RuntimeError):
    """Lambda did not accept the event (the caller keeps it, e.g. in its queue)."""


class LambdaInvoker:
    def __init__(self, client: LambdaClient) -> None:
        self._lambda = client

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> None:
        """Queue `event` for `function`; raise unless Lambda accepted it."""
        response = self._lambda.invoke(
            FunctionName=function,
            InvocationType="Event",
            Payload=json.dumps(event).encode("utf-8"),
        )
        status = int(response.get("StatusCode", 0))
        if status != ACCEPTED:
            raise InvokeRejected(f"{function}: Lambda answered {status}, not {ACCEPTED} Accepted")
        if response.get("FunctionError"):
            # Lambda never runs an Event invoke before answering; an emulator that did says so.
            raise InvokeRejected(f"{function}: {response['FunctionError']} error on invoke")
