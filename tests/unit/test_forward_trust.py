"""ForwardTrust around the real engine: each file's original sender gets its level before it is
committed (verified by the forward's own DKIM, vouched by a trusted forwarder, else claimed)."""

from __future__ import annotations

import io

from mailroom.dkimcheck import TxtLookup, no_lookup, static_lookup
from mailroom.extract import extract
from mailroom.extract.memory import MemorySink
from mailroom.policy import Trust
from mailroom.usecases.forwards import ForwardTrust, TrustContext
from tests.forwards import TXT_RECORDS, forward_attached, forward_inline, original

STAFF = frozenset({"firm.example"})


def run(
    raw: bytes,
    outer: str,
    *,
    authenticated: bool = True,
    imported: bool = False,
    lookup: TxtLookup = static_lookup(TXT_RECORDS),  # noqa: B008
) -> tuple[MemorySink, ForwardTrust, object]:
    sink = MemorySink()
    trust = ForwardTrust(sink, TrustContext(outer, authenticated, STAFF, imported, lookup))
    result = extract(io.BytesIO(raw), trust, on_inline_forward=trust.inline_forward)
    return sink, trust, result


def committed(sink: MemorySink, filename: str) -> tuple[str | None, str | None]:
    attachment = sink.named(filename).committed
    assert attachment is not None, f"{filename} was never committed"
    return attachment.original_sender, attachment.original_sender_level


def test_a_signed_forward_from_anyone_is_verified() -> None:
    raw = forward_attached("mallory@evil.example", original(), "submit@firm.example")
    sink, trust, _result = run(raw, "mallory@evil.example")
    assert committed(sink, "contract-signed.pdf") == ("ceo@client.example", "verified")
    verdict = trust.verdict("ceo@client.example", "attached-message")
    assert verdict is not None
    assert verdict.level is Trust.VERIFIED
    assert verdict.check == "dkim=pass d=client.example"


def test_the_impersonation_is_claimed() -> None:
    """mallory (authenticated for evil.example) attaches an unsigned message From the CEO."""
    raw = forward_attached("mallory@evil.example", original(sign_domain=None), "x@firm.example")
    sink, trust, _ = run(raw, "mallory@evil.example")
    assert committed(sink, "contract-signed.pdf") == ("ceo@client.example", "claimed")
    verdict = trust.verdict("ceo@client.example", "attached-message")
    assert verdict is not None
    assert (verdict.level, verdict.check) == (Trust.CLAIMED, "no DKIM signature")


def test_a_message_signed_by_the_forwarders_own_domain_is_claimed() -> None:
    key = TXT_RECORDS["sel1._domainkey.client.example"]
    records = {**TXT_RECORDS, "sel1._domainkey.evil.example": key}
    inner = original(sign_domain="evil.example")
    raw = forward_attached("mallory@evil.example", inner, "x@firm.example")
    sink, _, _ = run(raw, "mallory@evil.example", lookup=static_lookup(records))
    assert committed(sink, "contract-signed.pdf") == ("ceo@client.example", "claimed")


def test_an_unsigned_forward_by_an_authenticated_staff_member_is_vouched() -> None:
    raw = forward_attached("anna@firm.example", original(sign_domain=None), "x@firm.example")
    sink, _, _ = run(raw, "anna@firm.example")
    assert committed(sink, "contract-signed.pdf") == ("ceo@client.example", "vouched")


def test_staff_address_without_authentication_is_claimed() -> None:
    raw = forward_attached("anna@firm.example", original(sign_domain=None), "x@firm.example")
    sink, _, _ = run(raw, "anna@firm.example", authenticated=False)
    assert committed(sink, "contract-signed.pdf") == ("ceo@client.example", "claimed")


def test_an_imported_forward_is_claimed_unless_it_verifies() -> None:
    unsigned = forward_attached("anna@firm.example", original(sign_domain=None), "x@firm.example")
    sink, _, _ = run(unsigned, "anna@firm.example", imported=True)
    assert committed(sink, "contract-signed.pdf")[1] == "claimed"
    signed = forward_attached("anna@firm.example", original(), "x@firm.example")
    sink, _, _ = run(signed, "anna@firm.example", imported=True, authenticated=False)
    assert committed(sink, "contract-signed.pdf")[1] == "verified"


def test_a_dns_failure_leaves_a_signed_forward_claimed() -> None:
    raw = forward_attached("mallory@evil.example", original(), "submit@firm.example")
    sink, trust, _ = run(raw, "mallory@evil.example", lookup=no_lookup)
    assert committed(sink, "contract-signed.pdf") == ("ceo@client.example", "claimed")
    verdict = trust.verdict("ceo@client.example", "attached-message")
    assert verdict is not None and "DNS failure" in (verdict.check or "")


def test_files_inside_a_forward_wait_for_its_level() -> None:
    """The inner PDF is complete before the .eml is; it is committed only after it."""
    raw = forward_attached("mallory@evil.example", original(), "submit@firm.example")
    order: list[tuple[str, str | None, int]] = []
    sink = MemorySink()

    class Recording(MemorySink):
        def open(self, part):  # type: ignore[no-untyped-def]
            writer = sink.open(part)
            original_commit = writer.commit

            def commit(attachment):  # type: ignore[no-untyped-def]
                eml = next(k for k in sink.opened if k.info.origin == "message")
                level = attachment.original_sender_level
                order.append((attachment.filename, level, len(eml.data)))
                original_commit(attachment)

            writer.commit = commit  # type: ignore[method-assign]
            return writer

    ctx = TrustContext("mallory@evil.example", True, STAFF, False, static_lookup(TXT_RECORDS))
    trust = ForwardTrust(Recording(), ctx)
    extract(io.BytesIO(raw), trust, on_inline_forward=trust.inline_forward)
    eml_size = len(sink.named("original.eml").data)
    # The PDF went to the sink only once the whole .eml was in, with its level decided.
    assert order == [
        ("contract-signed.pdf", "verified", eml_size),
        ("original.eml", None, eml_size),
    ]


def test_an_inline_forward_by_staff_is_vouched_and_attributed_to_the_files_after_it() -> None:
    raw = forward_inline("anna@firm.example", "ceo@client.example", "x@firm.example")
    sink, trust, _result = run(raw, "anna@firm.example")
    assert committed(sink, "inline-fwd.pdf") == ("ceo@client.example", "vouched")
    assert sink.named("inline-fwd.pdf").committed.original_sender_via == "inline-forward"  # type: ignore[union-attr]
    verdict = trust.verdict("ceo@client.example", "inline-forward")
    assert verdict is not None and verdict.level is Trust.VOUCHED


def test_an_inline_forward_is_never_verified() -> None:
    raw = forward_inline("mallory@evil.example", "ceo@client.example", "x@firm.example")
    sink, _, _ = run(raw, "mallory@evil.example")
    assert committed(sink, "inline-fwd.pdf") == ("ceo@client.example", "claimed")


def test_plain_mail_carries_no_original_sender() -> None:
    raw = original(sign_domain=None)
    sink, trust, _ = run(raw, "ceo@client.example")
    assert committed(sink, "contract-signed.pdf") == (None, None)
    assert trust.verdict(None, None) is None
