"""The use cases over an in-memory catalogue: no boto3, no click (the ports are Protocols)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest

from mailroom.model import Bounds, FileRecord, MessageRecord, file_sort_key, message_sort_key
from mailroom.policy import Outcome
from mailroom.ports import FileCatalog, ObjectStore
from mailroom.provenance import Provenance
from mailroom.usecases import files, messages, uploads
from mailroom.usecases.errors import InvalidInput, NotFound


def _within(key: str, bounds: Bounds | None) -> bool:
    if bounds is None:
        return True
    if bounds.low is not None and key < bounds.low:
        return False
    if bounds.high is None:
        return True
    return key < bounds.high if bounds.exclusive_high else key <= bounds.high


class MemoryCatalog:
    """The read side of the catalogue over two lists: what a test needs, nothing more."""

    def __init__(
        self, file_records: Iterable[FileRecord], message_records: Iterable[MessageRecord]
    ):
        self.files = sorted(file_records, key=file_sort_key, reverse=True)
        self.messages = sorted(message_records, key=message_sort_key, reverse=True)

    def get_file(self, file_id: str) -> FileRecord | None:
        return next((f for f in self.files if f.file_id == file_id), None)

    def get_message(self, message_id: str) -> tuple[MessageRecord | None, list[FileRecord]]:
        record = next((m for m in self.messages if m.message_id == message_id), None)
        return record, [f for f in self.files if f.message_id == message_id]

    def files_from(
        self, address: str, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[tuple[FileRecord, str]]:
        for f in self.files_newest_first(bounds):
            if (f.sender or "").lower() == address:
                yield f, "sender"
            elif (f.original_sender or "").lower() == address:
                yield f, "original_sender"

    def files_of_case(
        self, case: str, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[FileRecord]:
        return (f for f in self.files_newest_first(bounds) if f.case == case)

    def files_by_sha256(self, sha256: str) -> Iterator[FileRecord]:
        return (f for f in self.files if f.sha256 == sha256)

    def files_newest_first(
        self, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[FileRecord]:
        return (f for f in self.files if _within(file_sort_key(f), bounds))

    def messages_with(
        self, outcome: str, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[MessageRecord]:
        return (m for m in self.messages_newest_first([outcome], bounds))

    def messages_newest_first(
        self, outcomes: Iterable[str], bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[MessageRecord]:
        wanted = set(outcomes)
        return (
            m
            for m in self.messages
            if str(m.outcome) in wanted and _within(message_sort_key(m), bounds)
        )


def _file(group: str, part: int, at: str, **values: object) -> FileRecord:
    return FileRecord(
        file_id=f"incoming/{group}/{part:02d}-f.pdf",
        filename="f.pdf",
        safe_name=f"{part:02d}-f.pdf",
        size=10,
        sha256=str(values.pop("sha256", f"{group}{part}")),
        received_at=at,
        source="email",
        message_id=group,
        **values,  # type: ignore[arg-type]
    )


def _message(message_id: str, at: str, outcome: Outcome = Outcome.EXTRACTED) -> MessageRecord:
    return MessageRecord(message_id, at, f"raw/{message_id}", outcome)


def test_the_memory_catalog_is_a_file_catalog() -> None:
    catalog: FileCatalog = MemoryCatalog([], [])
    assert list(catalog.files_newest_first()) == []


def test_pages_of_files_cover_everything_once_even_inside_a_message() -> None:
    records = [_file("a", n, "2026-01-01T00:00:00.000Z") for n in (1, 2, 3, 4, 5)]
    records += [_file(f"b{n}", 1, f"2026-01-0{n + 2}T00:00:00.000Z") for n in range(3)]
    catalog = MemoryCatalog(records, [])

    for size in (1, 2, 3, 4, 7, 8, 50):
        seen, cursor = [], None
        while True:
            page = files.list_files(catalog, files.FileQuery(limit=size, cursor=cursor))
            seen += [m.record.file_id for m in page.files]
            if page.next is None:
                break
            cursor = page.next
        assert seen == [
            *(f"incoming/b{n}/01-f.pdf" for n in (2, 1, 0)),
            *(r.file_id for r in records[:5]),
        ]


def test_a_bad_cursor_or_limit_is_invalid_input() -> None:
    catalog = MemoryCatalog([], [])

    with pytest.raises(InvalidInput) as bad_cursor:
        files.list_files(catalog, files.FileQuery(cursor="not-a-cursor!"))
    with pytest.raises(InvalidInput) as bad_limit:
        files.list_files(catalog, files.FileQuery(limit=0))

    assert bad_cursor.value.field == "cursor"
    assert bad_limit.value.field == "limit"


def test_duplicates_never_include_the_file_itself() -> None:
    a = _file("a", 1, "2026-01-01T00:00:00.000Z", sha256="s")
    b = _file("b", 1, "2026-01-02T00:00:00.000Z", sha256="s")
    catalog = MemoryCatalog([a, b], [])

    assert files.duplicates(catalog, file_id=a.file_id) == [b]
    with pytest.raises(NotFound):
        files.duplicates(catalog, file_id="incoming/x/01-y")


def test_a_quarantined_message_shows_its_held_objects() -> None:
    record = _message("q", "2026-01-01T00:00:00.000Z", Outcome.QUARANTINED)
    record.file_ids = ["quarantine/q/01-x.exe"]
    view = messages.get_message(MemoryCatalog([], [record]), "q")

    assert view.held == ["quarantine/q/01-x.exe"]
    assert view.files == []


def test_message_pages_and_older_than() -> None:
    records = [_message(f"m{n}", f"2026-01-01T0{n}:00:00.000Z") for n in range(6)]
    catalog = MemoryCatalog([], records)
    now = datetime(2026, 1, 1, 5, 30, tzinfo=UTC)

    first = messages.page_messages(catalog, messages.MessageQuery(limit=4))
    second = messages.page_messages(catalog, messages.MessageQuery(limit=4, cursor=first.next))
    stuck = messages.list_messages(catalog, messages.MessageQuery(older_than=3600), now=now)

    assert [m.message_id for m in first.messages] == ["m5", "m4", "m3", "m2"]
    assert [m.message_id for m in second.messages] == ["m1", "m0"]
    assert second.next is None
    assert [m.message_id for m in stuck] == ["m4", "m3", "m2", "m1", "m0"]


class MemoryStore:
    bucket = "memory"

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}

    def upload(
        self, key: str, body: IO[bytes], content_type: str, metadata: dict[str, str]
    ) -> None:
        self.objects[key] = (body.read(), content_type, metadata)

    def upload_new(
        self, key: str, body: IO[bytes], size: int, content_type: str, metadata: dict[str, str]
    ) -> None:
        assert key not in self.objects, "an upload never replaces an object"
        self.upload(key, body, content_type, metadata)

    def download(
        self,
        key: str,
        target: IO[bytes],
        version_id: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        target.write(self.objects[key][0])

    def presigned_get(
        self, key: str, expires_in: int, version_id: str | None = None, filename: str | None = None
    ) -> str:
        return f"memory://{key}"


def test_upload_builds_keys_provenance_and_time_itself(tmp_path: Path) -> None:
    store: ObjectStore = MemoryStore()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF")
    moment = datetime(2026, 11, 29, 17, 43, 5, 123000, tzinfo=UTC)

    [done] = uploads.upload_files(
        store,
        [scan],
        sender="Rec <REC@firm.example>",
        case="Case-1",
        incoming_prefix="incoming/",
        now=moment,
    )

    assert done.file_id.startswith("incoming/up-20261129-")
    assert done.file_id.endswith("/scan.pdf")
    _, content_type, metadata = store.objects[done.file_id]  # type: ignore[attr-defined]
    provenance = Provenance.from_metadata(metadata)
    assert provenance is not None
    assert (provenance.sender, provenance.case) == ("rec@firm.example", "case-1")
    assert provenance.received_at == "2026-11-29T17:43:05.123Z"
    assert content_type == "application/pdf"
    with pytest.raises(InvalidInput):
        uploads.upload_files(store, [scan], sender="", incoming_prefix="incoming/")
