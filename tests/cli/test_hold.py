"""Legal hold (issue 22) on moto, whose bucket has Object Lock (tests/cli/conftest.py): the
hold and its release over several versions, raw messages included; files recorded or re-filed
later into a held case; the delete refused through the CLI, and the versions refused by S3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mailroom.adapters.catalog import AuditTrail
from mailroom.adapters.s3 import S3Store
from mailroom.audit import Target
from mailroom.model import FileRecord
from mailroom.provenance import Provenance
from mailroom.usecases import filing, holds
from mailroom.usecases.recording import ObjectCreated, record_object
from tests.cli.conftest import BUCKET, Stack, hours_ago, run

CASE = "case-7"


def versions(stack: Stack, key: str) -> list[str]:
    found = stack.s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    return [v["VersionId"] for v in found.get("Versions", []) if v["Key"] == key]


def legal_holds(stack: Stack, key: str) -> list[str]:
    """Each version's legal hold; a version never held has none (moto: no Status), i.e. OFF."""
    found = [
        stack.s3.get_object_legal_hold(Bucket=BUCKET, Key=key, VersionId=v).get("LegalHold", {})
        for v in versions(stack, key)
    ]
    assert found, f"no versions of {key}"
    return [hold.get("Status", "OFF") for hold in found]


def seed(stack: Stack) -> dict[str, Any]:
    """Case-7: two messages, three files; one file and one raw message with two versions each
    (a reprocess rewrites the same keys). Another case's file, and a key that starts with a
    held key's name, stay untouched."""
    t = hours_ago(5)
    for message_id in ("m1", "m2", "m9"):
        stack.add_message(message_id, received_at=t, case=CASE if message_id != "m9" else "other")
        stack.s3.put_object(Bucket=BUCKET, Key=f"raw/{message_id}", Body=b"From: a\r\n\r\nx")
    stack.s3.put_object(Bucket=BUCKET, Key="raw/m1", Body=b"From: a\r\n\r\nx again")
    stack.s3.put_object(Bucket=BUCKET, Key="raw/m1-other", Body=b"not m1's")
    a = stack.add_file("m1", "a.pdf", received_at=t, case=CASE)
    stack.s3.put_object(Bucket=BUCKET, Key=a.file_id, Body=b"%PDF-1.7 reprocessed\n")
    b = stack.add_file("m1", "b.pdf", index=2, received_at=t, case=CASE)
    c = stack.add_file("m2", "c.pdf", received_at=t, case=CASE)
    other = stack.add_file("m9", "z.pdf", received_at=t, case="other")
    return {"files": [a, b, c], "other": other}


