"""The audit trail's pure part (issue 22): entries, keys, deduplication, bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mailroom import audit
from mailroom.audit import Action, Kind, Reporter, Target
from mailroom.model import INDEXES, SORT_KEY, TTL_ATTRIBUTE, FileRecord, MessageRecord
from mailroom.usecases import migrate

AT = datetime(2026, 12, 5, 17, 46, 12, 345000, tzinfo=UTC)


def entry(action: Action = Action.DOWNLOAD, **values: object) -> audit.AuditEntry:
    args: dict[str, object] = {
        "actor": "alice@firm.example",
        "action": action,
        "target": Target.file("incoming/m1/01-a.pdf"),
        "origin": "api",
        "at": AT,
        "nonce": "n1",
    }
    args.update(values)
    return audit.new_entry(**args)  # type: ignore[arg-type]


def test_a_server_entry_lives_under_its_target_and_carries_its_index_keys() -> None:
    item = audit.to_item(entry(), retention_days=30)
    assert item["pk"] == "AUDIT#file#incoming/m1/01-a.pdf"
    assert item["sk"] == item[SORT_KEY] == "2026-12-05T17:46:12.345Z#n1"
    assert item["time_key"] == "AUDIT#2026-12"
    assert item["actor_key"] == "alice@firm.example"
    assert item["type"] == "audit"
    assert item["reported_by"] == "server"
    # expires 30 days after it was written (epoch seconds, DynamoDB's TTL attribute)
    assert item[TTL_ATTRIBUTE] == int(datetime(2027, 1, 4, 17, 46, 12, tzinfo=UTC).timestamp())
    assert audit.from_item(item) == entry()


def test_a_client_entry_has_its_own_partition_prefix() -> None:
    item = audit.to_item(entry(reported_by="client", origin="cli"), retention_days=30)
    assert item["pk"] == "CLIENTAUDIT#file#incoming/m1/01-a.pdf"
    assert not item["pk"].startswith(audit.SERVER_PREFIX)  # IAM tells them apart by prefix
    assert audit.partitions_of(Target.file("x")) == ["AUDIT#file#x", "CLIENTAUDIT#file#x"]


def test_downloads_are_never_deduplicated() -> None:
    first, second = entry(nonce="a"), entry(nonce="b")
    assert audit.to_item(first, 1)["sk"] != audit.to_item(second, 1)["sk"]


def test_a_listing_is_one_entry_per_person_filter_and_minute() -> None:
    filters = {"filters": {"sender": "bob@client.example", "case": "c1"}}
    same = [
        entry(Action.LIST, target=Target.listing("files"), details=filters, nonce=n, at=at)
        for n, at in [
            ("a", AT),
            ("b", AT.replace(second=59)),
            ("c", AT.replace(second=0, microsecond=0)),
        ]
    ]
    keys = {(audit.to_item(e, 1)["pk"], audit.to_item(e, 1)["sk"]) for e in same}
    assert len(keys) == 1
    # filter order does not matter
    reordered = {"filters": {"case": "c1", "sender": "bob@client.example"}}
    again = entry(Action.LIST, target=Target.listing("files"), details=reordered)
    assert audit.to_item(again, 1)["sk"] == audit.to_item(same[0], 1)["sk"]
    others = [
        entry(
            Action.LIST, target=Target.listing("files"), details=filters, at=AT.replace(minute=47)
        ),
        entry(Action.LIST, target=Target.listing("files"), details={"filters": {"case": "c2"}}),
        entry(Action.LIST, target=Target.listing("files"), details=filters, actor="carol@x"),
        entry(Action.LIST, target=Target.listing("messages"), details=filters),
    ]
    sort_keys = {audit.to_item(e, 1)["pk"] + audit.to_item(e, 1)["sk"] for e in [same[0], *others]}
    assert len(sort_keys) == 5
    # the minute is in the key; the entry keeps the time it happened
    assert same[1].at == "2026-12-05T17:46:59.345Z"
    assert audit.to_item(same[1], 1)["sk"].startswith("2026-12-05T17:46:00.000Z#")


def test_a_show_is_deduplicated_per_file() -> None:
    a = entry(Action.SHOW, nonce="a")
    b = entry(Action.SHOW, nonce="b", at=AT.replace(second=30))
    c = entry(Action.SHOW, nonce="c", target=Target.file("incoming/m1/02-b.pdf"))
    assert a.entry_id == b.entry_id != c.entry_id


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"actor": "  "}, "who acted"),
        ({"actor": "x" * 321}, "who acted"),
        ({"action": "peek"}, "peek"),
        ({"origin": "elsewhere"}, "origin"),
        ({"target": Target.file("")}, "target"),
        ({"reported_by": "both"}, "both"),
    ],
)
def test_an_invalid_entry_is_refused(values: dict[str, object], problem: str) -> None:
    with pytest.raises(audit.InvalidEntry, match=problem):
        entry(**values)  # type: ignore[arg-type]


def test_details_are_bounded() -> None:
    details = {f"k{i}": "v" * 2000 for i in range(40)}
    details["k0"] = ["x" * 900] * 50  # type: ignore[assignment]
    details["k1"] = {"a": "y" * 900, "n": 3, "gone": None}  # type: ignore[assignment]
    got = entry(details=details).details
    assert len(got) == audit.MAX_DETAIL_KEYS
    assert len(got["k0"]) == audit.MAX_DETAIL_ITEMS
    assert all(len(v) == audit.MAX_DETAIL_CHARS for v in got["k0"])
    assert got["k1"] == {"a": "y" * 499 + "…", "n": 3}
    assert len(got["k2"]) == audit.MAX_DETAIL_CHARS


def test_actor_whitespace_is_normalised() -> None:
    assert entry(actor="  alice@firm.example \n").actor == "alice@firm.example"


def test_month_keys_run_newest_first_across_a_year_end() -> None:
    assert audit.month_keys(date(2026, 11, 30), date(2027, 2, 1)) == [
        "AUDIT#2027-02",
        "AUDIT#2027-01",
        "AUDIT#2026-12",
        "AUDIT#2026-11",
    ]
    assert audit.month_keys(date(2026, 12, 5), date(2026, 12, 5)) == ["AUDIT#2026-12"]


def test_audit_time_keys_never_meet_the_files_listings() -> None:
    """`by_time` holds files under FILES#n (and aside#FILES#n): an audit month is elsewhere."""
    record = FileRecord(
        "incoming/m1/a.pdf", "a.pdf", "a.pdf", 1, "0" * 64, AT.isoformat(), "email", "m1"
    )
    assert not record.to_item()["time_key"].startswith(audit.TIME_PREFIX)
    assert audit.to_item(entry(), 1)["time_key"].startswith(audit.TIME_PREFIX)


