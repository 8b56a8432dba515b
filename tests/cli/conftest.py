"""The CLI against moto: a real bucket and table in-process, driven through click's CliRunner."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from mailroom.adapters.catalog import Catalog
from mailroom.cli.main import cli
from mailroom.model import FileRecord, MessageRecord, table_definition
from mailroom.policy import Outcome

BUCKET = "mailroom-cli-test"
TABLE = "mailroom-cli-test"
REGION = "eu-west-1"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_aws_env: None) -> Path:
    """No stray configuration: no local stack, no ./infra, no MAILROOM_* from the shell."""
    for name in (
        "MAILROOM_BUCKET",
        "MAILROOM_TABLE",
        "MAILROOM_INFRA_DIR",
        "MAILROOM_DEBUG",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAILROOM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TZ", "UTC")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def run(*args: str, **kwargs: Any) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=True, **kwargs)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def hours_ago(hours: float) -> str:
    return iso(datetime.now(UTC) - timedelta(hours=hours))


@dataclass
class Stack:
    s3: Any
    ddb: Any
    catalog: Catalog

    def add_file(
        self,
        message_id: str,
        filename: str,
        *,
        received_at: str,
        body: bytes = b"%PDF-1.7 test\n",
        index: int = 1,
        sender: str | None = "client@example.com",
        case: str | None = None,
        original_sender: str | None = None,
        original_sender_level: str | None = "vouched",  # a staff member's forward
        content_type: str = "application/pdf",
        store: bool = True,
    ) -> FileRecord:
        """An attachment as the pipeline would leave it: the object and its file record."""
        key = f"incoming/{message_id}/{index:02d}-{filename.replace('/', '_')}"
        version_id = None
        if store:
            put = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)
            version_id = put.get("VersionId")
        record = FileRecord(
            file_id=key,
            filename=filename,
            safe_name=key.rsplit("/", 1)[-1],
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            received_at=received_at,
            source="email",
            message_id=message_id,
            content_type=content_type,
            detected_type=content_type,
            sender=sender,
            original_sender=original_sender,
            original_sender_via="attached-message" if original_sender else None,
            original_sender_level=original_sender_level if original_sender else None,
            case=case,
            version_id=version_id,
            bucket=BUCKET,
        )
        self.catalog.put_file(record)
        return record

    def add_message(
        self,
        message_id: str,
        *,
        received_at: str,
        outcome: Outcome = Outcome.EXTRACTED,
        **values: Any,
    ) -> MessageRecord:
        record = MessageRecord(
            message_id=message_id,
            received_at=received_at,
            raw_key=f"raw/{message_id}",
            outcome=outcome,
            **values,
        )
        self.catalog.put_message(record)
        return record


@pytest.fixture
def stack(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Bucket and table exist; the CLI finds them through MAILROOM_BUCKET / MAILROOM_TABLE."""
    monkeypatch.setenv("MAILROOM_BUCKET", BUCKET)
    monkeypatch.setenv("MAILROOM_TABLE", TABLE)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        # With S3 Object Lock and no default retention, as local mode (and `object_lock`)
        # has it: legal holds (issue 22) are tried for real, nothing else changes.
        s3.create_bucket(
            Bucket=BUCKET,
            CreateBucketConfiguration={"LocationConstraint": REGION},
            ObjectLockEnabledForBucket=True,
        )
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(**table_definition(TABLE))
        yield Stack(s3=s3, ddb=ddb, catalog=Catalog(ddb, TABLE))
