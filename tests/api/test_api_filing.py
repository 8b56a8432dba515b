"""POST /messages/{id}/file and GET /messages?needs_filing=true (issue 21)."""

from __future__ import annotations

from tests.api.conftest import Call
from tests.cli.conftest import Stack, hours_ago


def test_filing_through_the_api_records_the_signed_in_person(call: Call, stack: Stack) -> None:
    stack.add_message("m1", received_at=hours_ago(2), needs_filing=True)
    stack.add_file("m1", "a.pdf", received_at=hours_ago(2))
    listed = call("GET", "/messages", query={"needs_filing": "true"})
    assert listed.status == 200
    assert [m["message_id"] for m in listed.body["messages"]] == ["m1"]

    reply = call("POST", "/messages/m1/file", body={"case": "case-42"})
    assert reply.status == 200, reply.body
    message = reply.body["message"]
    assert (message["case"], message["needs_filing"], message["filed_by"]) == (
        "case-42",
        False,
        "Staff@Firm.example",
    )
    assert [f["case"] for f in reply.body["files"]] == ["case-42"]
    assert call("GET", "/messages", query={"needs_filing": "true"}).body["messages"] == []


def test_filing_refuses_bad_input(call: Call, stack: Stack) -> None:
    stack.add_message("m1", received_at=hours_ago(2))
    assert call("POST", "/messages/m1/file", body={"case": "no way"}).error == "bad_request"
    assert call("POST", "/messages/m1/file", body={"case": "x", "by": "me"}).status == 400
    assert call("POST", "/messages/m1/file", raw_body="nope").status == 400
    assert call("POST", "/messages/zz/file", body={"case": "x"}).status == 404
    assert call("POST", "/messages/m1/file", body={"case": "x"}, claims=None).status == 401
