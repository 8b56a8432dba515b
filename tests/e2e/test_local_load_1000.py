"""1,000 messages through the local SMTP door (slow tier; issue 7): each ends with one final
record, and the CLI's view agrees. Its own file, so the test runner can overlap it with others.
"""

from __future__ import annotations

import re

import pytest

from mailroom.local.app import LocalMailroom

from .conftest import MAIL_DIR, run_cli
from .loadgen import FINAL, send_all


@pytest.mark.slow
def test_1000_messages_through_the_door_all_end_with_a_final_record(
    loaded_stack: LocalMailroom,
) -> None:
    stack = loaded_stack
    samples = [
        re.sub(rb"\r?\n", b"\r\n", path.read_bytes()) for path in sorted(MAIL_DIR.glob("*.eml"))
    ]
    # Each message its own Message-ID, so the CLI's view can be checked message by message.
    bodies = [
        b"Message-ID: <load1000-%d@sender.example>\r\n" % i
        + re.sub(rb"(?im)^message-id:[^\r\n]*\r\n", b"", samples[i % len(samples)], count=1)
        for i in range(1000)
    ]
    ids = send_all(stack, bodies, clients=4)
    assert len(set(ids)) == 1000

    outcomes = stack.wait_for_messages(ids, timeout=1200)

    assert not stack.dead_letters()
    final = [o.record.outcome for o in outcomes if o.record is not None]
    assert len(final) == 1000
    assert {str(outcome) for outcome in final} <= FINAL
    catalog = stack.catalog()
    for message_id in ids[:: len(samples) * 10]:  # and the catalogue agrees, sampled
        record, _ = catalog.get_message(message_id)
        assert record is not None and str(record.outcome) in FINAL

    # THEN `mailroom messages --outcome X --json`, summed over the outcomes, holds each message
    # exactly once (by its Message-ID), and `mailroom messages` without --outcome lists them all
    sent = {f"<load1000-{i}@sender.example>" for i in range(1000)}
    by_outcome: list[str] = []
    for outcome in sorted(FINAL | {"processing"}):
        listed = run_cli(stack, "messages", "--outcome", outcome, "--limit", "5000")
        by_outcome += [m["rfc_message_id"] for m in listed if m["rfc_message_id"] in sent]
    assert sorted(by_outcome) == sorted(sent)
    every = run_cli(stack, "messages", "--limit", "5000")
    assert {m["rfc_message_id"] for m in every} >= sent
    times = [m["received_at"] for m in every]
    assert times == sorted(times, reverse=True)  # newest first
