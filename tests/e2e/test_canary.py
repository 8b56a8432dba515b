"""The canary's logic against `mailroom local`: a delivered canary is reported with its latency,
and with record_metadata cut off from the bucket the next run reports it missing."""

from __future__ import annotations

import time

from mailroom.adapters.canary_state import TableCanaryState
from mailroom.adapters.smoke import OWN_DOMAIN_VERDICTS, SmtpSender
from mailroom.local.app import LocalMailroom
from mailroom.usecases.canary import DELIVERED, FIRST, MISSING, CanaryConfig, run_canary


def wait_for_file(stack: LocalMailroom, sender: str, filename: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # A canary is a probe (issue 18): its file is set aside, found with include_all.
        found = stack.catalog().files_from(sender, include_all=True)
        if any(r.filename == filename and r.role == "probe" for r, _ in found):
            return
        time.sleep(0.5)
    raise AssertionError(f"{filename} was not recorded as a probe within {timeout} s")


def test_canary_reports_delivered_then_missing(stack: LocalMailroom) -> None:
    assert stack.endpoint is not None and stack.frontdoor is not None
    config = CanaryConfig(
        sender="canary@mailroom.test", recipient=stack.submission_address, bound_seconds=120
    )
    state = TableCanaryState(stack.endpoint.client("dynamodb"), stack.config.table)
    # As SES reports the stack's own signed mail: the canary is recognised as a probe.
    sender = SmtpSender(
        stack.frontdoor.host,
        stack.frontdoor.port,
        verdicts=OWN_DOMAIN_VERDICTS,
        signed_by="mailroom.test",
    )
    catalog = stack.catalog()

    first = run_canary(config, state, catalog, sender)
    assert (first.previous, first.status) == (None, FIRST)
    wait_for_file(stack, config.sender, f"canary-{first.sent}.txt")

    second = run_canary(config, state, catalog, sender)
    assert (second.previous, second.status) == (first.sent, DELIVERED)
    assert second.delivered == 1
    assert second.latency_seconds is not None and 0 <= second.latency_seconds <= 120
    wait_for_file(stack, config.sender, f"canary-{second.sent}.txt")

    # Break the stack: record_metadata no longer hears of new objects.
    s3 = stack.endpoint.client("s3")
    bucket = stack.config.bucket
    saved = s3.get_bucket_notification_configuration(Bucket=bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        third = run_canary(config, state, catalog, sender)
        assert third.status == DELIVERED  # the second was sent while the stack worked
        stack.wait_idle(timeout=60)
        fourth = run_canary(config, state, catalog, sender)
        assert (fourth.previous, fourth.status) == (third.sent, MISSING)
        assert fourth.delivered == 0 and fourth.latency_seconds is None
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=saved)
