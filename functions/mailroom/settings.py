"""The one validated settings object, read once from the environment Terraform sets.

Resource names have no defaults: a wiring mistake fails at cold start with a message that names
every missing or malformed variable, instead of failing later on the first S3 or DynamoDB call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mailroom.limits import Limits
from mailroom.model import PREFIXES
from mailroom.policy import SpamPolicy, VirusPolicy
from mailroom.probes import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS
from mailroom.routing import RoutingRules, RulesError, load_rules

# The environment contract shared with infra/lambda.tf and the local stack.
ENV_BUCKET = "MAILROOM_BUCKET"
ENV_TABLE = "MAILROOM_TABLE"
ENV_RAW_PREFIX = "MAILROOM_RAW_PREFIX"
ENV_INCOMING_PREFIX = "MAILROOM_INCOMING_PREFIX"
ENV_QUARANTINE_PREFIX = "MAILROOM_QUARANTINE_PREFIX"
ENV_ALLOWED_SENDER_DOMAINS = "MAILROOM_ALLOWED_SENDER_DOMAINS"
ENV_MAX_DEPTH = "MAILROOM_MAX_DEPTH"
ENV_MAX_PARTS = "MAILROOM_MAX_PARTS"
ENV_MAX_TOTAL_BYTES = "MAILROOM_MAX_TOTAL_BYTES"
ENV_VIRUS_POLICY = "MAILROOM_VIRUS_POLICY"
ENV_SPAM_POLICY = "MAILROOM_SPAM_POLICY"
ENV_ROUTING_RULES = "MAILROOM_ROUTING_RULES"  # issue 21: JSON, see mailroom.routing
ENV_EVENT_BUS = "MAILROOM_EVENT_BUS"  # issue 21: the bus outcome events go to ("": none)
ENV_TRUSTED_FORWARDERS = "MAILROOM_TRUSTED_FORWARDERS"
# TEST ONLY, never set by Terraform: a JSON file of DNS TXT records ({"sel._domainkey.d": "v=DKIM1;
# ..."}) that DKIM checks read instead of DNS (`mailroom local --dkim-test-records FILE`).
ENV_DKIM_TEST_RECORDS = "MAILROOM_DKIM_TEST_RECORDS"
# Issue 20: containers, roles, the kept body.
ENV_EXPAND_ARCHIVES = "MAILROOM_EXPAND_ARCHIVES"
ENV_KEEP_BODY = "MAILROOM_KEEP_BODY"
ENV_MAX_ARCHIVE_MEMBERS = "MAILROOM_MAX_ARCHIVE_MEMBERS"
ENV_MAX_ARCHIVE_BYTES = "MAILROOM_MAX_ARCHIVE_BYTES"
ENV_MAX_ARCHIVE_RATIO = "MAILROOM_MAX_ARCHIVE_RATIO"
ENV_MAX_ARCHIVE_DEPTH = "MAILROOM_MAX_ARCHIVE_DEPTH"
ENV_SIGNATURE_REPEATS = "MAILROOM_SIGNATURE_REPEATS"
# Issue 18: the stack's own mail domain (probes from it are recognised) and how long a probe's
# records and objects are kept.
ENV_MAIL_DOMAIN = "MAILROOM_MAIL_DOMAIN"
ENV_PROBE_EXPIRY_DAYS = "MAILROOM_PROBE_EXPIRY_DAYS"

REQUIRED_ENV = (ENV_BUCKET, ENV_TABLE)
ALL_ENV = (
    ENV_BUCKET,
    ENV_TABLE,
    ENV_RAW_PREFIX,
    ENV_INCOMING_PREFIX,
    ENV_QUARANTINE_PREFIX,
    ENV_ALLOWED_SENDER_DOMAINS,
    ENV_MAX_DEPTH,
    ENV_MAX_PARTS,
    ENV_MAX_TOTAL_BYTES,
    ENV_VIRUS_POLICY,
    ENV_SPAM_POLICY,
    ENV_ROUTING_RULES,
    ENV_EVENT_BUS,
    ENV_TRUSTED_FORWARDERS,
    ENV_EXPAND_ARCHIVES,
    ENV_KEEP_BODY,
    ENV_MAX_ARCHIVE_MEMBERS,
    ENV_MAX_ARCHIVE_BYTES,
    ENV_MAX_ARCHIVE_RATIO,
    ENV_MAX_ARCHIVE_DEPTH,
    ENV_SIGNATURE_REPEATS,
    ENV_MAIL_DOMAIN,
    ENV_PROBE_EXPIRY_DAYS,
)

# The api function's own variables (issue 11), all optional. Kept out of ALL_ENV: that tuple is
# what every function must be given; these only the api function reads (`ApiSettings`).
ENV_DASHBOARD_ORIGIN = "MAILROOM_DASHBOARD_ORIGIN"
# Issue 22: the extract function the api hands a release to (asynchronous invoke; "": none).
ENV_EXTRACT_FUNCTION = "MAILROOM_EXTRACT_FUNCTION"
ENV_UPLOAD_MAX_BYTES = "MAILROOM_UPLOAD_MAX_BYTES"
ENV_UPLOAD_TYPES = "MAILROOM_UPLOAD_TYPES"
ENV_LINK_SECONDS = "MAILROOM_LINK_SECONDS"
API_ENV = (ENV_DASHBOARD_ORIGIN, ENV_UPLOAD_MAX_BYTES, ENV_UPLOAD_TYPES, ENV_LINK_SECONDS)

# What staff upload: scans, office documents, pictures, text. A type outside the list is refused
# before anything is signed (415), whatever the file's name says.
DEFAULT_UPLOAD_TYPES = frozenset(
    {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/gif",
        "image/webp",
        "image/heic",
        "text/plain",
        "text/csv",
        "application/rtf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "message/rfc822",
    }
)
DEFAULT_UPLOAD_MAX_BYTES = 50 * 1024 * 1024
MAX_UPLOAD_BYTES = 5 * 1024**3  # one presigned POST is one PUT-sized object: at most 5 GB
MAX_LINK_SECONDS = 300  # issue 11: a download link lasts at most 5 minutes

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUS_RE = re.compile(r"^[A-Za-z0-9._-]{1,256}$")
_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.-]+/$")
_ORIGIN_RE = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_ADDRESS_RE = re.compile(r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9.-]{1,253}$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SettingsError(ValueError):
    """The function's environment is incomplete or malformed."""


