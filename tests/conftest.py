"""Shared test helpers. Paths are resolved from this file, never from the working directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# Powertools reads these when a handler module is imported (a Lambda's environment exists before
# its code loads), so they are set before any test module imports a handler.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "mailroom")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "mailroom")

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
SAMPLE_MAIL = EVENTS / "mail"


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials that can reach nothing real, and no stray profile or endpoint."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
