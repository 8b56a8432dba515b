"""Trust travels with each file: the message's authentication and spam tag, in S3 metadata."""

from __future__ import annotations

import pytest

from mailroom.provenance import MAX_METADATA_BYTES, Provenance, metadata_size


@pytest.mark.parametrize("authenticated", [True, False, None])
def test_authentication_and_spam_tag_round_trip(authenticated: bool | None) -> None:
    original = Provenance(
        source="email",
        message_id="m" * 40,
        received_at="2026-11-20T09:14:03.512Z",
        filename="a.pdf",
        authenticated=authenticated,
        auth_reason="dmarc=PASS for firm.example" if authenticated is not None else None,
        suspected_spam=authenticated is False,
    )
    meta = original.to_metadata()

    assert Provenance.from_metadata(meta) == original
    assert ("authenticated" in meta) is (authenticated is not None)


def test_every_field_at_its_longest_still_fits_with_room_to_spare() -> None:
    long = "é" * 5000
    meta = Provenance(
        source="email",
        message_id=long,
        received_at=long,
        filename=long,
        sha256=long,
        content_type=long,
        sender=long,
        sender_name=long,
        original_sender=long,
        original_sender_via=long,
        case=long,
        part=long,
        inline=True,
        authenticated=False,
        auth_reason=long,
        suspected_spam=True,
    ).to_metadata()

    assert metadata_size(meta) <= MAX_METADATA_BYTES - 32
    decoded = Provenance.from_metadata(meta)
    assert decoded is not None and decoded.auth_reason is not None
    assert decoded.auth_reason.endswith("…") and decoded.authenticated is False
