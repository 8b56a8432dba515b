"""What a function builds once per cold start: validated settings and the adapters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import boto3
from botocore.config import Config

from mailroom.adapters.canary_state import TableCanaryState
from mailroom.adapters.catalog import AuditTrail, Catalog
from mailroom.adapters.dns import dns_txt_lookup, txt_lookup
from mailroom.adapters.events import EventBridgeBus
from mailroom.adapters.export_jobs import ExportBucket, ExportJobTable
from mailroom.adapters.kms import KmsSigner
from mailroom.adapters.lambda_invoke import LambdaInvoker
from mailroom.adapters.receipts import ReceiptBook, SesMailer
from mailroom.adapters.s3 import S3Store
from mailroom.adapters.smoke import SesV2Sender
from mailroom.dkimcheck import TxtLookup
from mailroom.receipts import ReceiptSettings
from mailroom.settings import ENV_TABLE, Settings


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: S3Store
    catalog: Catalog
    events: EventBridgeBus | None = None  # issue 21: None when no bus is configured
    txt_lookup: TxtLookup = dns_txt_lookup  # DNS for DKIM checks of forwarded messages
    audit: AuditTrail | None = None  # issue 22: the audit trail (the same table)


@cache
def runtime() -> Runtime:
    """Settings are read once; a wiring mistake raises SettingsError naming every problem."""
    settings = Settings.from_env(os.environ)
    ddb = boto3.client("dynamodb")
    return Runtime(
        settings=settings,
        # SigV4 for presigned links and forms (the api function): botocore may otherwise sign
        # with SigV2, which S3 is retiring and whose expiry is not bounded by the 7-day rule.
        store=S3Store(boto3.client("s3", config=Config(signature_version="s3v4")), settings.bucket),
        catalog=Catalog(ddb, settings.table, settings.incoming_prefix),
        txt_lookup=txt_lookup(settings.dkim_test_records),
        audit=AuditTrail(ddb, settings.table, settings.audit_retention_days),
        events=(
            EventBridgeBus(boto3.client("events"), settings.event_bus)
            if settings.event_bus
            else None
        ),
    )


def audit_trail() -> AuditTrail:
    """The audit trail (issue 22) in the stack's table, over the runtime's DynamoDB client: the
    extract function writes a release's entry there."""
    rt = runtime()
    return AuditTrail(rt.catalog.client, rt.settings.table, rt.settings.audit_retention_days)


@cache
def lambda_invoker() -> LambdaInvoker:
    """Lambda, for the api's asynchronous invoke of a release (issue 22); built at the first
    release only, so the other routes never pay for the client."""
    return LambdaInvoker(boto3.client("lambda"))


@dataclass(frozen=True, slots=True)
class ReceiptRuntime:
    """The send_receipt function's (issue 21): its settings, the claim ledger, SES."""

    settings: ReceiptSettings
    ledger: ReceiptBook
    mailer: SesMailer


@cache
def receipt_runtime() -> ReceiptRuntime:
    """Read once; a wiring mistake raises ReceiptSettingsError naming every problem."""
    settings = ReceiptSettings.from_env(os.environ)
    return ReceiptRuntime(
        settings=settings,
        ledger=ReceiptBook(boto3.client("dynamodb"), os.environ[ENV_TABLE]),
        mailer=SesMailer(boto3.client("ses")),
    )


@cache
def canary_ports() -> tuple[TableCanaryState, SesV2Sender]:
    """The canary function's extra adapters: its state item and SESv2 (handlers/canary.py)."""
    settings = runtime().settings
    return TableCanaryState(boto3.client("dynamodb"), settings.table), SesV2Sender(
        boto3.client("sesv2")
    )


@dataclass(frozen=True, slots=True)
class ExportPorts:
    """Issue 22: export jobs' items, the zips under exports/, (the api) the invoker, and the
    audit trail the export function writes its `export` entry to."""

    jobs: ExportJobTable
    objects: ExportBucket
    invoker: LambdaInvoker
    audit: AuditTrail | None = None


@cache
def export_ports() -> ExportPorts:
    rt = runtime()
    ddb = boto3.client("dynamodb")
    return ExportPorts(
        jobs=ExportJobTable(ddb, rt.settings.table),
        objects=ExportBucket(rt.store),
        invoker=LambdaInvoker(boto3.client("lambda")),
        audit=AuditTrail(ddb, rt.settings.table, rt.settings.audit_retention_days),
    )


@cache
def export_signer(key_arn: str) -> KmsSigner:
    """The export function's signing key (ExportSettings.signing_key_arn)."""
    return KmsSigner(boto3.client("kms"), key_arn)
