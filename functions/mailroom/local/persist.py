"""`mailroom local --data DIR`: what the emulator holds, kept on disk across restarts.

moto keeps nothing on disk (its "recorder" only replays requests), so local mode does it. The
folder holds one sub-folder per *kind* of state (`Kind`), and a lock:

    DIR/lock                     the pid of the stack using DIR (flock; see `DataLock`)
    DIR/s3/<bucket>/<h>.json     one object key: every version, oldest first (ids, metadata)
    DIR/s3/<bucket>/<h>/<v>.body the bytes of one version (h, v: sha256 of key, version id)
    DIR/dynamodb/<table>.jsonl   every item of every table, one JSON object a line
    DIR/sqs/<queue>.jsonl        every message of every queue (the dead-letter queues)
    DIR/dead-letters.jsonl       the runner's dead letters (`DataDir.file`)

- objects are kept *as versions*: every version with its own id, LastModified, ETag,
  metadata and Object Lock legal hold (issue 22), delete markers included, so a file record's
  `version_id` still names its bytes after any number of restarts. Every write and delete
  (a legal hold's change too) reaches `on_write` through moto's hook
  (`hooks.ObjectWritten`) on the writing request's own thread, before S3 answers: an object
  the SMTP door acknowledged is on disk. The key's version list is then synced: bodies of new
  versions are streamed from moto's own buffer (under the key's lock, no deep copy), the
  key's index rewritten atomically, bodies of versions that are gone removed.
- tables and queues are written whole, atomically (write, then rename), at most every
  `SNAPSHOT_INTERVAL` s while changed, and on stop: a crash loses at most that interval,
  which the start-up reconciliation (`reconcile`) repairs from raw/ and incoming/.
- on start, before the bucket notification is live, everything is loaded straight into moto's
  backends, so a restore triggers no function and counts as no request. Resources are not
  kept: provisioning creates them; a kept bucket, table or queue that was not provisioned is
  skipped with a warning.

Adding a kind of state (an outbox, holds, audit entries):

- kept in a table, a queue or the bucket that `stack.provision` creates: nothing to do, every
  table, queue and bucket of the emulator is kept;
- kept in a file of local mode's own: write it at `data.file("outbox.jsonl")` (the state dir
  when there is no --data), nothing else;
- anything else: a class with `name`, `restore(folder) -> int` and `save(folder)` (see
  `Tables`), added to `KINDS`, and `data.changed(name)` called from the hook that sees a change.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import FakeDeleteMarker, FakeKey, s3_backends
from moto.sqs.models import sqs_backends

from mailroom.local.hooks import ObjectWritten

log = logging.getLogger("mailroom_local.persist")

SNAPSHOT_INTERVAL = 2.0
LOCK_FILE = "lock"
_KEY_LOCKS = 64  # writes of one key are serialised (two requests may write it at once)


class DataDirBusy(RuntimeError):
    """Another running stack holds the data folder."""


class DataLock:
    """One stack per data folder: an exclusive `flock` on DIR/lock, which holds the pid.

    The kernel drops the lock when its process dies, however it dies, so a lock left by a
    dead process is simply taken over. The pid stays in the file until a clean stop empties
    it: a pid found when taking the lock means the previous stack did not stop cleanly.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fd: int | None = None
        self.previous_pid: int | None = None  # set when the last stack did not stop cleanly

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder else "another process"
            raise DataDirBusy(
                f"the data folder {self.path.parent} is in use by {who} (a running "
                f"`mailroom local --data`); stop it first" + (f" (kill {holder})" if holder else "")
            ) from None
        self.previous_pid = _read_pid(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self, *, clean: bool) -> None:
        if self._fd is None:
            return
        if clean:
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


class Kind(Protocol):
    """One kind of kept state: a sub-folder of the data folder."""

    name: str

    def restore(self, folder: Path) -> int:
        """Load what `folder` holds into the emulator; how many entries."""
        ...

    def save(self, folder: Path) -> None:
        """Write the whole current state into `folder`, atomically."""
        ...


class Tables:
    """Every item of every DynamoDB table in the region, a JSON-lines file per table."""

    name = "dynamodb"

    def __init__(self, region: str) -> None:
        self.region = region

    def restore(self, folder: Path) -> int:
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]
        count = 0
        for path in sorted(folder.glob("*.jsonl")):
            if path.stem not in backend.tables:
                log.warning("kept table %s is not provisioned: not restored", path.stem)
                continue
            for line in _lines(path):
                backend.put_item(path.stem, line)
                count += 1
        return count

    def save(self, folder: Path) -> None:
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]
        for name, table in list(backend.tables.items()):
            items: list[Any] = []
            for _ in range(5):  # another thread may write while we walk: try again
                try:
                    items = list(table.all_items())
                    break
                except RuntimeError:
                    continue
            _write_lines(
                folder / f"{name}.jsonl",
                (json.dumps(i.to_json()["Attributes"], default=_to_json) for i in items),
            )


