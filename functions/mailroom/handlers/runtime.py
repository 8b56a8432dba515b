"""What a function builds once per cold start: validated settings and the adapters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import boto3
from botocore.config import Config

from mailroom.adapters.canary_state import TableCanaryState
from mailroom.adapters.catalog import Catalog
from mailroom.adapters.dns import dns_txt_lookup, txt_lookup
from mailroom.adapters.s3 import S3Store
from mailroom.adapters.smoke import SesV2Sender
from mailroom.dkimcheck import TxtLookup
from mailroom.settings import Settings


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: S3Store
    catalog: Catalog
    txt_lookup: TxtLookup = dns_txt_lookup  # DNS for DKIM checks of forwarded messages


@cache
def runtime() -> Runtime:
    """Settings are read once; a wiring mistake raises SettingsError naming every problem."""
    settings = Settings.from_env(os.environ)
    return Runtime(
        settings=settings,
        # SigV4 for presigned links and forms (the api function): botocore may otherwise sign
        # with SigV2, which S3 is retiring and whose expiry is not bounded by the 7-day rule.
        store=S3Store(boto3.client("s3", config=Config(signature_version="s3v4")), settings.bucket),
        catalog=Catalog(boto3.client("dynamodb"), settings.table, settings.incoming_prefix),
        txt_lookup=txt_lookup(settings.dkim_test_records),
    )


@cache
def canary_ports() -> tuple[TableCanaryState, SesV2Sender]:
    """The canary function's extra adapters: its state item and SESv2 (handlers/canary.py)."""
    settings = runtime().settings
    return TableCanaryState(boto3.client("dynamodb"), settings.table), SesV2Sender(
        boto3.client("sesv2")
    )
