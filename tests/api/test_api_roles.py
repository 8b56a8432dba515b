"""Issue 20 through the staff surfaces: documents by default, everything with `--all` /
`?all=true`; `show` and `message` print the role, the container and the message's context."""

from __future__ import annotations

import json
from dataclasses import replace

from tests.api.conftest import Call
from tests.cli.conftest import Stack, hours_ago, run


def seed(stack: Stack) -> tuple[str, str, str]:
    at = hours_ago(1)
    stack.add_message(
        "m1",
        received_at=at,
        subject="Scans for case 42",
        excerpt="Here are the scans.",
        links=["https://we.tl/t-abc"],
    )
    archive = stack.add_file(
        "m1", "scans.zip", received_at=at, index=1, content_type="application/zip"
    )
    member = stack.add_file("m1", "scan 1.pdf", received_at=at, index=2)
    stack.catalog.put_file(replace(member, parent_index=1, role_reason=None))
    logo = stack.add_file("m1", "image001.png", received_at=at, index=3, content_type="image/png")
    stack.catalog.put_file(
        replace(logo, role="signature", role_reason="inline image already received 1 times")
    )
    return archive.file_id, member.file_id, logo.file_id


def test_list_shows_documents_and_all_shows_the_rest(stack: Stack) -> None:
    archive, member, logo = seed(stack)
    default = json.loads(run("list", "--json").stdout)
    assert sorted(f["file_id"] for f in default) == sorted([archive, member])
    every = json.loads(run("list", "--all", "--json").stdout)
    assert sorted(f["file_id"] for f in every) == sorted([archive, member, logo])
    assert {f["file_id"]: f["role"] for f in every}[logo] == "signature"
    by_sender = json.loads(run("list", "--sender", "client@example.com", "--json").stdout)
    assert logo not in {f["file_id"] for f in by_sender}


def test_show_and_message_print_role_container_and_context(stack: Stack) -> None:
    _, member, logo = seed(stack)
    shown = run("show", member)
    assert shown.exit_code == 0, shown.output
    assert "scans.zip (incoming/m1/01-scans.zip)" in shown.stdout
    assert "Scans for case 42" in shown.stdout and "Here are the scans." in shown.stdout
    assert "https://we.tl/t-abc" in shown.stdout
    assert "signature (inline image already received 1 times)" in run("show", logo).stdout
    message = run("message", "m1")
    assert "Here are the scans." in message.stdout and "https://we.tl/t-abc" in message.stdout


def test_the_api_lists_everything_with_all_true(call: Call, stack: Stack) -> None:
    archive, member, logo = seed(stack)
    default = call("GET", "/files").body["files"]
    assert sorted(f["file_id"] for f in default) == sorted([archive, member])
    every = call("GET", "/files", query={"all": "true"}).body["files"]
    assert logo in {f["file_id"] for f in every}
    assert call("GET", "/files", query={"all": "maybe"}).status == 400