class Queues:
    """Every message of every SQS queue in the region (the dead-letter queues), with its
    message attributes; a received message is kept too (it is not deleted yet)."""

    name = "sqs"

    def __init__(self, region: str) -> None:
        self.region = region

    def restore(self, folder: Path) -> int:
        backend = sqs_backends[DEFAULT_ACCOUNT_ID][self.region]
        count = 0
        for path in sorted(folder.glob("*.jsonl")):
            if path.stem not in backend.queues:
                log.warning("kept queue %s is not provisioned: not restored", path.stem)
                continue
            for message in _lines(path):
                backend.send_message(
                    path.stem,
                    message["body"],
                    message_attributes=message.get("attributes") or None,
                    group_id=message.get("group_id"),
                    deduplication_id=message.get("deduplication_id"),
                )
                count += 1
        return count

    def save(self, folder: Path) -> None:
        backend = sqs_backends[DEFAULT_ACCOUNT_ID][self.region]
        for name, queue in list(backend.queues.items()):
            messages = [
                {
                    "body": m.body,
                    "attributes": m.message_attributes,
                    "group_id": m.group_id,
                    "deduplication_id": m.deduplication_id,
                }
                for m in list(queue._messages)
            ]
            _write_lines(folder / f"{name}.jsonl", (json.dumps(m) for m in messages))


# The kinds written whole at each snapshot; objects are kept as they are written (`Objects`).
KINDS: tuple[Callable[[str], Kind], ...] = (Tables, Queues)


class Objects:
    """Every bucket's objects, version by version (see the module's docstring)."""

    name = "s3"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locks = [threading.Lock() for _ in range(_KEY_LOCKS)]
        self.legacy: list[ObjectWritten] = []  # kept in the layout before versions were kept

    def _index(self, bucket: str, key: str) -> Path:
        return self.folder / bucket / f"{_digest(key)}.json"

    def _body(self, bucket: str, key: str, version_id: str) -> Path:
        return self.folder / bucket / _digest(key) / f"{_digest(version_id)}.body"

    # -- restore --

    def restore(self) -> int:
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        count = 0
        for bucket_dir in sorted(p for p in self.folder.glob("*") if p.is_dir()):
            if bucket_dir.name not in backend.buckets:
                log.warning("kept bucket %s is not provisioned: not restored", bucket_dir.name)
                continue
            for index in sorted(bucket_dir.glob("*.json")):
                try:
                    kept = json.loads(index.read_text(encoding="utf-8"))
                    count += self._restore_key(backend, bucket_dir.name, index, kept)
                except (OSError, ValueError, KeyError):
                    log.warning("skipping an unreadable kept object: %s", index, exc_info=True)
        return count

    def _restore_key(self, backend: Any, bucket_name: str, index: Path, kept: Any) -> int:
        key_name = kept["key"]
        if "versions" not in kept:  # the layout before versions: its one body, a new id
            value = index.with_suffix(".body").read_bytes()
            key = backend.put_object(bucket_name, key_name, value, disable_notification=True)
            key.set_metadata(dict(kept.get("metadata") or {}))
            self.legacy.append(ObjectWritten(bucket_name, key_name, False))
            return 1
        bucket = backend.get_bucket(bucket_name)
        versions: list[Any] = []
        for version in kept["versions"]:
            version_id = version["version_id"]
            if version.get("delete_marker"):
                if not versions:
                    continue  # a marker over nothing kept
                marker = FakeDeleteMarker(key=versions[-1])
                marker._version_id = version_id
                marker.last_modified = _datetime(version["last_modified"])
                versions.append(marker)
                continue
            try:
                value = self._body(bucket_name, key_name, version_id).read_bytes()
            except OSError:
                log.warning("kept version %s of %s has no body: skipped", version_id, key_name)
                continue
            key = FakeKey(
                name=key_name,
                value=value,
                account_id=DEFAULT_ACCOUNT_ID,
                region_name=bucket.region_name,
                storage=version.get("storage_class") or "STANDARD",
                etag=version.get("etag"),
                is_versioned=bucket.is_versioned,
                version_id=version_id,
                bucket_name=bucket_name,
                checksum_value=version.get("checksum_value"),
            )
            key.checksum_algorithm = version.get("checksum_algorithm")
            key.lock_legal_status = version.get("legal_hold")  # issue 22: a hold survives
            key.set_metadata(dict(version.get("metadata") or {}))
            key.last_modified = _datetime(version["last_modified"])
            versions.append(key)
        if versions:
            bucket.keys.setlist(key_name, versions)
        return sum(1 for v in versions if isinstance(v, FakeKey))

    # -- as it goes --

    def sync(self, written: ObjectWritten) -> None:
        """Make the kept versions of one key what moto holds now."""
        index = self._index(written.bucket, written.key)
        with self._locks[int(index.stem[:8], 16) % _KEY_LOCKS]:
            backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
            try:
                versions = list(backend.get_bucket(written.bucket).keys.getlist(written.key, []))
            except Exception:  # the bucket is gone
                versions = []
            bodies = index.with_suffix("")
            kept: list[dict[str, Any]] = []
            for version in versions:
                entry: dict[str, Any] = {
                    "version_id": str(version.version_id),
                    "last_modified": _iso(version.last_modified),
                }
                if isinstance(version, FakeDeleteMarker):
                    kept.append({**entry, "delete_marker": True})
                    continue
                body = self._body(written.bucket, written.key, entry["version_id"])
                if not body.is_file():
                    body.parent.mkdir(parents=True, exist_ok=True)
                    tmp = body.with_suffix(".tmp")
                    with version.lock, tmp.open("wb") as out:
                        version._value_buffer.seek(0)
                        shutil.copyfileobj(version._value_buffer, out, 1 << 20)
                    tmp.replace(body)
                kept.append(
                    {
                        **entry,
                        "etag": str(version.etag),
                        "metadata": dict(version.metadata),
                        "storage_class": version.storage_class,
                        "checksum_value": version.checksum_value,
                        "checksum_algorithm": version.checksum_algorithm,
                        "legal_hold": version.lock_legal_status,
                    }
                )
            if kept:
                index.parent.mkdir(parents=True, exist_ok=True)
                tmp = index.with_suffix(".json.tmp")
                tmp.write_text(json.dumps({"key": written.key, "versions": kept}), "utf-8")
                tmp.replace(index)
            else:
                index.unlink(missing_ok=True)
            index.with_suffix(".body").unlink(missing_ok=True)  # the layout before versions
            wanted = {self._body(written.bucket, written.key, v["version_id"]).name for v in kept}
            if bodies.is_dir():
                for path in bodies.iterdir():
                    if path.name not in wanted:
                        path.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    bodies.rmdir()  # only when empty