def test_hold_and_release_lock_every_version_raw_included(stack: Stack) -> None:
    seeded = seed(stack)
    files: list[FileRecord] = seeded["files"]

    held = run("hold", "--case", "Case-7", "--reason", "Smith v. Jones", "--by", "ann", "--json")
    assert held.exit_code == 0, held.output
    result = json.loads(held.output)
    assert (result["case"], result["files"], result["raw_objects"]) == (CASE, 3, 2)
    assert result["versions"] == 4 + 3  # files: 2 + 1 + 1; raw: m1 twice, m2 once
    for key in [f.file_id for f in files] + ["raw/m1", "raw/m2"]:
        assert set(legal_holds(stack, key)) == {"ON"}, key
    for key in (seeded["other"].file_id, "raw/m9", "raw/m1-other"):
        assert set(legal_holds(stack, key)) == {"OFF"}, key
    record = stack.catalog.get_file(files[0].file_id)
    assert record is not None
    assert (record.held, record.held_by, record.hold_reason) == (True, "ann", "Smith v. Jones")
    assert record.held_at and record.held_at.endswith("Z")
    assert stack.catalog.get_file(seeded["other"].file_id).held is False  # type: ignore[union-attr]
    assert stack.catalog.case_hold(CASE) is not None

    # A second hold keeps the first one's who, when and why (idempotent).
    again = run("hold", "--case", CASE, "--reason", "later", "--by", "bob", "--json")
    assert json.loads(again.output)["by"] == "ann"
    assert stack.catalog.get_file(files[0].file_id).held_by == "ann"  # type: ignore[union-attr]

    # The delete is refused before S3 is touched, naming the hold; the versions refuse S3.
    refused = run("delete", files[0].file_id, "--yes")
    assert refused.exit_code != 0
    assert "legal hold" in refused.output and "ann" in refused.output
    assert "Smith v. Jones" in refused.output
    listed = stack.s3.list_object_versions(Bucket=BUCKET, Prefix=files[0].file_id)
    assert not listed.get("DeleteMarkers")  # no delete marker was added
    assert stack.catalog.get_file(files[0].file_id).deleted is False  # type: ignore[union-attr]
    for key in (files[0].file_id, "raw/m1"):
        with pytest.raises(ClientError) as locked:
            stack.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=versions(stack, key)[0])
        assert locked.value.response["Error"]["Code"] == "AccessDenied"

    released = run("hold", "--case", CASE, "--release", "--json")
    assert released.exit_code == 0, released.output
    assert json.loads(released.output)["released"] is True
    for key in [f.file_id for f in files] + ["raw/m1", "raw/m2"]:
        assert set(legal_holds(stack, key)) == {"OFF"}, key
    assert stack.catalog.case_hold(CASE) is None
    assert stack.catalog.get_file(files[0].file_id).held is False  # type: ignore[union-attr]
    # One audit entry per command, reported by the client (the CLI's own work).
    trail = AuditTrail(stack.ddb, stack.catalog.table, 30)
    entries = list(trail.entries_of([Target.case(CASE)]))
    assert [(e.action, e.origin, e.reported_by) for e in entries] == [
        ("unhold", "cli", "client"),
        ("hold", "cli", "client"),
        ("hold", "cli", "client"),
    ]
    assert entries[-1].actor == "ann" and entries[-1].details["reason"] == "Smith v. Jones"
    assert entries[-1].details["files"] == 3 and entries[-1].details["raw_objects"] == 2
    deleted = run("delete", files[0].file_id, "--yes", "--json")
    assert deleted.exit_code == 0, deleted.output
    oldest = versions(stack, files[0].file_id)[-1]
    stack.s3.delete_object(Bucket=BUCKET, Key=files[0].file_id, VersionId=oldest)  # unlocked


