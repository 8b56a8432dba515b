"""`mailroom reprocess --all --since DAY` (issue 20): every extracted message of the period is
run again through the deployed extract function, so roles and archive expansion reach older
mail; rejected mail and older mail are left alone."""

from __future__ import annotations

import json

from mailroom.policy import Outcome
from tests.cli.conftest import hours_ago, run
from tests.cli.test_ops import Ops, ops, outcome_of, sample  # noqa: F401 - the fixture

CLEAN = {"spam": "PASS", "virus": "PASS"}


def test_reprocess_all_since_takes_every_extracted_outcome_once(ops: Ops) -> None:  # noqa: F811
    given = (
        ("old", "2020-01-01T00:00:00.000Z", Outcome.EXTRACTED),
        ("new", hours_ago(1), Outcome.EXTRACTED),
        ("none", hours_ago(2), Outcome.NO_ATTACHMENTS),
        ("stuck", hours_ago(3), Outcome.FAILED),
        ("refused", hours_ago(1), Outcome.REJECTED),
    )
    for mid, received_at, outcome in given:
        ops.put_raw(mid, sample("no-attachment.eml"))
        ops.stack.add_message(mid, received_at=received_at, outcome=outcome, verdicts=CLEAN)

    result = run("reprocess", "--all", "--since", "7d", "--json")

    assert result.exit_code == 0, result.stderr
    queued = [q["message_id"] for q in json.loads(result.stdout)["queued"]]
    assert sorted(queued) == ["new", "none", "stuck"]
    ops.lam.drain()
    assert [outcome_of(ops, m) for m in ("old", "new", "stuck", "refused")] == [
        "extracted",  # before --since: untouched
        "no_attachments",
        "no_attachments",
        "rejected",
    ]


def test_reprocess_all_usage(ops: Ops) -> None:  # noqa: F811
    assert run("reprocess", "--all").exit_code == 2  # bounded by a date
    assert run("reprocess", "--all", "--outcome", "failed", "--since", "7d").exit_code == 2
    assert run("reprocess", "a", "--all", "--since", "7d").exit_code == 2
