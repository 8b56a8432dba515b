from __future__ import annotations

import pytest

from mailroom.limits import Limits
from mailroom.policy import SpamPolicy, VirusPolicy
from mailroom.settings import ALL_ENV, REQUIRED_ENV, Settings, SettingsError

VALID = {"MAILROOM_BUCKET": "firm-mailroom-docs", "MAILROOM_TABLE": "firm-mailroom"}


def test_minimal_environment_gives_defaults() -> None:
    settings = Settings.from_env(VALID)

    assert settings.bucket == "firm-mailroom-docs"
    assert settings.table == "firm-mailroom"
    assert (settings.raw_prefix, settings.incoming_prefix, settings.quarantine_prefix) == (
        "raw/",
        "incoming/",
        "quarantine/",
    )
    assert settings.allowed_sender_domains == frozenset()
    assert settings.limits == Limits()
    assert settings.virus_policy is VirusPolicy.STRICT  # anything but a virus PASS: quarantine
    assert settings.spam_policy is SpamPolicy.TAG


def test_every_problem_is_named_at_once() -> None:
    env = {
        "MAILROOM_TABLE": "",
        "MAILROOM_INCOMING_PREFIX": "in coming",
        "MAILROOM_ALLOWED_SENDER_DOMAINS": "firm.example, not a domain",
        "MAILROOM_MAX_PARTS": "lots",
        "MAILROOM_MAX_DEPTH": "0",
        "MAILROOM_VIRUS_POLICY": "lenient",
        "MAILROOM_SPAM_POLICY": "drop",
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)

    message = str(caught.value)
    for expected in (
        "MAILROOM_BUCKET, MAILROOM_TABLE",
        "MAILROOM_INCOMING_PREFIX='in coming'",
        "'not a domain' is not a domain name",
        "MAILROOM_MAX_PARTS='lots' is not a whole number",
        "MAILROOM_MAX_DEPTH='0' must be at least 1",
        "MAILROOM_VIRUS_POLICY='lenient' must be strict or fail_only",
        "MAILROOM_SPAM_POLICY='drop' must be one of record, tag, quarantine",
    ):
        assert expected in message


def test_prefixes_must_differ_so_no_function_triggers_itself() -> None:
    with pytest.raises(SettingsError, match="must all differ"):
        Settings.from_env({**VALID, "MAILROOM_QUARANTINE_PREFIX": "incoming/"})


def test_round_trip_through_the_environment() -> None:
    settings = Settings.from_env(
        {
            **VALID,
            "MAILROOM_ALLOWED_SENDER_DOMAINS": "Firm.Example,clients.example",
            "MAILROOM_MAX_TOTAL_BYTES": "1000000",
            "MAILROOM_VIRUS_POLICY": " FAIL_ONLY ",
            "MAILROOM_SPAM_POLICY": "quarantine",
        }
    )

    assert settings.allowed_sender_domains == {"firm.example", "clients.example"}
    assert Settings.from_env(settings.to_env()) == settings
    assert set(REQUIRED_ENV) <= set(settings.to_env()) == set(ALL_ENV)
    assert (settings.virus_policy, settings.spam_policy) == (
        VirusPolicy.FAIL_ONLY,
        SpamPolicy.QUARANTINE,
    )


def test_trusted_forwarders_are_domains_or_addresses() -> None:
    env = {
        "MAILROOM_BUCKET": "b-123",
        "MAILROOM_TABLE": "t-123",
        "MAILROOM_TRUSTED_FORWARDERS": " Firm.example, reception@partner.example ,",
    }
    settings = Settings.from_env(env)
    assert settings.trusted_forwarders == frozenset({"firm.example", "reception@partner.example"})
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize("bad", ["@firm.example", "firm", "a@b", "a b@firm.example", "x@-.example"])
def test_a_malformed_trusted_forwarder_is_refused(bad: str) -> None:
    env = {"MAILROOM_BUCKET": "b-123", "MAILROOM_TABLE": "t-123"}
    with pytest.raises(SettingsError, match="MAILROOM_TRUSTED_FORWARDERS"):
        Settings.from_env({**env, "MAILROOM_TRUSTED_FORWARDERS": bad})


@pytest.mark.parametrize(
    ("text", "problem"),
    [("0", "between 1 and 3650"), ("3651", "between 1 and 3650"), ("a year", "whole number")],
)
def test_audit_retention_days_is_validated(text: str, problem: str) -> None:
    """Issue 22: Terraform's audit_retention_days reaches the functions as this variable."""
    base = {"MAILROOM_BUCKET": "b-bucket", "MAILROOM_TABLE": "table"}
    assert Settings.from_env(base).audit_retention_days == 365
    assert (
        Settings.from_env({**base, "MAILROOM_AUDIT_RETENTION_DAYS": "90"}).audit_retention_days
        == 90
    )
    with pytest.raises(SettingsError, match=f"MAILROOM_AUDIT_RETENTION_DAYS.*{problem}"):
        Settings.from_env({**base, "MAILROOM_AUDIT_RETENTION_DAYS": text})
