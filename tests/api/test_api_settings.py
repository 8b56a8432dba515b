"""The api function's own settings: optional, validated, and outside the shared contract."""

from __future__ import annotations

import pytest

from mailroom.settings import (
    ALL_ENV,
    API_ENV,
    DEFAULT_UPLOAD_MAX_BYTES,
    DEFAULT_UPLOAD_TYPES,
    ApiSettings,
    Settings,
    SettingsError,
)

BASE = {"MAILROOM_BUCKET": "mailroom-docs", "MAILROOM_TABLE": "mailroom"}


def test_defaults_need_nothing_beyond_the_shared_contract() -> None:
    settings = ApiSettings.from_env(BASE)
    assert settings.core == Settings.from_env(BASE)
    assert settings.dashboard_origin is None
    assert settings.upload_max_bytes == DEFAULT_UPLOAD_MAX_BYTES
    assert settings.upload_types == DEFAULT_UPLOAD_TYPES
    assert settings.link_seconds == 300
    # Every function is given ALL_ENV; only the api function reads API_ENV.
    assert not set(API_ENV) & set(ALL_ENV)


def test_values_are_read_and_normalised() -> None:
    settings = ApiSettings.from_env(
        {
            **BASE,
            "MAILROOM_DASHBOARD_ORIGIN": "https://Dashboard.Example.com/",
            "MAILROOM_UPLOAD_MAX_BYTES": "1000",
            "MAILROOM_UPLOAD_TYPES": "application/pdf, Image/PNG",
            "MAILROOM_LINK_SECONDS": "60",
        }
    )
    assert settings.dashboard_origin == "https://dashboard.example.com"
    assert settings.upload_max_bytes == 1000
    assert settings.upload_types == {"application/pdf", "image/png"}
    assert settings.link_seconds == 60


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        ApiSettings.from_env(
            {
                "MAILROOM_TABLE": "mailroom",
                "MAILROOM_DASHBOARD_ORIGIN": "https://x.example/app",
                "MAILROOM_UPLOAD_MAX_BYTES": "lots",
                "MAILROOM_UPLOAD_TYPES": "pdf",
                "MAILROOM_LINK_SECONDS": "3600",
            }
        )
    message = str(caught.value)
    for name in (
        "MAILROOM_BUCKET",
        "MAILROOM_DASHBOARD_ORIGIN",
        "MAILROOM_UPLOAD_MAX_BYTES",
        "MAILROOM_UPLOAD_TYPES",
        "MAILROOM_LINK_SECONDS",
    ):
        assert name in message
    assert message.count("invalid mailroom configuration") == 1
