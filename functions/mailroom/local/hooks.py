"""moto's in-process hooks: what the emulator tells local mode as it happens, without polling.

moto runs in this process (`emulator.Emulator`), so some of its internals are wrapped here:

- `moto.s3.notifications.send_event`, called by moto at the end of every object write with the
  bucket's notification configuration: each matching `LambdaFunctionConfiguration` becomes an
  `ObjectCreated` callback (one per object version, exactly as often as S3 would send it).
  moto's own delivery (`_invoke_awslambda`) needs Docker and is switched off.
- `S3Response.key_response`, the handler of every object-level request: callbacks raised while
  it runs are held until it returns, so an event never overtakes the object's metadata (moto
  stores the metadata after `put_object`, in the response handler).
- `moto.awslambda.models.LambdaFunction.invoke`, behind the Lambda `Invoke` API: an `Event`
  invocation is handed to the local runner (`mailroom reprocess` uses it), as AWS would.

- `SQSBackend` message writes (send, delete, purge): a queue changed, for `--data`.
- `Table.query` on the table's own key reads only that partition (moto sorts the whole table
  for every Query; see `_partition_table_queries`).
- `ActionCountValidator.verify_action_counts` counts an UpdateItem's clauses once, from the
  expression's root (moto counts again at every nested node: quadratic in the expression's
  length; see `_count_update_actions_once`).

No hook lists, reads or copies stored objects. `Counters` counts the moto calls that copy every
stored version (`list_object_versions` deep-copies each FakeKey, which rewrites large bodies
to new temporary files), so a test can prove none happened.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.validators import ActionCountValidator
from moto.s3 import notifications
from moto.s3.models import FakeKey, S3Backend
from moto.s3.responses import S3Response
from moto.sqs.models import SQSBackend


@dataclass(frozen=True, slots=True)
class ObjectCreated:
    """One S3 notification for one object version, as moto raised it."""

    event_name: str  # e.g. "ObjectCreated:Put"
    bucket: str
    region: str
    key: str  # not encoded
    size: int
    etag: str
    version_id: str | None
    configuration_id: str
    function_arn: str
    event_time: Any  # datetime (moto's last_modified, UTC)
    # The requester's access key id (from the request's SigV4 credential), for the event's
    # userIdentity.principalId; None when the write came from no signed request.
    requester: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectWritten:
    """Any object write or delete (for persistence), notification configured or not."""

    bucket: str
    key: str
    deleted: bool


# The callbacks; None when nobody listens. One emulator per process, so one set of them.
ObjectListener = Callable[[ObjectCreated], None]
WriteListener = Callable[[ObjectWritten], None]
# (function ARN, event, invocation type) -> (payload, function failed), or None: moto answers.
InvokeListener = Callable[[str, Any, str], tuple[bytes, bool] | None]


TableListener = Callable[[], None]
QueueListener = Callable[[], None]  # a queue's messages changed (sent, deleted, purged)
FunctionListener = Callable[[], None]  # a function's configuration or code changed


class _Listeners:
    objects: ObjectListener | None = None
    writes: WriteListener | None = None
    invokes: InvokeListener | None = None
    tables: TableListener | None = None
    queues: QueueListener | None = None
    functions: FunctionListener | None = None


class Counters:
    """How often moto ran the calls that copy stored objects (read by tests and the bench)."""

    _lock = threading.Lock()
    _counts: ClassVar[Counter[str]] = Counter()

    @classmethod
    def bump(cls, name: str) -> None:
        with cls._lock:
            cls._counts[name] += 1

    @classmethod
    def snapshot(cls) -> dict[str, int]:
        with cls._lock:
            return dict(cls._counts)


_local = threading.local()
_EVERY_ITEM = object()  # an index Query: every item, in no particular order
_installed = False
_install_lock = threading.Lock()


def listen(
    *,
    objects: ObjectListener | None = None,
    writes: WriteListener | None = None,
    invokes: InvokeListener | None = None,
    tables: TableListener | None = None,
    functions: FunctionListener | None = None,
    queues: QueueListener | None = None,
) -> None:
    """Set the callbacks (None switches one off). Installs the wrappers on first use."""
    install()
    _Listeners.objects = objects
    _Listeners.writes = writes
    _Listeners.invokes = invokes
    _Listeners.tables = tables
    _Listeners.queues = queues
    _Listeners.functions = functions


def install() -> None:
    """Wrap moto's functions once per process (idempotent)."""
    global _installed  # noqa: PLW0603 (moto's functions are process-wide too)
    with _install_lock:
        if _installed:
            return
        _installed = True
        _wrap_send_event()
        _wrap_key_response()
        _wrap_backend()
        _wrap_lambda_invoke()
        _wrap_dynamodb()
        _wrap_sqs()
        _wrap_function_updates()
        _partition_table_queries()
        _count_update_actions_once()


