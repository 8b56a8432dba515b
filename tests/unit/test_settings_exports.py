"""Issue 22: the export function's and the api's export settings, validated at cold start."""

from __future__ import annotations

import pytest

from mailroom.settings import ApiSettings, ExportSettings, SettingsError

BASE = {"MAILROOM_BUCKET": "docs-bucket", "MAILROOM_TABLE": "docs-table"}
KEY = "arn:aws:kms:eu-west-1:123456789012:key/export"


def test_the_export_function_needs_its_signing_key() -> None:
    with pytest.raises(SettingsError, match="MAILROOM_EXPORT_SIGNING_KEY_ARN is required"):
        ExportSettings.from_env(BASE)
    settings = ExportSettings.from_env({**BASE, "MAILROOM_EXPORT_SIGNING_KEY_ARN": KEY})
    assert (settings.signing_key_arn, settings.exports_prefix) == (KEY, "exports/")
    assert settings.core.bucket == "docs-bucket"


@pytest.mark.parametrize("prefix", ["raw/", "incoming/", "quarantine/", "exports", "../x/"])
def test_the_exports_prefix_is_its_own(prefix: str) -> None:
    env = {**BASE, "MAILROOM_EXPORT_SIGNING_KEY_ARN": KEY, "MAILROOM_EXPORTS_PREFIX": prefix}
    with pytest.raises(SettingsError, match="MAILROOM_EXPORTS_PREFIX"):
        ExportSettings.from_env(env)


def test_the_api_knows_the_export_function_or_none() -> None:
    assert ApiSettings.from_env(BASE).export_function == ""
    named = ApiSettings.from_env({**BASE, "MAILROOM_EXPORT_FUNCTION": "p-export-case"})
    assert (named.export_function, named.exports_prefix) == ("p-export-case", "exports/")
