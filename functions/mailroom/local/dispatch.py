"""The bucket-notification stand-in: S3 ObjectCreated events for new objects, to the runner.

moto stores the notification configuration but can only deliver it to Lambda through Docker,
so this reads the configuration from the emulator (prefix/suffix filter, target function) and
polls the bucket for new object versions. Each new version is delivered once per run, in an
event of S3's exact shape (the key URL-encoded as S3 does: `quote_plus`, a space becomes `+`).
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
from mailroom.local.runner import Runner

log = logging.getLogger("mailroom_local.dispatch")

POLL_INTERVAL = 0.2
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
) -> dict[str, Any]:
    """One S3 notification record wrapped in `Records`, as S3 sends it to Lambda."""
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
                "userIdentity": {"principalId": LOCAL_PRINCIPAL},
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


class Dispatcher:
    """Poll `bucket` and deliver ObjectCreated events through `runner` (async, like S3)."""

    def __init__(
        self,
        endpoint: Endpoint,
        bucket: str,
        runner: Runner,
        interval: float = POLL_INTERVAL,
        dispatch_existing: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.runner = runner
        self.interval = interval
        self.dispatched = 0
        self._seen: set[tuple[str, ...]] = set()
        self._sequencer = 0
        self._scan_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dispatch_existing = dispatch_existing

    def start(self) -> None:
        if not self._dispatch_existing:
            # S3 notifies about what is created after the configuration, not what was there.
            for route in routes(self.endpoint, self.bucket):
                for version in self._versions(route.prefix):
                    self._seen.add(_identity(version))
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="mailroom-local-dispatch", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.scan()
            except Exception:
                # The emulator may be stopping under us; the next poll (or stop) settles it.
                log.debug("bucket poll failed", exc_info=True)

    def scan(self) -> int:
        """One poll: deliver every new object version; return how many were dispatched."""
        with self._scan_lock:
            count = 0
            for route in routes(self.endpoint, self.bucket):
                fresh = [
                    v
                    for v in self._versions(route.prefix)
                    if route.matches(v["Key"]) and _identity(v) not in self._seen
                ]
                fresh.sort(key=lambda v: v["LastModified"])
                for version in fresh:
                    self._seen.add(_identity(version))
                    self._sequencer += 1
                    event = s3_event(
                        bucket=self.bucket,
                        region=self.endpoint.region,
                        key=version["Key"],
                        size=int(version.get("Size", 0)),
                        etag=version.get("ETag", ""),
                        version_id=version.get("VersionId"),
                        event_time=version["LastModified"],
                        configuration_id=route.configuration_id,
                        sequencer=self._sequencer,
                    )
                    self.runner.invoke_async(route.function_arn, event)
                    count += 1
            self.dispatched += count
            return count

    def _versions(self, prefix: str) -> Iterator[Mapping[str, Any]]:
        paginator = self.endpoint.client("s3").get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Versions", [])  # delete markers create nothing


def _identity(version: Mapping[str, Any]) -> tuple[str, ...]:
    version_id = version.get("VersionId")
    if version_id and version_id != "null":
        return (version["Key"], version_id)
    # Unversioned bucket: a rewrite shows up as a new ETag or modification time.
    return (version["Key"], str(version.get("ETag")), str(version.get("LastModified")))
