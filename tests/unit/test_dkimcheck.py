"""DKIM verification of a forwarded message, against keys and DNS records the tests control."""

from __future__ import annotations

import json
from pathlib import Path

import dkim
import pytest

from mailroom.dkimcheck import DnsFailure, no_lookup, static_lookup, verify_forward
from mailroom.policy import Trust, forward_trust, indexed_trust, is_trusted_forwarder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dkim"
KEY = (FIXTURES / "test-signer.pem").read_bytes()
RECORDS = json.loads((FIXTURES / "txt-records.json").read_text())
LOOKUP = static_lookup(RECORDS)

BODY = b"Please find the contract attached.\r\n"


def message(from_header: bytes = b"CEO <ceo@client.example>", body: bytes = BODY) -> bytes:
    return (
        b"From: " + from_header + b"\r\n"
        b"To: staff@firm.example\r\n"
        b"Subject: contract\r\n"
        b"Message-ID: <1@client.example>\r\n"
        b"\r\n" + body
    )


def signed(raw: bytes, domain: bytes = b"client.example", **kwargs: object) -> bytes:
    headers = [b"from", b"subject"]
    signature: bytes = dkim.sign(raw, b"sel1", domain, KEY, include_headers=headers, **kwargs)
    return signature + raw


def test_a_signed_forward_verifies_and_aligns() -> None:
    result = verify_forward(signed(message()), "ceo@client.example", LOOKUP)
    assert result.verified, result.reason
    assert result.domain == "client.example"
    assert result.reason == "dkim=pass d=client.example"


def test_bare_lf_line_endings_still_verify() -> None:
    raw = signed(message()).replace(b"\r\n", b"\n")
    assert verify_forward(raw, "ceo@client.example", LOOKUP).verified


def test_a_changed_body_fails() -> None:
    raw = signed(message()).replace(b"contract attached", b"contract amended")
    result = verify_forward(raw, "ceo@client.example", LOOKUP)
    assert not result.verified
    assert "does not verify" in result.reason or "body hash" in result.reason


def test_a_changed_from_fails() -> None:
    raw = signed(message()).replace(b"CEO <ceo@", b"CEO <cfo@")
    assert not verify_forward(raw, "cfo@client.example", LOOKUP).verified


def test_a_second_from_field_fails() -> None:
    raw = signed(message())
    raw = b"From: mallory@client.example\r\n" + raw
    result = verify_forward(raw, "mallory@client.example", LOOKUP)
    assert not result.verified
    assert result.reason == "2 From fields"


def test_a_from_other_than_the_recorded_sender_fails() -> None:
    result = verify_forward(signed(message()), "someone@else.example", LOOKUP)
    assert not result.verified
    assert "differs" in result.reason


def test_a_signature_of_another_domain_does_not_align() -> None:
    # evil.example signs a message From ceo@client.example with its own (valid) key.
    records = {**RECORDS, "sel1._domainkey.evil.example": RECORDS["sel1._domainkey.client.example"]}
    raw = signed(message(), domain=b"evil.example")
    result = verify_forward(raw, "ceo@client.example", static_lookup(records))
    assert not result.verified
    assert result.reason == "d=evil.example not aligned with client.example"


def test_a_parent_domain_signature_aligns() -> None:
    raw = signed(message(b"ceo@mail.client.example"))
    assert verify_forward(raw, "ceo@mail.client.example", LOOKUP).verified


def test_a_body_length_tag_is_never_a_pass() -> None:
    raw = signed(message(), length=True)
    result = verify_forward(raw + b"appended after the signed part\r\n", None, LOOKUP)
    assert not result.verified
    assert "l= covers only part" in result.reason


def test_no_signature() -> None:
    result = verify_forward(message(), "ceo@client.example", LOOKUP)
    assert (result.verified, result.reason) == (False, "no DKIM signature")


def test_a_missing_key_record_fails() -> None:
    result = verify_forward(signed(message()), "ceo@client.example", static_lookup({}))
    assert not result.verified


@pytest.mark.parametrize("error", [DnsFailure("timeout"), TimeoutError(), OSError("no route")])
def test_a_dns_failure_is_never_a_pass(error: Exception) -> None:
    def failing(name: str) -> str | None:
        raise error

    result = verify_forward(signed(message()), "ceo@client.example", failing)
    assert not result.verified
    assert "DNS failure" in result.reason


def test_no_resolver_is_never_a_pass() -> None:
    result = verify_forward(signed(message()), "ceo@client.example", no_lookup)
    assert not result.verified
    assert "DNS failure" in result.reason


def test_a_wrong_key_fails() -> None:
    other = {"sel1._domainkey.client.example": "v=DKIM1; k=rsa; p=" + "A" * 40}
    assert not verify_forward(
        signed(message()), "ceo@client.example", static_lookup(other)
    ).verified


def test_an_oversized_message_is_not_buffered_for_checking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mailroom.dkimcheck.MAX_VERIFY_BYTES", 100)
    result = verify_forward(signed(message()), "ceo@client.example", LOOKUP)
    assert not result.verified
    assert "too large" in result.reason


# -- the levels -------------------------------------------------------------------------------

STAFF = frozenset({"firm.example", "reception@partner.example"})


@pytest.mark.parametrize(
    ("address", "trusted"),
    [
        ("anna@firm.example", True),
        ("anna@mail.firm.example", True),
        ("reception@partner.example", True),
        ("other@partner.example", False),
        ("mallory@evil.example", False),
        ("mallory@firm.example.evil.example", False),
        (None, False),
    ],
)
def test_trusted_forwarders(address: str | None, trusted: bool) -> None:
    assert is_trusted_forwarder(address, STAFF) is trusted


@pytest.mark.parametrize(
    ("verified", "authenticated", "sender", "imported", "level"),
    [
        (True, False, "mallory@evil.example", False, Trust.VERIFIED),
        (True, None, None, True, Trust.VERIFIED),  # an import's forward can still verify
        (False, True, "anna@firm.example", False, Trust.VOUCHED),
        (False, False, "anna@firm.example", False, Trust.CLAIMED),  # From forged, not authenticated
        (False, True, "mallory@evil.example", False, Trust.CLAIMED),  # authenticated, not staff
        (False, True, "anna@firm.example", True, Trust.CLAIMED),  # imported: never vouched
    ],
)
def test_forward_trust(
    verified: bool, authenticated: bool | None, sender: str | None, imported: bool, level: Trust
) -> None:
    got = forward_trust(
        dkim_verified=verified,
        outer_authenticated=authenticated,
        outer_sender=sender,
        trusted_forwarders=STAFF,
        imported=imported,
    )
    assert got is level


def test_only_verified_and_vouched_are_indexed() -> None:
    assert [indexed_trust(v) for v in ("verified", "vouched", "claimed", None)] == [
        True,
        True,
        False,
        False,
    ]
