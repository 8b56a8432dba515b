"""`mailroom local --data DIR`: the bucket and the table kept on disk across restarts.

moto keeps nothing on disk (its "recorder" only replays requests), so local mode does it:

- objects: every write and delete reaches `on_write` through moto's in-process hook
  (`hooks.ObjectWritten`); a writer thread copies the object's current version (body streamed
  from moto's own buffer under the key's lock, no deep copy) to `DIR/s3/<bucket>/<sha256>.body`
  with its key and metadata beside it in `.json`, or removes them on delete. Only the current
  version is kept: earlier versions are not restored.
- the table: marked dirty by every write (`hooks` wraps the DynamoDB backend), and written as a
  whole to `DIR/dynamodb/<table>.jsonl` (atomically: write, then rename) at most every
  `SNAPSHOT_INTERVAL` s while dirty, and on stop. A crash loses at most that interval.
- on start, before the bucket notification is live, both are loaded straight into moto's
  backends, so a restore triggers no function and counts as no request.

Dead letters and DLQ messages are not kept here (the dead-letter file is in the state dir).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import shutil
import threading
from pathlib import Path
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends

from mailroom.local.hooks import ObjectWritten

log = logging.getLogger("mailroom_local.persist")

SNAPSHOT_INTERVAL = 2.0


class DataDir:
    def __init__(self, path: Path, *, bucket: str, table: str, region: str) -> None:
        self.path = path
        self.bucket = bucket
        self.table = table
        self.region = region
        self._writes: queue.Queue[ObjectWritten | None] = queue.Queue()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._snapshot_lock = threading.Lock()

    # -- where things go -------------------------------------------------------------------

    def _objects_dir(self, bucket: str) -> Path:
        return self.path / "s3" / bucket

    def _object_path(self, bucket: str, key: str) -> Path:
        return self._objects_dir(bucket) / hashlib.sha256(key.encode()).hexdigest()

    def _table_path(self) -> Path:
        return self.path / "dynamodb" / f"{self.table}.jsonl"

    # -- restore ---------------------------------------------------------------------------

    def restore(self) -> tuple[int, int]:
        """Load what an earlier run kept into moto; return (objects, items)."""
        return self._restore_objects(), self._restore_items()

    def _restore_objects(self) -> int:
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        count = 0
        directory = self._objects_dir(self.bucket)
        for meta_path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
            body_path = meta_path.with_suffix(".body")
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                value = body_path.read_bytes()
            except (OSError, ValueError):
                log.warning("skipping an unreadable kept object: %s", meta_path)
                continue
            key = backend.put_object(self.bucket, meta["key"], value, disable_notification=True)
            key.set_metadata(dict(meta.get("metadata") or {}))
            count += 1
        return count

    def _restore_items(self) -> int:
        path = self._table_path()
        if not path.is_file():
            return 0
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]
        count = 0
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    backend.put_item(self.table, json.loads(line))
                    count += 1
        return count

    # -- as it goes ------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        for target, name in ((self._write_objects, "objects"), (self._snapshots, "table")):
            thread = threading.Thread(target=target, name=f"mailroom-local-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Write what is pending, then stop."""
        self._writes.put(None)
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._threads = []
        if self._dirty.is_set():
            self._snapshot()

    def on_write(self, written: ObjectWritten) -> None:
        if written.bucket == self.bucket:
            self._writes.put(written)

    def on_table_write(self) -> None:
        self._dirty.set()

    def _write_objects(self) -> None:
        while True:
            written = self._writes.get()
            if written is None:
                return
            try:
                self._keep(written)
            except Exception:
                log.warning("could not keep %s", written.key, exc_info=True)

    def _keep(self, written: ObjectWritten) -> None:
        base = self._object_path(written.bucket, written.key)
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        key: Any = None
        if not written.deleted:
            with contextlib.suppress(Exception):
                key = backend.get_object(written.bucket, written.key)
        if key is None:  # deleted (or a delete marker is the current version)
            base.with_suffix(".json").unlink(missing_ok=True)
            base.with_suffix(".body").unlink(missing_ok=True)
            return
        base.parent.mkdir(parents=True, exist_ok=True)
        body_tmp = base.with_suffix(".body.tmp")
        with key.lock, body_tmp.open("wb") as out:
            key._value_buffer.seek(0)
            shutil.copyfileobj(key._value_buffer, out, 1 << 20)
        body_tmp.replace(base.with_suffix(".body"))
        meta = {"key": written.key, "metadata": dict(key.metadata)}
        meta_tmp = base.with_suffix(".json.tmp")
        meta_tmp.write_text(json.dumps(meta), encoding="utf-8")
        meta_tmp.replace(base.with_suffix(".json"))

    def _snapshots(self) -> None:
        while not self._stop.wait(SNAPSHOT_INTERVAL):
            if self._dirty.is_set():
                try:
                    self._snapshot()
                except Exception:
                    log.warning("could not write the table snapshot", exc_info=True)

    def _snapshot(self) -> None:
        with self._snapshot_lock:
            self._dirty.clear()
            backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]
            table = backend.get_table(self.table)
            items: list[Any] = []
            for _ in range(5):  # another thread may write while we walk: try again
                try:
                    items = list(table.all_items())
                    break
                except RuntimeError:
                    continue
            path = self._table_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".jsonl.tmp")
            with tmp.open("w", encoding="utf-8") as out:
                for item in items:
                    attributes = item.to_json()["Attributes"]
                    out.write(json.dumps(attributes, default=_dynamo_json) + "\n")
            tmp.replace(path)


def _dynamo_json(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    if to_json is None:
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")
    return to_json()
