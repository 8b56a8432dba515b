"""The Protocols the use cases need: what a catalogue and an object store must offer.

Use cases (`mailroom.usecases`) depend on these, never on boto3; `adapters.catalog.Catalog` and
`adapters.s3.S3Store` satisfy them, and tests may pass anything shaped the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Protocol

from mailroom.model import Bounds, FileRecord, MessageRecord


class FileCatalog(Protocol):
    """Reads of the catalogue (`mailroom.model`'s access patterns), every listing newest first."""

    def get_file(self, file_id: str) -> FileRecord | None: ...

    def get_message(self, message_id: str) -> tuple[MessageRecord | None, list[FileRecord]]: ...

    def files_from(
        self,
        address: str,
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
        include_claimed: bool = False,
    ) -> Iterator[tuple[FileRecord, str]]: ...

    def files_of_case(
        self, case: str, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[FileRecord]: ...

    def files_by_sha256(self, sha256: str) -> Iterator[FileRecord]: ...

    def files_newest_first(
        self, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[FileRecord]: ...

    def messages_with(
        self, outcome: str, bounds: Bounds | None = None, *, page_size: int | None = None
    ) -> Iterator[MessageRecord]: ...

    def messages_newest_first(
        self,
        outcomes: Iterable[str],
        bounds: Bounds | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[MessageRecord]: ...


class ObjectStore(Protocol):
    """The bucket, as uploads and downloads use it."""

    @property
    def bucket(self) -> str: ...

    def upload(
        self, key: str, body: IO[bytes], content_type: str, metadata: dict[str, str]
    ) -> None: ...

    def upload_new(
        self, key: str, body: IO[bytes], size: int, content_type: str, metadata: dict[str, str]
    ) -> None:
        """Write a key that must not exist yet (If-None-Match); raise if it does."""
        ...

    def download(
        self,
        key: str,
        target: IO[bytes],
        version_id: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None: ...

    def presigned_get(
        self, key: str, expires_in: int, version_id: str | None = None, filename: str | None = None
    ) -> str: ...


class FileRemover(Protocol):
    """What a delete needs: the record read, and marked deleted (who, when)."""

    def get_file(self, file_id: str) -> FileRecord | None: ...

    def mark_deleted(self, file_id: str, by: str, at: str) -> FileRecord | None: ...


class ObjectRemover(Protocol):
    """The bucket, as a delete uses it: the current version goes, older versions stay."""

    def delete_current(self, key: str) -> None: ...


class UploadSigner(Protocol):
    """The bucket, as the API's uploads use it: a browser posts the bytes to S3 itself."""

    @property
    def bucket(self) -> str: ...

    def presigned_post(
        self,
        key: str,
        fields: dict[str, str],
        size: int,
        expires_in: int,
    ) -> dict[str, Any]: ...


class UploadLedger(Protocol):
    """The table, as the api's uploads use it: who signed the form for a key (record_metadata
    takes a form upload's uploader from there, never from what the browser sent)."""

    def put_upload(self, file_id: str, uploader: str, signed_at: str) -> None: ...
