"""The api writes a server entry for every call it serves, and admins read the trail (issue 22)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mailroom.adapters.catalog import AuditTrail
from mailroom.audit import Action, Target
from mailroom.usecases.audit import record_action
from tests.api.conftest import STAFF, Call, file_path
from tests.cli.conftest import TABLE, Stack, hours_ago

READER = {**STAFF, "email": "reader@firm.example", "cognito:groups": "[readers]"}
FILE = "incoming/m1/01-a.pdf"


def entries(stack: Stack, **query: str) -> list[dict[str, Any]]:
    trail = AuditTrail(stack.ddb, TABLE, retention_days=365)
    return [e.to_dict() for e in trail.entries_of([Target.file(FILE), Target.message("m1")])]


@pytest.fixture
def seeded(stack: Stack) -> Stack:
    at = hours_ago(2)
    stack.add_message("m1", received_at=at, from_address="client@example.com")
    stack.add_file("m1", "a.pdf", received_at=at, case="case-7")
    return stack


def test_each_served_call_leaves_one_server_entry_naming_the_person(
    seeded: Stack, call: Call
) -> None:
    for _ in range(3):  # a page refreshing: one listing entry a minute
        assert call("GET", "/files", query={"case": "case-7", "limit": "5"}).status == 200
    assert call("GET", file_path(FILE)).status == 200
    assert call("GET", file_path(FILE)).status == 200
    assert call("GET", file_path(FILE, "/download")).status == 200
    assert call("GET", file_path(FILE, "/download")).status == 200
    filed = call("POST", "/messages/m1/file", body={"case": "case-9"})
    assert filed.status == 200
    assert call("DELETE", file_path(FILE)).status == 200

    got = entries(seeded)
    actions = sorted(e["action"] for e in got)
    # the two shows within a minute are one entry (a minute boundary between them: two)
    assert actions in (
        ["delete", "download", "download", "refile", "show"],
        ["delete", "download", "download", "refile", "show", "show"],
    ), got
    assert {(e["actor"], e["origin"], e["reported_by"]) for e in got} == {
        ("Staff@Firm.example", "api", "server")
    }
    refile = next(e for e in got if e["action"] == "refile")
    assert refile["target"] == {"kind": "message", "id": "m1"}
    assert refile["details"] == {"case": "case-9", "counts": {"files": 1}}
    # the listing: one entry, its filters without paging
    trail = AuditTrail(seeded.ddb, TABLE, retention_days=365)
    listings = [e for e in trail.entries_by("Staff@Firm.example") if e.action == Action.LIST]
    assert [(e.target.id, e.details) for e in listings] == [
        ("files", {"filters": {"case": "case-7"}})
    ]


def test_a_refused_call_writes_no_entry(seeded: Stack, call: Call) -> None:
    assert call("DELETE", file_path(FILE), claims=READER).status == 403
    assert call("GET", file_path("incoming/m1/99-missing.pdf")).status == 404
    assert entries(seeded) == []


def test_admins_read_the_trail_and_readers_are_refused(seeded: Stack, call: Call) -> None:
    trail = AuditTrail(seeded.ddb, TABLE, retention_days=365)
    record_action(
        trail, actor="arn:aws:iam::1:user/carol", action="download", target=Target.file(FILE),
        origin="cli", reported_by="client",
    )  # fmt: skip
    assert call("GET", file_path(FILE, "/download"), claims=READER).status == 200

    history = call("GET", "/audit", query={"file": FILE})
    assert history.status == 200
    assert [(e["actor"], e["action"], e["reported_by"]) for e in history.body["entries"]] == [
        ("reader@firm.example", "download", "server"),
        ("arn:aws:iam::1:user/carol", "download", "client"),
    ]
    by_reader = call("GET", "/audit", query={"who": "reader@firm.example", "action": "download"})
    assert [e["target"]["id"] for e in by_reader.body["entries"]] == [FILE]

    refused = call("GET", "/audit", query={"file": FILE}, claims=READER)
    assert (refused.status, refused.body["error"]["role"]) == (403, "admins")
    bad = call("GET", "/audit", query={"action": "peek"})
    assert (bad.status, bad.error) == (400, "bad_request")
    # reading the trail is itself on the trail
    own = call("GET", "/audit", query={"who": "Staff@Firm.example"})
    assert own.body["entries"][0]["target"] == {"kind": "listing", "id": "audit"}


def test_a_trail_that_cannot_be_written_never_fails_the_call(
    seeded: Stack, call: Call, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: AuditTrail, entry: object) -> bool:
        raise RuntimeError("throttled")

    monkeypatch.setattr(AuditTrail, "append", broken)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "mailroom")
    capsys.readouterr()
    reply = call("GET", file_path(FILE, "/download"))
    assert reply.status == 200 and reply.body["url"]
    assert entries(seeded) == []
    # counted: the AuditWriteFailures metric (CloudWatch EMF on stdout), an alarm's input
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert [(m["AuditWriteFailures"], m["function"]) for m in emitted] == [([1.0], "api")]


def test_the_quarantine_listing_is_on_the_trail(seeded: Stack, call: Call) -> None:
    assert call("GET", "/quarantine", query={"limit": "5"}).status == 200
    trail = AuditTrail(seeded.ddb, TABLE, retention_days=365)
    [listed] = [e for e in trail.entries_by("Staff@Firm.example") if e.action == Action.LIST]
    assert (listed.target.id, listed.details) == ("quarantine", {})  # no filter: no details