def parse_trusted_forwarders(text: str) -> tuple[frozenset[str], list[str]]:
    """Comma-separated domains or addresses, lower-cased; and what is neither."""
    forwarders = frozenset(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [
        f"{f!r} is neither a domain name nor an email address"
        for f in sorted(forwarders)
        if not (
            _ADDRESS_RE.match(f) and _DOMAIN_RE.match(f.rsplit("@", 1)[1])
            if "@" in f
            else _DOMAIN_RE.match(f)
        )
    ]
    return forwarders, bad


@dataclass(frozen=True, slots=True)
class Settings:
    bucket: str
    table: str
    raw_prefix: str = PREFIXES.raw
    incoming_prefix: str = PREFIXES.incoming
    quarantine_prefix: str = PREFIXES.quarantine
    allowed_sender_domains: frozenset[str] = field(default_factory=frozenset)
    limits: Limits = field(default_factory=Limits)
    virus_policy: VirusPolicy = VirusPolicy.STRICT
    spam_policy: SpamPolicy = SpamPolicy.TAG
    routing: RoutingRules = field(default_factory=RoutingRules)
    event_bus: str | None = None  # None: outcome events are not published
    # Staff domains or addresses whose authenticated forwards vouch for the original sender.
    trusted_forwarders: frozenset[str] = field(default_factory=frozenset)
    dkim_test_records: str | None = None  # TEST ONLY (ENV_DKIM_TEST_RECORDS)
    # Issue 18: probes (mailroom.probes) are recognised only from this domain; None: never.
    mail_domain: str | None = None
    probe_expiry_days: int = DEFAULT_EXPIRY_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build and validate settings; raise SettingsError naming every problem at once."""
        problems: list[str] = []
        missing = [name for name in REQUIRED_ENV if not env.get(name, "").strip()]
        if missing:
            problems.append(f"missing required environment variable(s): {', '.join(missing)}")

        bucket = env.get(ENV_BUCKET, "").strip()
        table = env.get(ENV_TABLE, "").strip()
        if bucket and not _BUCKET_RE.match(bucket):
            problems.append(f"{ENV_BUCKET}={bucket!r} is not a valid S3 bucket name")
        if table and not _TABLE_RE.match(table):
            problems.append(f"{ENV_TABLE}={table!r} is not a valid DynamoDB table name")

        prefixes = {}
        for name, default in (
            (ENV_RAW_PREFIX, PREFIXES.raw),
            (ENV_INCOMING_PREFIX, PREFIXES.incoming),
            (ENV_QUARANTINE_PREFIX, PREFIXES.quarantine),
        ):
            value = env.get(name, "").strip() or default
            if not _PREFIX_RE.match(value):
                problems.append(f"{name}={value!r} must be one path segment ending in '/'")
            prefixes[name] = value
        if len(set(prefixes.values())) != len(prefixes):
            # The recursion rule: no function may write under the prefix that triggers it.
            problems.append("raw, incoming and quarantine prefixes must all differ")

        domains = frozenset(
            d.strip().lower()
            for d in env.get(ENV_ALLOWED_SENDER_DOMAINS, "").split(",")
            if d.strip()
        )
        problems.extend(
            f"{ENV_ALLOWED_SENDER_DOMAINS}: {d!r} is not a domain name"
            for d in sorted(domains)
            if not _DOMAIN_RE.match(d)
        )

        forwarders, bad = parse_trusted_forwarders(env.get(ENV_TRUSTED_FORWARDERS, ""))
        problems.extend(f"{ENV_TRUSTED_FORWARDERS}: {b}" for b in bad)

        defaults = Limits()
        limit_values: dict[str, Any] = {}
        for name, attr in (
            (ENV_MAX_DEPTH, "max_depth"),
            (ENV_MAX_PARTS, "max_parts"),
            (ENV_MAX_TOTAL_BYTES, "max_total_bytes"),
            (ENV_MAX_ARCHIVE_MEMBERS, "max_archive_members"),
            (ENV_MAX_ARCHIVE_BYTES, "max_archive_bytes"),
            (ENV_MAX_ARCHIVE_RATIO, "max_archive_ratio"),
            (ENV_MAX_ARCHIVE_DEPTH, "max_archive_depth"),
            (ENV_SIGNATURE_REPEATS, "signature_repeats"),
        ):
            text = env.get(name, "").strip()
            if not text:
                limit_values[attr] = getattr(defaults, attr)
                continue
            try:
                number = int(text)
            except ValueError:
                problems.append(f"{name}={text!r} is not a whole number")
                continue
            if number < 1:
                problems.append(f"{name}={text!r} must be at least 1")
            limit_values[attr] = number

        for name, attr in ((ENV_EXPAND_ARCHIVES, "expand_archives"), (ENV_KEEP_BODY, "keep_body")):
            text = env.get(name, "").strip().lower()
            if not text:
                limit_values[attr] = getattr(defaults, attr)
            elif text in {"true", "false"}:
                limit_values[attr] = text == "true"
            else:
                problems.append(f"{name}={text!r} must be true or false")

        virus_text = env.get(ENV_VIRUS_POLICY, "").strip().lower() or VirusPolicy.STRICT
        spam_text = env.get(ENV_SPAM_POLICY, "").strip().lower() or SpamPolicy.TAG
        if virus_text not in {p.value for p in VirusPolicy}:
            choices = " or ".join(p.value for p in VirusPolicy)
            problems.append(f"{ENV_VIRUS_POLICY}={virus_text!r} must be {choices}")
        if spam_text not in {p.value for p in SpamPolicy}:
            choices = ", ".join(p.value for p in SpamPolicy)
            problems.append(f"{ENV_SPAM_POLICY}={spam_text!r} must be one of {choices}")

        mail_domain = env.get(ENV_MAIL_DOMAIN, "").strip().lower() or None
        if mail_domain is not None and not _DOMAIN_RE.match(mail_domain):
            problems.append(f"{ENV_MAIL_DOMAIN}={mail_domain!r} is not a domain name")
        expiry_text = env.get(ENV_PROBE_EXPIRY_DAYS, "").strip()
        expiry = DEFAULT_EXPIRY_DAYS
        if expiry_text:
            try:
                expiry = int(expiry_text)
            except ValueError:
                problems.append(f"{ENV_PROBE_EXPIRY_DAYS}={expiry_text!r} is not a whole number")
            else:
                if not 1 <= expiry <= MAX_EXPIRY_DAYS:
                    problems.append(
                        f"{ENV_PROBE_EXPIRY_DAYS}={expiry_text!r} must be between 1 and "
                        f"{MAX_EXPIRY_DAYS}"
                    )
        routing = RoutingRules()
        try:
            routing = load_rules(env.get(ENV_ROUTING_RULES))
        except RulesError as exc:
            problems.append(f"{ENV_ROUTING_RULES}: {exc}")

        event_bus = env.get(ENV_EVENT_BUS, "").strip() or None
        if event_bus is not None and not _BUS_RE.match(event_bus):
            problems.append(f"{ENV_EVENT_BUS}={event_bus!r} is not an event bus name")

        if problems:
            raise SettingsError("invalid mailroom configuration: " + "; ".join(problems))
        return cls(
            bucket=bucket,
            table=table,
            raw_prefix=prefixes[ENV_RAW_PREFIX],
            incoming_prefix=prefixes[ENV_INCOMING_PREFIX],
            quarantine_prefix=prefixes[ENV_QUARANTINE_PREFIX],
            allowed_sender_domains=domains,
            limits=Limits(**limit_values),
            virus_policy=VirusPolicy(virus_text),
            spam_policy=SpamPolicy(spam_text),
            routing=routing,
            event_bus=event_bus,
            trusted_forwarders=forwarders,
            dkim_test_records=env.get(ENV_DKIM_TEST_RECORDS, "").strip() or None,
            mail_domain=mail_domain,
            probe_expiry_days=expiry,
        )

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings (used by the local stack)."""
        return {
            ENV_BUCKET: self.bucket,
            ENV_TABLE: self.table,
            ENV_RAW_PREFIX: self.raw_prefix,
            ENV_INCOMING_PREFIX: self.incoming_prefix,
            ENV_QUARANTINE_PREFIX: self.quarantine_prefix,
            ENV_ALLOWED_SENDER_DOMAINS: ",".join(sorted(self.allowed_sender_domains)),
            ENV_MAX_DEPTH: str(self.limits.max_depth),
            ENV_MAX_PARTS: str(self.limits.max_parts),
            ENV_MAX_TOTAL_BYTES: str(self.limits.max_total_bytes),
            ENV_VIRUS_POLICY: str(self.virus_policy),
            ENV_SPAM_POLICY: str(self.spam_policy),
            ENV_ROUTING_RULES: self.routing.to_json(),
            ENV_EVENT_BUS: self.event_bus or "",
            ENV_TRUSTED_FORWARDERS: ",".join(sorted(self.trusted_forwarders)),
            **({ENV_DKIM_TEST_RECORDS: self.dkim_test_records} if self.dkim_test_records else {}),
            ENV_EXPAND_ARCHIVES: str(self.limits.expand_archives).lower(),
            ENV_KEEP_BODY: str(self.limits.keep_body).lower(),
            ENV_MAX_ARCHIVE_MEMBERS: str(self.limits.max_archive_members),
            ENV_MAX_ARCHIVE_BYTES: str(self.limits.max_archive_bytes),
            ENV_MAX_ARCHIVE_RATIO: str(self.limits.max_archive_ratio),
            ENV_MAX_ARCHIVE_DEPTH: str(self.limits.max_archive_depth),
            ENV_SIGNATURE_REPEATS: str(self.limits.signature_repeats),
            ENV_MAIL_DOMAIN: self.mail_domain or "",
            ENV_PROBE_EXPIRY_DAYS: str(self.probe_expiry_days),
        }


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The api function's settings: the shared ones plus its own (all optional, validated)."""

    core: Settings
    dashboard_origin: str | None = None  # None: no CORS headers at all
    upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES
    upload_types: frozenset[str] = DEFAULT_UPLOAD_TYPES
    link_seconds: int = MAX_LINK_SECONDS
    extract_function: str | None = None  # issue 22: None: releases are not offered

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        """Shared settings first (their errors), then the api's own; every problem at once."""
        problems: list[str] = []
        try:
            core: Settings | None = Settings.from_env(env)
        except SettingsError as exc:
            core = None
            problems.append(str(exc).removeprefix("invalid mailroom configuration: "))

        origin = env.get(ENV_DASHBOARD_ORIGIN, "").strip().rstrip("/").lower() or None
        if origin is not None and not _ORIGIN_RE.match(origin):
            problems.append(
                f"{ENV_DASHBOARD_ORIGIN}={origin!r} is not an origin (scheme://host[:port])"
            )

        def number(name: str, default: int, high: int) -> int:
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                value = int(text)
            except ValueError:
                problems.append(f"{name}={text!r} is not a whole number")
                return default
            if not 1 <= value <= high:
                problems.append(f"{name}={text!r} must be between 1 and {high}")
            return value

        cap = number(ENV_UPLOAD_MAX_BYTES, DEFAULT_UPLOAD_MAX_BYTES, MAX_UPLOAD_BYTES)
        seconds = number(ENV_LINK_SECONDS, MAX_LINK_SECONDS, MAX_LINK_SECONDS)
        types_text = env.get(ENV_UPLOAD_TYPES, "").strip()
        types = (
            frozenset(t.strip().lower() for t in types_text.split(",") if t.strip())
            if types_text
            else DEFAULT_UPLOAD_TYPES
        )
        problems.extend(
            f"{ENV_UPLOAD_TYPES}: {t!r} is not a media type (type/subtype)"
            for t in sorted(types)
            if not _MIME_RE.match(t)
        )
        if problems or core is None:
            raise SettingsError("invalid mailroom configuration: " + "; ".join(problems))
        extract = env.get(ENV_EXTRACT_FUNCTION, "").strip() or None
        return cls(core, origin, cap, types, seconds, extract)