def test_hold_needs_a_bucket_with_object_lock_and_a_valid_case(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.s3.create_bucket(
        Bucket="no-lock", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    monkeypatch.setenv("MAILROOM_BUCKET", "no-lock")
    refused = run("hold", "--case", CASE)
    assert refused.exit_code != 0 and "Object Lock" in refused.output
    assert stack.catalog.case_hold(CASE) is None  # nothing was changed
    monkeypatch.setenv("MAILROOM_BUCKET", BUCKET)
    bad = run("hold", "--case", "../x")
    assert bad.exit_code == 2 and "not a case id" in bad.output


def record(stack: Stack, key: str, message_id: str, case: str | None) -> FileRecord | None:
    body = b"%PDF-1.7 late\n"
    meta = Provenance(
        source="email",
        message_id=message_id,
        received_at=hours_ago(1),
        filename=key.rsplit("/", 1)[-1],
        case=case,
    ).to_metadata()
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=meta)
    store = S3Store(stack.s3, BUCKET)
    return record_object(
        ObjectCreated(key),
        "incoming/",
        store,
        stack.catalog,
        filings=stack.catalog,
        holds=stack.catalog,
        locks=store,
    )


def test_a_file_recorded_later_in_a_held_case_is_held_with_its_raw_message(stack: Stack) -> None:
    assert run("hold", "--case", CASE, "--reason", "dispute", "--by", "ann").exit_code == 0
    stack.add_message("m5", received_at=hours_ago(1), case=CASE)
    stack.s3.put_object(Bucket=BUCKET, Key="raw/m5", Body=b"From: a\r\n\r\nx")

    late = record(stack, "incoming/m5/01-late.pdf", "m5", CASE)
    assert late is not None and (late.held, late.held_by, late.hold_reason) == (
        True,
        "ann",
        "dispute",
    )
    stored = stack.catalog.get_file("incoming/m5/01-late.pdf")
    assert stored is not None and stored.held and stored.held_by == "ann"
    assert set(legal_holds(stack, "incoming/m5/01-late.pdf")) == {"ON"}
    assert set(legal_holds(stack, "raw/m5")) == {"ON"}
    # Another case, or none, is not held.
    free = record(stack, "incoming/m6/01-free.pdf", "m6", None)
    assert free is not None and not free.held
    assert set(legal_holds(stack, "incoming/m6/01-free.pdf")) == {"OFF"}


def test_a_message_re_filed_into_a_held_case_is_held(stack: Stack) -> None:
    assert run("hold", "--case", CASE, "--by", "ann").exit_code == 0
    t = hours_ago(2)
    stack.add_message("m8", received_at=t, case="elsewhere")
    stack.s3.put_object(Bucket=BUCKET, Key="raw/m8", Body=b"From: a\r\n\r\nx")
    moved = stack.add_file("m8", "moved.pdf", received_at=t, case="elsewhere")
    store = S3Store(stack.s3, BUCKET)
    done = filing.file_message(
        stack.catalog, "m8", CASE, by="clerk", holds=stack.catalog, locks=store
    )
    assert [f.file_id for f in done.files] == [moved.file_id]
    assert stack.catalog.get_file(moved.file_id).held is True  # type: ignore[union-attr]
    assert set(legal_holds(stack, moved.file_id)) == {"ON"}
    assert set(legal_holds(stack, "raw/m8")) == {"ON"}
    # Through the CLI's `file` command too.
    stack.add_message("m10", received_at=t)
    via_cli = stack.add_file("m10", "cli.pdf", received_at=t)
    assert run("file", "m10", "--case", CASE).exit_code == 0
    assert stack.catalog.get_file(via_cli.file_id).held is True  # type: ignore[union-attr]


def test_held_names_the_hold_and_reasons_are_bounded() -> None:
    record_ = FileRecord(
        file_id="incoming/m1/01-a.pdf",
        filename="a.pdf",
        safe_name="01-a.pdf",
        size=1,
        sha256="0" * 64,
        received_at="2026-12-01T10:00:00.000Z",
        source="email",
        message_id="m1",
        case=CASE,
        held=True,
        held_by="ann",
        held_at="2026-12-02T10:00:00.000Z",
        hold_reason="dispute",
    )
    text = str(holds.Held(record_))
    for part in ("incoming/m1/01-a.pdf", CASE, "ann", "2026-12-02T10:00:00.000Z", "dispute"):
        assert part in text
    assert holds.reason_from("  a \n b ") == "a b"
    assert holds.reason_from("") is None
    with pytest.raises(holds.InvalidInput):
        holds.reason_from("x" * 501)


def test_re_filing_into_a_held_case_without_the_right_to_hold_says_how_to_finish(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An uploader's credentials re-file, but S3 refuses them the legal hold (fault injected:
    moto does not enforce IAM here; the infra tier checks the uploader's policy)."""
    assert run("hold", "--case", CASE, "--by", "ann").exit_code == 0
    t = hours_ago(2)
    stack.add_message("m11", received_at=t)
    stack.add_file("m11", "x.pdf", received_at=t)

    def refused(self: S3Store, key: str) -> list[str]:
        error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
        raise ClientError(error, "ListObjectVersions")  # type: ignore[arg-type]

    monkeypatch.setattr(S3Store, "versions_of", refused)
    result = run("file", "m11", "--case", CASE)
    assert result.exit_code != 0
    assert "under legal hold" in result.output and f"mailroom hold --case {CASE}" in result.output
    message, _ = stack.catalog.get_message("m11")
    assert message is not None and message.case == CASE  # filed; the hold is left to an admin


def test_releasing_one_case_keeps_the_raw_message_of_a_file_held_by_another(stack: Stack) -> None:
    """A message whose files were re-filed into two cases: releasing one case's hold leaves
    the raw message locked while the other case still holds one of its files."""
    t = hours_ago(3)
    stack.add_message("m12", received_at=t, case=CASE)
    stack.s3.put_object(Bucket=BUCKET, Key="raw/m12", Body=b"From: a\r\n\r\nx")
    first = stack.add_file("m12", "one.pdf", received_at=t, case=CASE)
    second = stack.add_file("m12", "two.pdf", index=2, received_at=t, case="case-8")
    assert run("hold", "--case", CASE).exit_code == 0
    assert run("hold", "--case", "case-8").exit_code == 0
    released = run("hold", "--case", CASE, "--release", "--json")
    assert json.loads(released.output)["raw_objects"] == 0
    assert set(legal_holds(stack, "raw/m12")) == {"ON"}
    assert set(legal_holds(stack, first.file_id)) == {"OFF"}
    assert set(legal_holds(stack, second.file_id)) == {"ON"}
    assert run("hold", "--case", "case-8", "--release").exit_code == 0
    assert set(legal_holds(stack, "raw/m12")) == {"OFF"}
