"""Recognising the stack's own smoke and canary mail (issue 18), and every way it is refused.

A probe needs the marker, the stack's own From domain exactly, and SES's DKIM and DMARC PASS;
anything less is ordinary mail. The forwarded-marker cases go through the local door's SES event
builder, so the headers SES lists are the outer message's only, as on AWS.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailroom import probes
from mailroom.local.frontdoor import Verdicts as DoorVerdicts
from mailroom.local.frontdoor import ses_event
from mailroom.model import FileRecord, MessageRecord, is_probe
from mailroom.policy import Outcome, Verdicts
from mailroom.provenance import Provenance
from mailroom.usecases.canary import CanaryConfig, canary_message
from mailroom.usecases.intake import ReceivedMail
from mailroom.usecases.smoke import Probe, message_of

OWN = "mailroom.test"
PASS = Verdicts(spf="PASS", dkim="PASS", dmarc="PASS")
MARK = [probes.marker("smoke", "ab12cd34")]


def recognise(
    markers: list[str] | None = MARK,
    sender: str = f"smoke@{OWN}",
    verdicts: Verdicts = PASS,
    domain: str | None = OWN,
    signers: list[str] | None = [OWN],  # noqa: B006 - read only
) -> probes.Recognition:
    return probes.recognise(markers, [sender] if sender else [], verdicts, domain, signers)


def test_a_marked_message_from_the_own_domain_with_dkim_and_dmarc_pass_is_a_probe() -> None:
    found = recognise()
    assert (found.probe, found.tag, found.refused) == ("smoke", "ab12cd34", False)
    assert recognise([probes.marker("canary", "0011")]).probe == "canary"
    assert recognise(sender=f"Smoke@{OWN.upper()}", domain=OWN.upper()).probe == "smoke"
    assert recognise(signers=["amazonses.com", OWN]).probe == "smoke"  # SES signs twice


def test_without_a_marker_it_is_ordinary_mail_and_nothing_is_refused() -> None:
    found = recognise([])
    assert found.probe is None and not found.refused


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"sender": "smoke@other.example"}, "is not the stack's own"),
        ({"sender": f"smoke@{OWN}.evil.example"}, "is not the stack's own"),  # look-alike
        ({"sender": f"smoke@evil{OWN}"}, "is not the stack's own"),
        ({"sender": f"smoke@sub.{OWN}"}, "is not the stack's own"),  # a subdomain is another
        ({"verdicts": Verdicts(dkim="GRAY", dmarc="PASS")}, "DKIM GRAY"),
        ({"verdicts": Verdicts(dkim="FAIL", dmarc="PASS")}, "DKIM FAIL"),
        ({"verdicts": Verdicts(dkim="PASS", dmarc="FAIL")}, "DMARC FAIL"),
        ({"verdicts": Verdicts(dkim="PASS", dmarc="GRAY")}, "DMARC GRAY"),
        ({"verdicts": Verdicts(spf="PASS", dkim="GRAY", dmarc="GRAY")}, "not authenticated"),
        ({"domain": None}, "mail domain is not configured"),
        ({"markers": None}, "truncated"),
        ({"markers": [*MARK, *MARK]}, "2 X-Mailroom-Probe headers"),
        ({"markers": ["smoke"]}, "malformed"),
        ({"markers": ["receipt ab12"]}, "malformed"),
        ({"markers": ["smoke ab12 extra"]}, "malformed"),
        ({"sender": ""}, "From names 0 addresses"),
        # DKIM and DMARC PASS, but no signature by the own domain: SPF-aligned DMARC and
        # another signer's DKIM (any SES sender's amazonses.com signature) are not enough.
        ({"signers": ["amazonses.com"]}, "no DKIM signature with d=mailroom.test"),
        ({"signers": [f"{OWN}.evil.example"]}, "no DKIM signature"),
        ({"signers": [f"sub.{OWN}"]}, "no DKIM signature"),
        ({"signers": []}, "no DKIM signature"),
        ({"signers": None}, "no DKIM signature"),  # SES truncated the headers
    ],
)
def test_each_refusal_is_ordinary_mail_with_its_reason(kwargs: dict, why: str) -> None:
    found = recognise(**kwargs)
    assert found.probe is None
    assert found.refused
    assert why in found.reason


def test_two_from_addresses_are_refused_even_when_both_are_own() -> None:
    found = probes.recognise(MARK, [f"a@{OWN}", f"b@{OWN}"], PASS, OWN, [OWN])
    assert found.probe is None and "2 addresses" in found.reason


def test_the_senders_write_the_marker() -> None:
    smoke = message_of(
        Probe("small", f"submit@{OWN}", "x.pdf", b"%PDF", None), f"smoke@{OWN}", "t1"
    )
    canary = canary_message(CanaryConfig(f"canary@{OWN}", f"submit@{OWN}"), "t2", "now")
    assert b"X-Mailroom-Probe: smoke t1\r\n" in smoke
    assert b"X-Mailroom-Probe: canary t2\r\n" in canary
    with pytest.raises(ValueError, match="not a probe marker"):
        probes.marker("smoke", "two words")


def _received(raw: bytes, verdicts: DoorVerdicts) -> ReceivedMail:
    """The event the local door (and SES) builds for `raw`, read as the extractor reads it."""
    event = ses_event(
        stored=raw,
        message_id="m-1",
        envelope_from=f"smoke@{OWN}",
        recipients=[f"submit@{OWN}"],
        verdicts=verdicts,
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:x",
        invocation_type="Event",
        received=datetime(2026, 12, 5, 12, 0, tzinfo=UTC),
        processing_ms=1,
    )
    ses = event["Records"][0]["ses"]
    return ReceivedMail.from_ses(ses["mail"], ses["receipt"])


def _outer(inner: EmailMessage | None = None, *, marked: bool = False) -> bytes:
    outer = EmailMessage()
    outer["DKIM-Signature"] = f"v=1; a=rsa-sha256; d={OWN}; s=ses; b="  # as SES's Easy DKIM
    outer["From"] = f"staff@{OWN}"
    outer["To"] = f"submit@{OWN}"
    outer["Subject"] = "Fwd: smoke"
    if marked:
        outer[probes.PROBE_HEADER] = probes.marker("smoke", "outer1")
    outer.set_content("see attached\n")
    if inner is not None:
        outer.add_attachment(inner)  # message/rfc822
    return outer.as_bytes(policy=SMTP)


def test_a_marker_inside_a_forwarded_message_is_not_a_marker() -> None:
    inner = EmailMessage()
    inner["From"] = f"smoke@{OWN}"
    inner["Subject"] = "mailroom smoke"
    inner[probes.PROBE_HEADER] = probes.marker("smoke", "inner1")
    inner.set_content("the probe\n")
    door = DoorVerdicts(spf="PASS", dkim="PASS", dmarc="PASS")

    forwarded = _received(_outer(inner), door)
    assert forwarded.probe_markers == []
    found = forwarded.probe(OWN)
    assert found.probe is None and not found.refused  # no marker at the top at all

    # The same outer message carrying the marker itself is a probe: the check is the place.
    assert _received(_outer(inner, marked=True), door).probe(OWN).probe == "smoke"


def test_a_probe_shaped_message_without_authentication_is_refused_through_the_event() -> None:
    gray = _received(_outer(marked=True), DoorVerdicts())  # the door's own: SPF/DKIM/DMARC GRAY
    found = gray.probe(OWN)
    assert found.probe is None and found.refused and "DKIM GRAY" in found.reason


def test_truncated_headers_and_imports_are_never_probes() -> None:
    mail = ReceivedMail.from_ses(
        {
            "messageId": "m2",
            "timestamp": "2026-12-05T12:00:00.000Z",
            "headersTruncated": True,
            "headers": [{"name": "X-Mailroom-Probe", "value": "smoke t"}],
            "commonHeaders": {"from": [f"smoke@{OWN}"]},
        },
        {"timestamp": "2026-12-05T12:00:00.000Z", "dkimVerdict": {"status": "PASS"},
         "dmarcVerdict": {"status": "PASS"}},
    )  # fmt: skip
    assert mail.probe_markers is None
    assert "truncated" in mail.probe(OWN).reason
    imported = ReceivedMail("m3", "2026-12-05T12:00:00.000Z", None, (), PASS, (f"smoke@{OWN}",),
                            probe_markers=MARK, origin="import")  # fmt: skip
    assert imported.probe(OWN).probe is None


def test_expiry_is_epoch_seconds_days_after_receipt_plus_the_records_grace() -> None:
    at = probes.expires_at("2026-12-05T12:00:00.000Z", 2)
    assert probes.RECORD_GRACE_DAYS == 2  # records outlive the objects (lifecycle: 2 days)
    assert at == int(datetime(2026, 12, 9, 12, 0, tzinfo=UTC).timestamp())


def test_records_carry_probe_and_expiry_and_leave_the_default_listings() -> None:
    message = MessageRecord("m", "2026-12-05T12:00:00.000Z", "raw/m", Outcome.EXTRACTED)
    assert not is_probe(message) and message.to_item()["outcome_key"] == "extracted"
    message.probe, message.expires_at = "smoke", 1_765_108_800
    item = message.to_item()
    assert is_probe(message)
    assert (item["probe"], item["expires_at"]) == ("smoke", 1_765_108_800)
    assert item["outcome_key"] == "aside#extracted"  # no message listing shows it
    assert MessageRecord.from_item(item) == message

    file = FileRecord(
        "incoming/m/01-a.pdf", "a.pdf", "01-a.pdf", 1, "0" * 64, "2026-12-05T12:00:00.000Z",
        "email", "m", sender=f"smoke@{OWN}", role=probes.ROLE, probe="smoke",
        expires_at=1_765_108_800,
    )  # fmt: skip
    item = file.to_item()
    assert item["time_key"].startswith("aside#") and item["sender_key"] == f"aside#smoke@{OWN}"
    assert item["expires_at"] == 1_765_108_800
    assert FileRecord.from_item(item) == file and is_probe(file)


def test_provenance_carries_probe_and_expiry_to_record_metadata() -> None:
    sent = Provenance("email", "m", "2026-12-05T12:00:00.000Z", "a.pdf", probe="canary",
                      expires_at=1_765_108_800)  # fmt: skip
    assert Provenance.from_metadata(sent.to_metadata()) == sent
    plain = Provenance("email", "m", "2026-12-05T12:00:00.000Z", "a.pdf")
    assert "probe" not in plain.to_metadata()
