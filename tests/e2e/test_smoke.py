"""`mailroom smoke` against `mailroom local`: green on a working stack, and on a deliberately
broken one (record_metadata cut off from the bucket) it fails, naming the stage."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from mailroom.cli.main import cli
from mailroom.local import state as state_file
from mailroom.local.app import LocalMailroom


@pytest.fixture(scope="module", autouse=True)
def announced(stack: LocalMailroom) -> Iterator[None]:
    """The state file `mailroom local` writes, so the CLI knows it talks to local mode."""
    path = state_file.write_state(stack.local_state(os.getpid()))
    yield
    path.unlink(missing_ok=True)


def smoke(stack: LocalMailroom, *args: str) -> tuple[int, dict[str, Any]]:
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    result = CliRunner().invoke(cli, ["smoke", *args, "--json"], env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_smoke_is_green_on_a_working_local_stack(stack: LocalMailroom) -> None:
    code, report = smoke(stack, "--timeout", "180")
    assert code == 0 and report["ok"], report
    stages = {s["stage"]: s for s in report["stages"]}
    assert list(stages) == [
        "send",
        "file_records",
        "content",
        "message_records",
        "dead_letter_queues",
        "doctor",
        "api_requires_token",
        "dashboard_headers",
    ]
    assert all(s["seconds"] >= 0 for s in stages.values())
    # The plus-address became the case; the big one (over 16 MB) made it through.
    catalog = stack.catalog()
    files = {r.filename: r for r, _ in catalog.files_from("smoke@mailroom.test", page_size=10)}
    tag = report["tag"]
    assert files[f"smoke-{tag}-plus.pdf"].case == f"smoke-{tag}"
    assert files[f"smoke-{tag}-big.pdf"].size > 16 * 1024 * 1024


def test_smoke_names_the_stage_of_a_broken_stack(stack: LocalMailroom) -> None:
    """record_metadata disabled (the bucket no longer notifies it): no file records."""
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    bucket = stack.config.bucket
    saved = s3.get_bucket_notification_configuration(Bucket=bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        code, report = smoke(stack, "--timeout", "15", "--big-mb", "0.1")
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=saved)
    assert code == 1 and not report["ok"]
    assert report["failed_stage"] == "file_records"
    [failed] = [s for s in report["stages"] if not s["ok"]]
    assert "no file record within 15 s" in failed["detail"]
