"""After an unclean stop, a `--data` stack reconciles on start: what `mailroom doctor --fix
--grace 0s` would do, run in-process before any mail is accepted.

What a crash can leave behind (the table is written every `persist.SNAPSHOT_INTERVAL` s; events
queued or running in the runner are gone with the process):

- a raw message without a message record, or with one still `processing`: reprocessed through
  the extract function (nothing is running at start, so every `processing` record is stuck);
- an object under incoming/ without a file record: handed to the record function with the S3
  event the bucket notification would have sent;
- events in the dead-letter file that are still not accounted for: the same.

The work is queued on the runner (the use case `usecases.doctor` decides, the same code the CLI
runs); `LocalMailroom.wait_idle()` waits for it. Records whose object or version is gone and
DLQ messages are reported, not repaired: they need a person (`mailroom doctor` says what to run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mailroom.adapters.inventory import ObjectInventory, RecordInventory, read_dead_letters
from mailroom.adapters.sqs import DeadLetterQueue
from mailroom.local.stack import EXTRACT, RECORD
from mailroom.usecases import doctor

if TYPE_CHECKING:
    from mailroom.local.app import LocalMailroom


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What the start-up reconciliation found and queued."""

    previous_pid: int | None
    report: doctor.Report

    @property
    def messages(self) -> int:
        fixed = self.report.fixed
        return sum(len(f.get("queued", [])) for f in fixed if f["action"] == "reprocess")

    @property
    def objects(self) -> int:
        return sum(int(f.get("queued", 0)) for f in self.report.fixed if f["action"] == "record")

    @property
    def remaining(self) -> list[doctor.Finding]:
        """Problems a repair cannot fix by itself (a person must look)."""
        fixable = {"raw_without_record", "stuck_processing", "incoming_without_record"}
        return [
            f
            for f in self.report.findings
            if f.status == doctor.PROBLEM and f.check not in fixable | {"dead_letter_file"}
        ]

    def summary(self) -> str:
        who = f"pid {self.previous_pid}" if self.previous_pid else "the previous stack"
        return (
            f"{who} did not stop cleanly: reconciled on start, re-queued {self.messages} "
            f"message(s) and {self.objects} object(s)"
            + (
                "; still to look at: "
                + "; ".join(f.summary for f in self.remaining)
                + " (run `mailroom doctor`)"
                if self.remaining
                else ""
            )
        )


def reconcile(stack: LocalMailroom, *, previous_pid: int | None) -> Reconciled:
    endpoint, runner, provisioned = stack.endpoint, stack.runner, stack.provisioned
    assert endpoint is not None and runner is not None and provisioned is not None
    settings = stack.config.settings
    objects = ObjectInventory(endpoint.client("s3"), stack.config.bucket)
    sqs: Any = endpoint.client("sqs")
    letters = stack.dead_letter_path
    view = doctor.Stack(
        bucket=stack.config.bucket,
        raw_prefix=settings.raw_prefix,
        incoming_prefix=settings.incoming_prefix,
        objects=objects,
        records=RecordInventory(
            endpoint.client("dynamodb"), stack.config.table, settings.incoming_prefix
        ),
        queues={
            "extract_attachments": DeadLetterQueue(sqs, provisioned.dlq_urls[EXTRACT]),
            "record_metadata": DeadLetterQueue(sqs, provisioned.dlq_urls[RECORD]),
        },
        extract_function=provisioned.functions[EXTRACT],
        record_function=provisioned.functions[RECORD],
        version_exists=objects.version_exists,
        dead_letters=lambda: read_dead_letters(letters),
        dead_letter_file=str(letters),
    )
    report = doctor.examine(
        view,
        grace=timedelta(0),
        stuck_after=timedelta(0),  # nothing runs yet: whatever is `processing` was cut short
        fix=True,
        invoker=runner,
    )
    return Reconciled(previous_pid, report)
