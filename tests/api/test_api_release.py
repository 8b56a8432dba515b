"""Issue 22 through the API: GET /quarantine and POST /messages/{id}/release, admins only.

The release is an asynchronous invoke of the extract function: the api's Invoker is replaced by
one that keeps the event (what the function then does with it: tests/integration/
test_release.py; through a running local stack: tests/e2e/test_local_release.py).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from mailroom.handlers import api
from mailroom.policy import Outcome
from mailroom.release import EVENT_KEY
from tests.api.conftest import STAFF, Call
from tests.cli.conftest import Stack, hours_ago

FUNCTION = "mailroom-test-extract-attachments"


class KeptInvoker:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> None:
        self.events.append((function, copy.deepcopy(dict(event))))


@pytest.fixture
def invoker(monkeypatch: pytest.MonkeyPatch) -> KeptInvoker:
    kept = KeptInvoker()
    monkeypatch.setenv("MAILROOM_EXTRACT_FUNCTION", FUNCTION)
    monkeypatch.setattr(api, "lambda_invoker", lambda: kept)
    return kept


def seed(stack: Stack) -> None:
    verdicts = {"spam": "FAIL", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}
    stack.add_message(
        "held-spam",
        received_at=hours_ago(2),
        outcome=Outcome.QUARANTINED,
        reason="spam verdict FAIL",
        verdicts=verdicts,
        recipients=["submit@mailroom.test"],
        from_address="client@example.com",
        file_count=1,
    )
    stack.add_message(
        "held-virus",
        received_at=hours_ago(1),
        outcome=Outcome.QUARANTINED,
        reason="virus verdict FAIL",
        verdicts={**verdicts, "spam": "PASS", "virus": "FAIL"},
        recipients=["submit@mailroom.test"],
    )
    stack.add_message("fine", received_at=hours_ago(3), recipients=["submit@mailroom.test"])


def as_group(group: str) -> dict[str, str]:
    return {**STAFF, "cognito:groups": f"[{group}]"}


@pytest.mark.parametrize("group", ["readers", "uploaders"])
def test_readers_and_uploaders_get_403_naming_admins(
    call: Call, stack: Stack, invoker: KeptInvoker, group: str
) -> None:
    seed(stack)
    listing = call("GET", "/quarantine", claims=as_group(group))
    assert listing.status == 403 and listing.body["error"]["role"] == "admins"
    reply = call(
        "POST", "/messages/held-spam/release", claims=as_group(group), body={"reason": "ok"}
    )
    assert reply.status == 403 and reply.body["error"]["role"] == "admins"
    assert invoker.events == []
    record = stack.catalog.get_message("held-spam")[0]
    assert record is not None and record.outcome == "quarantined"


def test_admins_see_the_quarantine_with_reasons_and_verdicts(
    call: Call, stack: Stack, invoker: KeptInvoker
) -> None:
    seed(stack)
    reply = call("GET", "/quarantine")
    assert reply.status == 200
    held = [(m["message_id"], m["reason"], m["verdicts"]["virus"]) for m in reply.body["messages"]]
    assert held == [
        ("held-virus", "virus verdict FAIL", "FAIL"),
        ("held-spam", "spam verdict FAIL", "PASS"),
    ]
    assert call("GET", "/quarantine", query={"limit": "1"}).body["next"]
    assert call("GET", "/quarantine", query={"what": "x"}).status == 400


def test_an_admin_releases_a_message_and_the_event_names_them(
    call: Call, stack: Stack, invoker: KeptInvoker
) -> None:
    seed(stack)
    reply = call("POST", "/api/messages/held-spam/release", body={"reason": "a real client"})
    assert reply.status == 202, reply.body
    assert reply.body["release"]["released_by"] == "Staff@Firm.example"
    [(function, event)] = invoker.events
    assert function == FUNCTION
    mail = event["Records"][0]["ses"]["mail"]
    assert mail["messageId"] == "held-spam"
    assert mail[EVENT_KEY]["by"] == "Staff@Firm.example"
    assert mail[EVENT_KEY]["reason"] == "a real client"
    assert mail[EVENT_KEY]["allow_virus"] is False
    assert event["Records"][0]["ses"]["receipt"]["spamVerdict"] == {"status": "FAIL"}


def test_a_virus_fail_needs_allow_virus(call: Call, stack: Stack, invoker: KeptInvoker) -> None:
    seed(stack)
    refused = call("POST", "/messages/held-virus/release", body={"reason": "known file"})
    assert refused.status == 400
    assert "--allow-virus" in refused.body["error"]["message"]
    assert invoker.events == []
    allowed = call(
        "POST", "/messages/held-virus/release", body={"reason": "known file", "allow_virus": True}
    )
    assert allowed.status == 202
    [(_, event)] = invoker.events
    assert event["Records"][0]["ses"]["mail"][EVENT_KEY]["allow_virus"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reason": ""},
        {"reason": "two\nlines"},
        {"reason": "r" * 501},
        {"reason": 5},
        {"reason": "ok", "allow_virus": "yes"},
        {"reason": "ok", "by": "someone else"},
    ],
)
def test_a_bad_body_is_400_and_queues_nothing(
    call: Call, stack: Stack, invoker: KeptInvoker, body: dict[str, Any]
) -> None:
    seed(stack)
    reply = call("POST", "/messages/held-spam/release", body=body)
    assert reply.status == 400, reply.body
    assert invoker.events == []


def test_only_quarantined_messages_and_only_when_configured(
    call: Call, stack: Stack, invoker: KeptInvoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(stack)
    assert call("POST", "/messages/fine/release", body={"reason": "x"}).status == 400
    assert call("POST", "/messages/nope/release", body={"reason": "x"}).status == 404
    monkeypatch.delenv("MAILROOM_EXTRACT_FUNCTION")
    api.resolver.cache_clear()
    reply = call("POST", "/messages/held-spam/release", body={"reason": "x"})
    assert reply.status == 503 and reply.body["error"]["code"] == "not_configured"
    assert invoker.events == []