class DataDir:
    def __init__(self, path: Path, *, region: str) -> None:
        self.path = path
        self.region = region
        self.lock = DataLock(path)
        self.objects = Objects(path / "s3")
        self.kinds: dict[str, Kind] = {kind.name: kind for kind in (k(region) for k in KINDS)}
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._save_lock = threading.Lock()
        self.repaired = False  # set once the start-up reconciliation has run (see `reconcile`)

    @property
    def unclean(self) -> bool:
        """The stack that used this folder before did not stop cleanly (killed, crashed)."""
        return self.lock.previous_pid is not None

    def file(self, name: str) -> Path:
        """Where a kind of state kept as a file of its own lives (e.g. dead-letters.jsonl)."""
        return self.path / name

    # -- restore ---------------------------------------------------------------------------

    def restore(self) -> tuple[int, int]:
        """Lock the folder, then load what an earlier run kept into moto; (objects, items)."""
        self.lock.acquire()
        counts = {name: kind.restore(self.path / name) for name, kind in self.kinds.items()}
        return self.objects.restore(), counts.get(Tables.name, 0)

    # -- as it goes ------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        for written in self.objects.legacy:  # rewritten in the versioned layout
            self.objects.sync(written)
        self.objects.legacy = []
        self._thread = threading.Thread(
            target=self._snapshots, name="mailroom-local-snapshots", daemon=True
        )
        self._thread.start()

    def stop(self, *, clean: bool = True) -> None:
        """Write what is pending, then let go of the folder. `clean`: no work was cut short."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        try:
            self._save()
        finally:
            # A start that failed before reconciling leaves the folder marked as it found it.
            self.lock.release(clean=clean and (not self.unclean or self.repaired))

    def on_write(self, written: ObjectWritten) -> None:
        try:
            self.objects.sync(written)
        except Exception:
            log.warning("could not keep %s", written.key, exc_info=True)

    def changed(self, kind: str) -> None:
        with self._dirty_lock:
            self._dirty.add(kind)

    def on_table_write(self) -> None:
        self.changed(Tables.name)

    def on_queue_write(self) -> None:
        self.changed(Queues.name)

    def _snapshots(self) -> None:
        while not self._stop.wait(SNAPSHOT_INTERVAL):
            try:
                self._save()
            except Exception:
                log.warning("could not write a snapshot", exc_info=True)

    def _save(self) -> None:
        with self._save_lock:
            with self._dirty_lock:
                dirty, self._dirty = self._dirty, set()
            for name in sorted(dirty):
                self.kinds[name].save(self.path / name)


def _lines(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _write_lines(path: Path, lines: Iterator[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
    tmp.replace(path)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # moto keeps naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    # moto keeps naive UTC datetimes
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _to_json(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    if to_json is None:
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")
    return to_json()
