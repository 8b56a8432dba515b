"""The emulator the infra tier applies infra/ to: moto server on a free loopback port, in a
process of its own.

moto keeps its resources per process, and other tests in a pytest process reset them (moto's
mock_aws, the local stack's emulator), which would wipe the applied stack mid-session. So the
stack lives here, and the tests reach it over HTTP only.

Prints the port on its first line, then serves until its standard input closes.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.s3 import notifications
from moto.s3.models import FakeDeleteMarker
from moto.server import ThreadedMotoServer


def _no_docker_lambda() -> None:
    # On PutObject moto would run the notified function itself, in Docker; the test's bucket
    # dispatcher (mailroom.local) delivers the events to the real handlers instead.
    def _skip(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        return None

    if hasattr(notifications, "_invoke_awslambda"):
        notifications._invoke_awslambda = _skip


def _conditions_as_in_aws() -> None:
    """A statement whose condition keys the request does not carry does not apply (AWS's rule
    for a missing key). moto offers no condition values (no aws:SourceArn, no
    aws:SecureTransport) and counts such a condition as met, so the bucket's TLS-only deny
    would refuse every object request, TLS or not.
    """
    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        condition = self._statement.get("Condition") or {}
        keys = {key for operator in condition.values() for key in operator}
        if not keys <= set(incoming_condition_values or {}):
            return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def _dynamodb_resources_as_in_aws() -> None:
    """With request authentication on (POST /moto-api/reset-auth), moto checks DynamoDB calls
    against the caller's IAM policies, but always for resource "*": a policy scoped to a
    table, as every real one is, would never match. Name the table (or index) each call is for,
    as AWS does (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html),
    so tests/infra can run the CLI with nothing but the staff reader policy.
    """

    def _determine_resource(self: DynamoHandler) -> str:
        body = getattr(self, "body", None) or {}
        table = body.get("TableName") if isinstance(body, dict) else None
        if not table:
            return "*"
        arn = f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{table}"
        index = body.get("IndexName")
        return f"{arn}/index/{index}" if index else arn

    DynamoHandler._determine_resource = _determine_resource  # type: ignore[attr-defined]


def _delete_markers_can_be_deleted() -> None:
    """Deleting a key of a bucket whose versioning was just suspended (a `destroy` suspends it
    while it empties the bucket) disposes of every version of the key; moto's delete markers
    (left by the dashboard's objects and by a file deleted through the API) have no dispose()
    and the request fails with a 500, which the provider retries until it times out."""
    if not hasattr(FakeDeleteMarker, "dispose"):

        def dispose(self: FakeDeleteMarker, garbage: bool = False) -> None:
            return None

        FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _no_docker_lambda()
    _conditions_as_in_aws()
    _dynamodb_resources_as_in_aws()
    _delete_markers_can_be_deleted()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(port, flush=True)
    sys.stdin.read()  # until the test session closes the pipe (or ends)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
