"""The SES stand-in without a server: recipient matching, the scan, and the event's shape."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.data_classes import SESEvent

from mailroom.local.frontdoor import (
    EICAR,
    ReceiptRule,
    Verdicts,
    contains_eicar,
    might_contain_eicar,
    new_message_id,
    recipient_matches,
    scan,
    ses_event,
    split_addresses,
)
from mailroom.usecases.intake import ReceivedMail
from tests.conftest import SAMPLE_MAIL, load_event


@pytest.mark.parametrize(
    ("address", "entry", "expected"),
    [
        ("submit@mailroom.test", "submit@mailroom.test", True),
        ("SUBMIT@Mailroom.Test", "submit@mailroom.test", True),
        ("submit+case-42@mailroom.test", "submit@mailroom.test", True),
        ("submit+@mailroom.test", "submit@mailroom.test", True),
        ("submitter@mailroom.test", "submit@mailroom.test", False),
        ("other+submit@mailroom.test", "submit@mailroom.test", False),
        ("submit@mailroom.test.evil", "submit@mailroom.test", False),
        ("submit@sub.mailroom.test", "submit@mailroom.test", False),
        ("anyone@mailroom.test", "mailroom.test", True),
        ("anyone@MAILROOM.TEST", "mailroom.test", True),
        ("anyone@sub.mailroom.test", "mailroom.test", False),
        ("anyone@sub.mailroom.test", ".mailroom.test", True),
        ("anyone@mailroom.test", ".mailroom.test", False),
        ("anyone@notmailroom.test", "mailroom.test", False),
        ("no-at-sign", "mailroom.test", False),
        ("@mailroom.test", "mailroom.test", False),
    ],
)
def test_recipient_matching_follows_ses(address: str, entry: str, expected: bool) -> None:
    assert recipient_matches(address, entry) is expected


def test_a_rule_without_recipients_takes_everything() -> None:
    assert ReceiptRule("all", (), ()).accepts("x@anywhere.example")
    assert not ReceiptRule("one", ("submit@mailroom.test",), ()).accepts("x@mailroom.test")


def test_message_ids_look_like_ses_ids() -> None:
    ids = {new_message_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[a-z0-9]{40}", i) for i in ids)


def test_only_the_eicar_sample_fails_the_virus_scan() -> None:
    verdicts = {path.name: scan(path.read_bytes()).virus for path in SAMPLE_MAIL.glob("*.eml")}
    assert verdicts.pop("virus-eicar.eml") == "FAIL"
    assert verdicts and set(verdicts.values()) == {"PASS"}


def test_eicar_is_found_inside_a_base64_encoded_forward() -> None:
    inner = b"Content-Type: application/octet-stream\r\n\r\n" + EICAR + b"\r\n"
    outer = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(inner)
        + b"--b--\r\n"
    )
    assert EICAR not in outer
    assert contains_eicar(outer)
    assert not contains_eicar(outer.replace(b"UFpY", b"UFpZ"))


def test_scan_disabled_reports_gray() -> None:
    assert scan(EICAR, enabled=False) == Verdicts(spam="GRAY", virus="GRAY")


def test_address_lists_split_outside_quotes_and_brackets() -> None:
    value = '"Martin, Elodie" <e@x.example>, =?utf-8?q?J=C3=B6rg?= <j@x.example>,b@x.example'
    assert split_addresses(value) == [
        '"Martin, Elodie" <e@x.example>',
        "=?utf-8?q?J=C3=B6rg?= <j@x.example>",
        "b@x.example",
    ]


def _reference_message() -> tuple[dict, bytes]:
    """The reference event (events/ses-receipt.json) and the message it describes."""
    event = load_event("ses-receipt.json")
    mail = event["Records"][0]["ses"]["mail"]
    lines = [f"{h['name']}: {h['value']}" for h in mail["headers"]]
    raw = ("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode()
    return event, raw


def _our_event(raw: bytes, reference: dict, verdicts: Verdicts | None = None) -> dict:
    receipt = reference["Records"][0]["ses"]["receipt"]
    mail = reference["Records"][0]["ses"]["mail"]
    return ses_event(
        stored=raw,
        message_id=mail["messageId"],
        envelope_from=mail["source"],
        recipients=receipt["recipients"],
        verdicts=verdicts or Verdicts(),
        function_arn=receipt["action"]["functionArn"],
        invocation_type="Event",
        received=datetime(2026, 11, 20, 9, 14, 3, 512000, tzinfo=UTC),
        processing_ms=5,
    )


def _shape(value: object) -> object:
    """Keys and value types, recursively: what two events of the same shape share."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_the_event_has_exactly_the_shape_ses_sends() -> None:
    reference, raw = _reference_message()
    ours = _our_event(raw, reference)
    assert _shape(ours) == _shape(reference)


