"""`mailroom import` against moto: the same intake path, idempotent, resumable."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mailroom.adapters.inventory import RecordInventory
from mailroom.cli.main import cli
from mailroom.settings import Settings
from mailroom.usecases.imports import Importer, import_paths, intake_steps
from tests.integration.conftest import BUCKET, TABLE, Stack
from tests.integration.mailboxes import mboxrd_quote, message, write_mbox


@pytest.fixture
def cli_stack(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("MAILROOM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    yield stack


def run_import(*args: str) -> Result:
    return CliRunner().invoke(cli, ["import", *args])


def all_items(stack: Stack) -> list[dict[str, Any]]:
    return stack.items()


def files(stack: Stack) -> list[dict[str, Any]]:
    return [i for i in all_items(stack) if i["sk"]["S"].startswith("FILE#")]


def messages(stack: Stack) -> list[dict[str, Any]]:
    return [i for i in all_items(stack) if i["sk"]["S"] == "MESSAGE"]


def assert_each_attachment_once(stack: Stack, expected: int) -> None:
    items = files(stack)
    names = Counter(i["filename"]["S"] for i in items)
    assert len(items) == expected
    assert all(count == 1 for count in names.values()), names.most_common(3)
    assert len(stack.keys("incoming/")) == expected
    assert stack.versions("incoming/") == expected  # nothing written twice


def import_twice(stack: Stack, path: Path, count: int, attachments: int) -> None:
    first = run_import(str(path), "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["imported"], report["skipped"], report["failed"]) == (count, 0, 0)
    assert_each_attachment_once(stack, attachments)
    before = all_items(stack)
    raw_versions = stack.versions("raw/")

    second = run_import(str(path), "--json")

    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert (again["imported"], again["skipped"], again["failed"]) == (0, count, 0)
    assert all_items(stack) == before
    assert stack.versions("raw/") == raw_versions == count
    assert_each_attachment_once(stack, attachments)


def test_import_an_mbox_twice_adds_nothing_the_second_time(
    cli_stack: Stack, tmp_path: Path
) -> None:
    made = write_mbox(tmp_path / "old.mbox", 20, every_nth_without_id=7)

    import_twice(cli_stack, tmp_path / "old.mbox", 20, made.attachments)

    # Records say where they came from; sender and date are the message's own.
    mailbox = str((tmp_path / "old.mbox").resolve())
    for item in messages(cli_stack):
        assert item["source"]["S"] == "import"
        assert item["mailbox"]["S"] == mailbox
        assert item["outcome"]["S"] == "extracted"
        assert item["raw_key"]["S"] == "raw/" + item["message_id"]["S"]
    for item in files(cli_stack):
        assert item["source"]["S"] == "import"
        assert item["sender"]["S"].endswith("@old-clients.example")
        assert item["received_at"]["S"] < "2025"  # the Date header, not today
        assert item["sort_key"]["S"].startswith(item["received_at"]["S"])  # sorts by it
    first = next(i for i in files(cli_stack) if i["filename"]["S"] == "doc-0-0.pdf")
    assert first["received_at"]["S"] == "2021-01-01T09:00:00.000Z"


@pytest.mark.slow
def test_import_of_500_messages_twice_records_every_attachment_exactly_once(
    cli_stack: Stack, tmp_path: Path
) -> None:
    made = write_mbox(tmp_path / "big.mbox", 500)

    import_twice(cli_stack, tmp_path / "big.mbox", 500, made.attachments)


def test_an_interrupted_import_resumes(stack: Stack, tmp_path: Path) -> None:
    made = write_mbox(tmp_path / "old.mbox", 12)
    settings = Settings(bucket=BUCKET, table=TABLE)
    extract, record = intake_steps(settings, stack.store, stack.catalog)
    importer = Importer(settings, stack.store, RecordInventory(stack.ddb, TABLE), extract, record)
    seen = 0

    def ctrl_c_after_five(_: Any) -> None:
        nonlocal seen
        seen += 1
        if seen == 5:
            raise KeyboardInterrupt

    first = import_paths([tmp_path / "old.mbox"], importer, progress=ctrl_c_after_five)
    assert first.interrupted
    assert len(first.imported) == 5

    second = import_paths([tmp_path / "old.mbox"], importer)

    assert not second.interrupted
    assert (len(second.imported), len(second.skipped)) == (7, 5)
    assert_each_attachment_once(stack, made.attachments)


def test_import_case_tags_and_dry_run_writes_nothing(cli_stack: Stack, tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n in range(3):
        (maildir / "cur" / f"{n}:2,S").write_bytes(message(100 + n))

    dry = run_import(str(maildir), "--dry-run", "--case", "Smith-2019")
    assert dry.exit_code == 0, dry.output
    assert "would import 3, skipped 0 (already present), failed 0" in dry.stdout
    assert all_items(cli_stack) == []
    assert cli_stack.keys("") == []

    done = run_import(str(maildir), "--case", "Smith-2019")
    assert done.exit_code == 0, done.output
    assert "imported 3, skipped 0 (already present), failed 0" in done.stdout
    assert {i["case_key"]["S"] for i in files(cli_stack)} == {"smith-2019"}
    assert {i["case"]["S"] for i in messages(cli_stack)} == {"smith-2019"}


def test_import_reports_what_it_cannot_read_and_goes_on(cli_stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "broken.mbox").write_bytes(b"no From line here\n")
    write_mbox(tmp_path / "good.mbox", 2)

    result = run_import(str(tmp_path / "broken.mbox"), str(tmp_path / "good.mbox"))

    assert result.exit_code == 1
    assert "imported 2, skipped 0 (already present), failed 1" in result.stdout
    assert "broken.mbox: not an mbox" in result.stderr


def test_import_bad_case_is_a_usage_error(cli_stack: Stack, tmp_path: Path) -> None:
    write_mbox(tmp_path / "a.mbox", 1)
    result = run_import(str(tmp_path / "a.mbox"), "--case", "no spaces/please")
    assert result.exit_code == 2
    assert "case tag" in result.stderr


def test_the_same_message_twice_in_a_mailbox_is_imported_once(
    cli_stack: Stack, tmp_path: Path
) -> None:
    data = mboxrd_quote(message(1))
    separator = b"From a@b Sat Nov 21 10:00:00 2026\n"
    (tmp_path / "dup.mbox").write_bytes(separator + data + b"\n" + separator + data)

    result = run_import(str(tmp_path / "dup.mbox"), "--jobs", "2", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["imported"], report["skipped"]) == (1, 1)
    assert_each_attachment_once(cli_stack, 1)


def test_imported_mail_is_delivered_under_strict_virus_policy_and_an_allow_list(
    stack: Stack, tmp_path: Path
) -> None:
    # GIVEN the production defaults at their strictest: virus `strict` and an allow-list that
    # names none of the mailbox's senders
    made = write_mbox(tmp_path / "old.mbox", 3)
    settings = Settings(
        bucket=BUCKET, table=TABLE, allowed_sender_domains=frozenset({"firm.example"})
    )
    extract, record = intake_steps(settings, stack.store, stack.catalog)
    importer = Importer(settings, stack.store, RecordInventory(stack.ddb, TABLE), extract, record)

    report = import_paths([tmp_path / "old.mbox"], importer)

    # THEN every message is extracted (SES never scanned it, so GRAY is no reason to hold it)
    assert [m["outcome"] for m in report.imported] == ["extracted"] * 3
    assert_each_attachment_once(stack, made.attachments)
    # ... and nobody's sender is claimed to be authenticated
    assert {m["authenticated"]["BOOL"] for m in messages(stack)} == {False}
    assert {f["authenticated"]["BOOL"] for f in files(stack)} == {False}
    assert {m["source"]["S"] for m in messages(stack)} == {"import"}