def test_by_actor_is_sparse_and_needs_no_migration_step() -> None:
    """Only audit entries carry actor_key: no record gains it, so no step (as by_filing)."""
    assert INDEXES["by_actor"] == audit.ACTOR_KEY
    file_item = FileRecord(
        "incoming/m1/a.pdf",
        "a.pdf",
        "a.pdf",
        1,
        "0" * 64,
        "2026-12-05T10:00:00.000Z",
        "email",
        "m1",
    ).to_item()
    message_item = MessageRecord("m1", "2026-12-05T10:00:00.000Z", "raw/m1", "extracted").to_item()  # type: ignore[arg-type]
    for item in (file_item, message_item):
        assert audit.ACTOR_KEY not in item
        assert audit.ACTOR_KEY not in migrate.missing_index_keys(item)
    # a migration leaves audit entries alone (it knows files and messages only)
    assert migrate.stale_index_keys(audit.to_item(entry(), 1)) == {}


def test_kinds_and_actions_are_the_issue_s() -> None:
    assert {a.value for a in Action} == {
        "list", "show", "download", "url", "upload", "delete", "refile",
        "release", "export", "hold", "unhold",
    }  # fmt: skip
    assert {k.value for k in Kind} == {"file", "message", "case", "listing"}
    assert Reporter("client") is Reporter.CLIENT