def _deliver(callback: Callable[[], None]) -> None:
    """Run now, or after the object request in progress on this thread has finished."""
    pending: list[Callable[[], None]] | None = getattr(_local, "pending", None)
    if pending is None:
        callback()
    else:
        pending.append(callback)


def _wrap_send_event() -> None:
    original = notifications.send_event

    def _skip_docker(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        return None

    # moto would run the function in Docker (pulling an image); our runner runs it instead.
    notifications._invoke_awslambda = _skip_docker

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        listener = _Listeners.objects
        name = str(getattr(event_name, "value", event_name))
        config = bucket.notification_configuration
        if listener is not None and config is not None and name.startswith("s3:ObjectCreated:"):
            for notification in config.cloud_function:
                if notification.matches(name, key.name):
                    created = ObjectCreated(
                        event_name=name.removeprefix("s3:"),
                        bucket=bucket.name,
                        region=bucket.region_name,
                        key=key.name,
                        size=int(key.size),
                        etag=str(key.etag).strip('"'),
                        version_id=None if key.version_id == "null" else key.version_id,
                        configuration_id=notification.id,
                        function_arn=notification.arn,
                        event_time=key.last_modified,
                        requester=getattr(_local, "requester", None),
                    )
                    _deliver(lambda created=created: listener(created))  # type: ignore[misc]
        original(account_id, event_name, bucket, key)  # queues, topics, EventBridge: moto's own

    notifications.send_event = send_event


def _wrap_key_response() -> None:
    original = S3Response.key_response

    def key_response(self: S3Response, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_local, "pending", None)
        pending: list[Callable[[], None]] = []
        _local.pending = pending
        _local.requester = _requester(args[0] if args else kwargs.get("request"), None)
        try:
            return original(self, *args, **kwargs)
        finally:
            _local.pending = outer
            _local.requester = None
            for callback in pending:
                callback()

    S3Response.key_response = key_response  # type: ignore[method-assign]

    post = S3Response._bucket_response_post

    def bucket_post(self: S3Response, request: Any, bucket_name: str) -> Any:
        # A browser's form upload: the signer's credential is a form field, which moto has
        # parsed into its querystring by now (reading the form here would consume the body).
        _local.requester = _requester(request, self.querystring)
        try:
            return post(self, request, bucket_name)
        finally:
            _local.requester = None

    S3Response._bucket_response_post = bucket_post  # type: ignore[method-assign]


_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")


def _requester(request: Any, fields: Any) -> str | None:
    """The access key id that signed a request: SigV4 header, presigned query or POST form."""
    headers = getattr(request, "headers", None) or {}
    found = _CREDENTIAL.search(str(headers.get("Authorization", "")))
    if found:
        return found.group(1)
    for source in (getattr(request, "args", None) or {}, fields or {}):
        value = source.get("X-Amz-Credential") or source.get("x-amz-credential")
        if isinstance(value, list):
            value = value[0] if value else None
        if value:
            return str(value).split("/", 1)[0]
    return None


def _wrap_backend() -> None:
    put_object = S3Backend.put_object
    delete_object = S3Backend.delete_object
    list_object_versions = S3Backend.list_object_versions
    getstate = FakeKey.__getstate__

    def put(self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        key = put_object(self, bucket_name, key_name, *args, **kwargs)
        _written(bucket_name, key_name, deleted=False)
        return key

    def delete(self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        result = delete_object(self, bucket_name, key_name, *args, **kwargs)
        _written(bucket_name, key_name, deleted=True)
        return result

    def versions(self: S3Backend, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        Counters.bump("list_object_versions")  # deep-copies every version it walks
        prefix = kwargs.get("prefix") or ""
        if not prefix or args:
            return list_object_versions(self, bucket_name, *args, **kwargs)
        # moto walks (and deep-copies) every version of the whole bucket, whatever the prefix:
        # a legal hold lists one key's versions at a time (issue 22), so hand it a view of the
        # bucket holding only the keys under the prefix.
        view: Any = _PrefixBackend(self, prefix)
        return list_object_versions(view, bucket_name, **kwargs)

    put_object_legal_hold = S3Backend.put_object_legal_hold

    def legal_hold(
        self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        result = put_object_legal_hold(self, bucket_name, key_name, *args, **kwargs)
        _written(bucket_name, key_name, deleted=False)  # --data keeps the hold (persist.py)
        return result

    def copied(self: FakeKey) -> dict[str, Any]:
        Counters.bump("object_copies")  # deepcopy/pickle of a stored object: its whole body
        return getstate(self)

    complete_multipart_upload = S3Backend.complete_multipart_upload

    def complete(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
        key = complete_multipart_upload(self, *args, **kwargs)
        # moto keeps every part (each its own spooled temporary file) for the object's life,
        # on top of the assembled object: twice the bytes on disk. The parts only serve
        # GetObject with a partNumber, which mailroom never sends: let them go.
        if key is not None and key.multipart is not None:
            key.multipart.dispose()
            key.multipart = None
        return key

    S3Backend.complete_multipart_upload = complete  # type: ignore[method-assign]
    S3Backend.put_object = put  # type: ignore[method-assign]
    S3Backend.delete_object = delete  # type: ignore[method-assign]
    S3Backend.list_object_versions = versions  # type: ignore[method-assign]
    S3Backend.put_object_legal_hold = legal_hold  # type: ignore[method-assign]
    FakeKey.__getstate__ = copied  # type: ignore[method-assign]


class _PrefixKeys:
    """A bucket's keys as `list_object_versions` reads them, limited to one prefix."""

    def __init__(self, keys: Any, prefix: str) -> None:
        self._keys, self._prefix = keys, prefix

    def iterlists(self) -> Any:
        return ((k, v) for k, v in self._keys.iterlists() if k.startswith(self._prefix))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._keys, name)


class _PrefixBucket:
    def __init__(self, bucket: Any, prefix: str) -> None:
        self._bucket, self.keys = bucket, _PrefixKeys(bucket.keys, prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bucket, name)


class _PrefixBackend:
    """The S3 backend as `list_object_versions` uses it: `get_bucket` gives a prefix view."""

    def __init__(self, backend: S3Backend, prefix: str) -> None:
        self._backend, self._prefix = backend, prefix

    def get_bucket(self, bucket_name: str) -> Any:
        return _PrefixBucket(self._backend.get_bucket(bucket_name), self._prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def _written(bucket: str, key: str, *, deleted: bool) -> None:
    listener = _Listeners.writes
    if listener is not None:
        written = ObjectWritten(bucket, key, deleted)
        _deliver(lambda: listener(written))


def _wrap_lambda_invoke() -> None:
    original = LambdaFunction.invoke

    def invoke(
        self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any
    ) -> str | bytes:
        listener = _Listeners.invokes
        if listener is not None:
            kind = request_headers.get("x-amz-invocation-type", "RequestResponse")
            answer = listener(self.function_arn, body, kind)
            if answer is not None:
                payload, failed = answer
                if failed:
                    response_headers["x-amz-function-error"] = "Unhandled"
                return payload
        return original(self, body, request_headers, response_headers)

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


def _wrap_dynamodb() -> None:
    """Every item write (BatchWriteItem goes through put_item and delete_item)."""
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def wrapper(self: DynamoDBBackend, *args: Any, _original: Any = original, **kw: Any) -> Any:
            result = _original(self, *args, **kw)
            listener = _Listeners.tables
            if listener is not None:
                listener()
            return result

        setattr(DynamoDBBackend, name, wrapper)


def _wrap_sqs() -> None:
    """Every change to a queue's messages (batches go through these one by one)."""
    for name in ("send_message", "delete_message", "purge_queue", "delete_queue"):
        original = getattr(SQSBackend, name)

        def wrapper(self: SQSBackend, *args: Any, _original: Any = original, **kw: Any) -> Any:
            result = _original(self, *args, **kw)
            listener = _Listeners.queues
            if listener is not None:
                listener()
            return result

        setattr(SQSBackend, name, wrapper)


def _wrap_function_updates() -> None:
    """A new configuration (e.g. `terraform apply` changing the environment) is a cold start
    at the next invocation: the runner forgets what it read."""
    for name in ("update_function_configuration", "update_function_code", "delete_function"):
        original = getattr(LambdaBackend, name)

        def wrapper(self: LambdaBackend, *args: Any, _original: Any = original, **kw: Any) -> Any:
            result = _original(self, *args, **kw)
            listener = _Listeners.functions
            if listener is not None:
                listener()
            return result

        setattr(LambdaBackend, name, wrapper)


def _count_update_actions_once() -> None:
    """An UpdateItem's "one SET, one REMOVE, one ADD" check, made once for the whole expression.

    moto's parser nests an `UpdateExpression` node per action, and `ActionCountValidator` visits
    each one and re-walks everything beneath it: quadratic in the number of actions. A file
    record's update names about 40 attributes, so this check was a third of every UpdateItem
    and the largest single cost of a 1,000-message load. The clauses found from the root are all
    the clauses there are, so counting there alone raises exactly the errors moto raises.
    """
    original = ActionCountValidator.verify_action_counts

    def verify_action_counts(self: ActionCountValidator, node: Any) -> Any:
        if getattr(node, "parent", None) is not None:
            return node  # the root's count covers this subtree
        return original(self, node)

    ActionCountValidator.verify_action_counts = verify_action_counts  # type: ignore[method-assign]


def _partition_table_queries() -> None:
    """A Query on the table's own key reads one partition, as DynamoDB does.

    moto answers it by sorting every item of the table (`Table.all_items`) and keeping those
    with the partition key: O(n log n) a query, so looking up each message of a 1,000-message
    load was quadratic (a third of that test's time). moto already holds each partition apart
    (`Table.items[hash_key]`); during a table Query, `all_items` hands moto only that one. An
    index Query still reads every item (moto keeps no index), but unsorted: moto then sorts what
    it keeps by the index keys and the table keys, a total order, so the answer is the same and
    only the wasted sort of the whole table is saved.
    """
    original_query = Table.query
    original_all_items = Table.all_items

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is None and (hash_key is None or not self.range_key_attr):
            return original_query(self, hash_key, *args, **kwargs)
        _local.partition = (self, hash_key if index_name is None else _EVERY_ITEM)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _local.partition = None

    def all_items(self: Table) -> Any:
        partition = getattr(_local, "partition", None)
        if partition is None or partition[0] is not self:
            return original_all_items(self)
        if partition[1] is _EVERY_ITEM:
            return [item for items in self.items.values() for item in items.values()]
        items = self.items.get(partition[1]) or {}  # .get: the defaultdict must not grow
        return list(items.values())

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
