"""The audit trail against moto's DynamoDB (issue 22): record_action, dedupe, the queries."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from mailroom.adapters.catalog import AuditTrail
from mailroom.audit import Action, Target
from mailroom.usecases.audit import AuditQuery, audit_trail, file_history, record_action
from tests.integration.conftest import TABLE, Stack

NOW = datetime(2026, 12, 5, 17, 46, 12, tzinfo=UTC)
FILE = "incoming/m1/01-a.pdf"


@pytest.fixture
def trail(stack: Stack) -> AuditTrail:
    return AuditTrail(stack.ddb, TABLE, retention_days=30)


def audit_items(stack: Stack) -> list[dict[str, object]]:
    return [i for i in stack.items() if i.get("type", {}).get("S") == "audit"]


def test_each_download_is_one_entry_and_a_refreshing_listing_is_one_a_minute(
    stack: Stack, trail: AuditTrail
) -> None:
    for second in (0, 20, 40):  # the dashboard refreshing the same listing
        record_action(
            trail,
            actor="alice@firm.example",
            action=Action.LIST,
            target=Target.listing("files"),
            origin="api",
            details={"filters": {"case": "c1"}},
            now=NOW.replace(second=second),
        )
    for _ in range(2):
        record_action(
            trail,
            actor="alice@firm.example",
            action="download",
            target=Target.file(FILE),
            origin="api",
            now=NOW,
        )
    items = audit_items(stack)
    assert sorted(i["action"]["S"] for i in items) == ["download", "download", "list"]  # type: ignore[index]
    # the next minute's refresh is a new entry
    record_action(
        trail,
        actor="alice@firm.example",
        action=Action.LIST,
        target=Target.listing("files"),
        origin="api",
        details={"filters": {"case": "c1"}},
        now=NOW + timedelta(minutes=1),
    )
    assert len(audit_items(stack)) == 4
    expires = sorted(int(i["expires_at"]["N"]) for i in items)  # type: ignore[index]
    listed, downloaded = NOW.replace(second=0), NOW  # the listing's first refresh is kept
    assert expires == sorted(int((t + timedelta(days=30)).timestamp()) for t in (listed, NOW, NOW))
    assert downloaded == NOW


def test_a_failing_trail_never_fails_the_action(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    broken = AuditTrail(stack.ddb, "no-such-table", retention_days=30)
    failures: list[Exception] = []
    with caplog.at_level(logging.ERROR):
        record_action(
            broken,
            actor="alice@firm.example",
            action=Action.DELETE,
            target=Target.file(FILE),
            origin="api",
            on_failure=failures.append,
        )
        record_action(  # an invalid entry is a failure too, never an exception
            broken, actor="", action="delete", target=Target.file(FILE), origin="api"
        )
    assert len(failures) == 1
    assert [r.message for r in caplog.records].count("audit entry not written") == 2
    assert audit_items(stack) == []


def _seed(trail: AuditTrail) -> None:
    alice, bob, carol = "alice@firm.example", "bob@firm.example", "arn:aws:iam::1:user/carol"
    day = timedelta(days=1)
    rows = [
        (alice, Action.DOWNLOAD, Target.file(FILE), "server", NOW - 40 * day),
        (bob, Action.URL, Target.file(FILE), "server", NOW - 2 * day),
        (carol, Action.DOWNLOAD, Target.file(FILE), "client", NOW - day),
        (alice, Action.REFILE, Target.message("m1"), "server", NOW - timedelta(hours=5)),
        (alice, Action.DELETE, Target.file("incoming/m2/01-b.pdf"), "server", NOW),
    ]
    for actor, action, target, reporter, at in rows:
        record_action(
            trail,
            actor=actor,
            action=action,
            target=target,
            origin="cli" if reporter == "client" else "api",
            reported_by=reporter,
            now=at,
        )


def test_the_trail_is_read_by_file_by_person_and_by_time(trail: AuditTrail) -> None:
    _seed(trail)
    by_file = audit_trail(trail, AuditQuery(file=FILE), retention_days=365, now=NOW)
    assert [(e.actor, e.action, e.reported_by) for e in by_file] == [
        ("alice@firm.example", Action.REFILE, "server"),  # its message's re-filing
        ("arn:aws:iam::1:user/carol", Action.DOWNLOAD, "client"),
        ("bob@firm.example", Action.URL, "server"),
        ("alice@firm.example", Action.DOWNLOAD, "server"),
    ]
    by_alice = audit_trail(trail, AuditQuery(who="alice@firm.example"), now=NOW)
    assert [e.action for e in by_alice] == [Action.DELETE, Action.REFILE, Action.DOWNLOAD]
    recent = audit_trail(trail, AuditQuery(since=date(2026, 12, 1)), now=NOW)
    assert [e.action for e in recent] == [Action.DELETE, Action.REFILE, Action.DOWNLOAD, Action.URL]
    everything = audit_trail(trail, AuditQuery(), now=NOW)  # the months of the retention
    assert len(everything) == 5 and everything[-1].at.startswith("2026-10-26")
    downloads = audit_trail(trail, AuditQuery(action=Action.DOWNLOAD, limit=1), now=NOW)
    assert [e.actor for e in downloads] == ["arn:aws:iam::1:user/carol"]
    bob_on_file = audit_trail(trail, AuditQuery(file=FILE, who="bob@firm.example"), now=NOW)
    assert [e.action for e in bob_on_file] == [Action.URL]
    assert [e.action for e in file_history(trail, FILE, limit=2)] == [
        Action.REFILE,
        Action.DOWNLOAD,
    ]


def test_the_queries_cost_the_partitions_they_name(stack: Stack, trail: AuditTrail) -> None:
    """Query only: a range of days reads the months it spans, a person one index partition."""
    _seed(trail)
    calls: list[tuple[str, str]] = []

    def note(params: dict[str, object], **_: object) -> None:
        calls.append((str(params.get("IndexName", "table")), str(params["KeyConditionExpression"])))

    stack.ddb.meta.events.register("provide-client-params.dynamodb.Query", note)
    stack.ddb.meta.events.register(
        "provide-client-params.dynamodb.Scan", lambda **_: pytest.fail("scanned")
    )
    audit_trail(trail, AuditQuery(since=date(2026, 11, 20), until=date(2026, 12, 3)), now=NOW)
    assert [c[0] for c in calls] == ["by_time", "by_time"]  # December, then November
    calls.clear()
    audit_trail(trail, AuditQuery(who="bob@firm.example"), now=NOW)
    assert [c[0] for c in calls] == ["by_actor"]
    calls.clear()
    audit_trail(trail, AuditQuery(file=FILE), now=NOW)
    assert [c[0] for c in calls] == ["table"] * 4  # file and message, server and client


def test_entries_have_no_update_path(trail: AuditTrail) -> None:
    """The adapter has no method that changes or removes an entry."""
    public = {n for n in dir(trail) if not n.startswith("_")}
    assert public == {"append", "entries_of", "entries_by", "entries_in", "client", "table",
                      "retention_days"}  # fmt: skip
