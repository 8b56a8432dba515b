"""The bucket-notification stand-in: S3 ObjectCreated events, to the runner, as they happen.

In-process (`mailroom local`, `LocalMailroom`): moto's own notification hook raises one
callback per object version that matches a `LambdaFunctionConfiguration` (prefix and suffix
filters applied by moto, the event type by us), and `Notifier` turns it into an event of S3's
exact shape (the key URL-encoded as S3 does: `quote_plus`, a space becomes `+`) for the runner.
Nothing lists or reads the bucket.

Attached to an emulator in another process (`--attach URL`), there is no hook to use: `Poller`
asks that emulator for the keys under each notification prefix (ListObjectsV2, which copies
nothing, never ListObjectVersions, which deep-copies every stored version in moto) every
`POLL_INTERVAL` s, and delivers each new (key, ETag, LastModified) once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from mailroom.local.emulator import Endpoint
from mailroom.local.hooks import ObjectCreated
from mailroom.local.runner import Runner

log = logging.getLogger("mailroom_local.dispatch")

POLL_INTERVAL = 0.5
LOCAL_PRINCIPAL = "AWS:AIDAMAILROOMLOCAL"


@dataclass(frozen=True, slots=True)
class Route:
    """One LambdaFunctionConfiguration that fires on ObjectCreated."""

    configuration_id: str
    function_arn: str
    prefix: str
    suffix: str

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


def routes(endpoint: Endpoint, bucket: str) -> list[Route]:
    config = endpoint.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    found = []
    for item in config.get("LambdaFunctionConfigurations", []):
        if not any(e.startswith("s3:ObjectCreated:") for e in item.get("Events", [])):
            continue
        rules = {
            r["Name"].lower(): r["Value"]
            for r in item.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        }
        found.append(
            Route(
                configuration_id=item.get("Id") or str(uuid.uuid4()),
                function_arn=item["LambdaFunctionArn"],
                prefix=rules.get("prefix", ""),
                suffix=rules.get("suffix", ""),
            )
        )
    return found


def encode_key(key: str) -> str:
    """S3's encoding of a key in event notifications: form-encoded, `/` kept."""
    return quote_plus(key, safe="/")


def s3_event(
    *,
    bucket: str,
    region: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    event_time: datetime,
    configuration_id: str,
    sequencer: int,
    event_name: str = "ObjectCreated:Put",
    requester: str | None = None,
) -> dict[str, Any]:
    """One S3 notification record wrapped in `Records`, as S3 sends it to Lambda.

    `userIdentity.principalId` names who made the request, as S3 does ("AWS:" and the IAM
    principal's id, e.g. AWS:AIDA... for a user, AWS:AROA...:session for a role). The emulator
    knows only the access key id that signed the request, so local mode puts "AWS:<access key
    id>" there (record_metadata takes a CLI upload's uploader from it), and the stack's own
    principal when no signed request made the object.
    """
    obj: dict[str, Any] = {"key": encode_key(key), "size": size, "eTag": etag.strip('"')}
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    obj["sequencer"] = f"{sequencer:016X}"
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _iso_ms(event_time),
                "eventName": event_name,
                "userIdentity": {
                    "principalId": f"AWS:{requester}" if requester else LOCAL_PRINCIPAL
                },
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": uuid.uuid4().hex,
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": LOCAL_PRINCIPAL.split(":")[1]},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }


def _iso_ms(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Notifier:
    """moto's notification hook -> S3-shaped event -> the runner (async, like S3)."""

    def __init__(self, endpoint: Endpoint, runner: Runner) -> None:
        self.endpoint = endpoint
        self.runner = runner
        self.dispatched = 0
        self._sequencer = 0
        self._lock = threading.Lock()

    def __call__(self, created: ObjectCreated) -> None:
        with self._lock:
            self._sequencer += 1
            sequencer = self._sequencer
            self.dispatched += 1
        event = s3_event(
            bucket=created.bucket,
            region=created.region,
            key=created.key,
            size=created.size,
            etag=created.etag,
            version_id=created.version_id,
            event_time=created.event_time,
            configuration_id=created.configuration_id,
            sequencer=sequencer,
            event_name=created.event_name,
            requester=created.requester,
        )
        self.runner.invoke_async(created.function_arn, event)


class Poller:
    """For an emulator in another process only: ListObjectsV2 under each prefix, new keys once."""

    def __init__(
        self, endpoint: Endpoint, bucket: str, runner: Runner, interval: float = POLL_INTERVAL
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.runner = runner
        self.interval = interval
        self.dispatched = 0
        self._seen: set[tuple[str, str, str]] = set()
        self._sequencer = 0
        self._scan_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # S3 notifies about what is created after the configuration, not what was there.
        for route in routes(self.endpoint, self.bucket):
            for found in self._objects(route.prefix):
                self._seen.add(_identity(found))
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="mailroom-local-poller", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.scan()
            except Exception:
                log.debug("bucket poll failed", exc_info=True)

    def scan(self) -> int:
        """One poll: deliver every new object; return how many were dispatched."""
        with self._scan_lock:
            count = 0
            for route in routes(self.endpoint, self.bucket):
                fresh = [
                    o
                    for o in self._objects(route.prefix)
                    if route.matches(o["Key"]) and _identity(o) not in self._seen
                ]
                fresh.sort(key=lambda o: o["LastModified"])
                for found in fresh:
                    self._seen.add(_identity(found))
                    self._sequencer += 1
                    event = s3_event(
                        bucket=self.bucket,
                        region=self.endpoint.region,
                        key=found["Key"],
                        size=int(found.get("Size", 0)),
                        etag=found.get("ETag", ""),
                        version_id=None,
                        event_time=found["LastModified"],
                        configuration_id=route.configuration_id,
                        sequencer=self._sequencer,
                    )
                    self.runner.invoke_async(route.function_arn, event)
                    count += 1
            self.dispatched += count
            return count

    def _objects(self, prefix: str) -> Iterator[Mapping[str, Any]]:
        paginator = self.endpoint.client("s3").get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])


def _identity(found: Mapping[str, Any]) -> tuple[str, str, str]:
    return (found["Key"], str(found.get("ETag")), str(found.get("LastModified")))