def test_headers_and_common_headers_are_passed_as_ses_passes_them() -> None:
    reference, raw = _reference_message()
    ours = _our_event(raw, reference)["Records"][0]["ses"]
    expected = reference["Records"][0]["ses"]
    assert ours["mail"]["headers"] == expected["mail"]["headers"]
    assert ours["mail"]["commonHeaders"] == expected["mail"]["commonHeaders"]
    assert ours["mail"]["destination"] == expected["mail"]["destination"]
    assert ours["mail"]["timestamp"] == expected["mail"]["timestamp"]
    assert ours["receipt"]["recipients"] == expected["receipt"]["recipients"]
    assert ours["receipt"]["action"] == expected["receipt"]["action"]


def test_dmarc_policy_appears_only_when_dmarc_fails() -> None:
    reference, raw = _reference_message()
    passing = _our_event(raw, reference)["Records"][0]["ses"]["receipt"]
    failing = _our_event(raw, reference, Verdicts(dmarc="FAIL"))["Records"][0]["ses"]["receipt"]
    assert "dmarcPolicy" not in passing
    assert failing["dmarcPolicy"] == "none"
    assert failing["dmarcVerdict"] == {"status": "FAIL"}


def test_the_handler_reads_our_event_as_it_reads_a_real_one() -> None:
    raw = (SAMPLE_MAIL / "virus-eicar.eml").read_bytes()
    reference, _ = _reference_message()
    event = _our_event(raw, reference, scan(raw))
    record = next(iter(SESEvent(event).records))
    mail = ReceivedMail.from_ses(record.ses.mail.raw_event, record.ses.receipt.raw_event)
    assert mail.verdicts.virus == "FAIL"
    assert mail.verdicts.spf == "GRAY"
    assert mail.sender() == ("accounts@unknown-sender.example", "Accounts")
    assert mail.subject == "Invoice overdue"
    assert list(mail.recipients) == ["submit+case-42@mailroom.test"]


def test_clean_mail_is_virus_and_spam_pass_and_authentication_gray_by_default() -> None:
    # A strict virus policy quarantines anything but PASS: clean local mail must say PASS.
    raw = (SAMPLE_MAIL / "no-attachment.eml").read_bytes()
    assert scan(raw) == Verdicts(spam="PASS", virus="PASS", spf="GRAY", dkim="GRAY", dmarc="GRAY")


def test_the_local_verdicts_header_sets_what_the_door_reports() -> None:
    raw = (
        b"From: a@firm.example\r\n"
        b"X-Mailroom-Local-Verdicts: spf=PASS; dkim=pass;\r\n dmarc=FAIL; dmarcpolicy=reject;"
        b" spam=FAIL\r\nSubject: s\r\n\r\nbody\r\n"
    )
    verdicts = scan(raw)
    assert verdicts == Verdicts(
        spam="FAIL", virus="PASS", spf="PASS", dkim="PASS", dmarc="FAIL", dmarc_policy="reject"
    )
    reference, _ = _reference_message()
    receipt = _our_event(raw, reference, verdicts)["Records"][0]["ses"]["receipt"]
    assert receipt["spfVerdict"] == {"status": "PASS"}
    assert receipt["dmarcVerdict"] == {"status": "FAIL"}
    assert receipt["dmarcPolicy"] == "reject"
    assert receipt["spamVerdict"] == {"status": "FAIL"}


def test_the_header_can_fail_the_virus_scan_and_ignores_what_it_does_not_know() -> None:
    raw = (
        b"X-Mailroom-Local-Verdicts: virus=PROCESSING_FAILED; spf=MAYBE; colour=blue\r\n"
        b"\r\nbody\r\n"
    )
    verdicts = scan(raw)
    assert verdicts.virus == "PROCESSING_FAILED"
    assert verdicts.spf == "GRAY"  # not a verdict SES reports: ignored
    # Only the header section counts: the same text in a body changes nothing.
    assert scan(b"Subject: s\r\n\r\nX-Mailroom-Local-Verdicts: virus=FAIL\r\n").virus == "PASS"


@pytest.mark.parametrize("shift", range(6))
def test_the_cheap_eicar_check_never_misses_base64_at_any_alignment(shift: int) -> None:
    data = b"x" * shift + EICAR + b"trailing bytes"
    for wrap in (76, 60, 4):
        text = base64.b64encode(data)
        lines = b"\r\n".join(text[i : i + wrap] for i in range(0, len(text), wrap))
        raw = b"Content-Transfer-Encoding: base64\r\n\r\n" + lines + b"\r\n"
        assert might_contain_eicar(raw)
        assert contains_eicar(raw)


def test_the_cheap_eicar_check_lets_ordinary_mail_skip_the_parse() -> None:
    for path in SAMPLE_MAIL.glob("*.eml"):
        if path.name != "virus-eicar.eml":
            raw = path.read_bytes()
            forwards = b"message/rfc822" in raw.lower()
            assert might_contain_eicar(raw) is forwards, path.name
