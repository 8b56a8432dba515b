"""Issue 20's settings: archive limits, expand_archives, keep_body, signature_repeats."""

from __future__ import annotations

import pytest

from mailroom.limits import Limits
from mailroom.settings import Settings, SettingsError

BASE = {"MAILROOM_BUCKET": "docs-bucket", "MAILROOM_TABLE": "docs-table"}


def test_defaults_and_round_trip() -> None:
    settings = Settings.from_env(BASE)
    assert settings.limits == Limits()
    assert settings.limits.expand_archives is True and settings.limits.keep_body is False
    env = {
        **BASE,
        "MAILROOM_EXPAND_ARCHIVES": "false",
        "MAILROOM_KEEP_BODY": "TRUE",
        "MAILROOM_MAX_ARCHIVE_MEMBERS": "10",
        "MAILROOM_MAX_ARCHIVE_BYTES": "1000000",
        "MAILROOM_MAX_ARCHIVE_RATIO": "50",
        "MAILROOM_MAX_ARCHIVE_DEPTH": "1",
        "MAILROOM_SIGNATURE_REPEATS": "3",
    }
    limits = Settings.from_env(env).limits
    assert (limits.expand_archives, limits.keep_body) == (False, True)
    assert (limits.max_archive_members, limits.max_archive_bytes) == (10, 1_000_000)
    assert (limits.max_archive_ratio, limits.max_archive_depth) == (50, 1)
    assert limits.signature_repeats == 3
    assert Settings.from_env(Settings.from_env(env).to_env()).limits == limits


def test_bad_values_are_named_together() -> None:
    env = {**BASE, "MAILROOM_EXPAND_ARCHIVES": "yes", "MAILROOM_MAX_ARCHIVE_RATIO": "0"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    assert "MAILROOM_EXPAND_ARCHIVES='yes' must be true or false" in text
    assert "MAILROOM_MAX_ARCHIVE_RATIO='0' must be at least 1" in text
