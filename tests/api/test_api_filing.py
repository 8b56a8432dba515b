"""POST /messages/{id}/file and GET /messages?needs_filing=true (issue 21)."""

from __future__ import annotations

from tests.api.conftest import STAFF, Call
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


def test_filing_needs_the_uploaders_role(call: Call, stack: Stack) -> None:
    """A reader may list what needs filing but not file it (403 naming the role)."""
    stack.add_message("m1", received_at=hours_ago(2), needs_filing=True)
    reader = {**STAFF, "cognito:groups": "[readers]"}
    listed = call("GET", "/messages", query={"needs_filing": "true"}, claims=reader)
    assert [m["message_id"] for m in listed.body["messages"]] == ["m1"]
    refused = call("POST", "/messages/m1/file", body={"case": "case-42"}, claims=reader)
    assert (refused.status, refused.error, refused.body["error"]["role"]) == (
        403,
        "forbidden",
        "uploaders",
    )
    still = call("GET", "/messages", query={"needs_filing": "true"}, claims=reader)
    assert [m["message_id"] for m in still.body["messages"]] == ["m1"]  # nothing changed
    uploader = {**STAFF, "cognito:groups": "[uploaders]"}
    filed = call("POST", "/messages/m1/file", body={"case": "case-42"}, claims=uploader)
    assert filed.status == 200 and filed.body["message"]["case"] == "case-42"
    nobody = {**STAFF, "cognito:groups": "[]"}
    assert call("GET", "/messages", query={"needs_filing": "true"}, claims=nobody).status == 403
