"""`mailroom preflight`: is this account and region ready to receive mail for the stack?

Read-only. Each check returns a Finding with its exact fix. A check that cannot apply to the
target (MX, domain verification and receiving regions mean nothing to `mailroom local`) says
"not applicable locally": never "ok". BLOCKS means mail will not flow (or apply will fail);
the command exits non-zero on any.

The Protocols are in ports.py; their adapters: adapters/preflight_aws.py (SES, Lambda, SNS),
adapters/dns.py (MX lookup), adapters/schema.py (the table's schema version).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailroom.model import SCHEMA_VERSION
from mailroom.ports import (
    Concurrency,
    LookupFailed,
    MailSetup,
    ReceivingUnavailable,
    Resolver,
    SchemaStore,
    Subscribers,
)
from mailroom.usecases.migrate import count_missing_index_keys, current_version

__all__ = ["LookupFailed", "ReceivingUnavailable", "preflight"]

OK = "ok"
BLOCKS = "blocks"
WARN = "warn"
NOT_LOCAL = "not applicable locally"
SKIPPED = "skipped"

# Lambda keeps this many executions unreserved in every account ("Managing Lambda reserved
# concurrency", Lambda Developer Guide): reservations may use only what is above it.
UNRESERVED_FLOOR = 100

# Regions where SES receives mail (infra/main.tf keeps the same list; the SES endpoint also
# answers for a region not listed here, so an unknown region is asked, not refused).
SES_RECEIVING_REGIONS = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
        "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    region: str
    domain: str | None
    rule_set_name: str | None
    function_names: Sequence[str] = ()
    alarm_topic_arn: str | None = None
    local: bool = False


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    summary: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "summary": self.summary,
            "fix": self.fix,
        }


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(f.status == BLOCKS for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"ready": not self.blocked, "findings": [f.as_dict() for f in self.findings]}


@dataclass
class Ports:
    ses: MailSetup
    resolver: Resolver | None
    concurrency: Concurrency | None
    subscribers: Subscribers | None
    schema: SchemaStore | None


def inbound_endpoint(region: str) -> str:
    return f"inbound-smtp.{region}.amazonaws.com"


def activate_command(target: Target) -> str:
    return (
        f"aws ses set-active-receipt-rule-set --region {target.region} "
        f"--rule-set-name {target.rule_set_name}"
    )


def check_receiving(target: Target, ses: MailSetup) -> tuple[Finding, str | None, bool]:
    """The receiving check, and (when SES answered) the active rule set's name."""
    if target.local:
        finding = Finding(
            "ses_receiving", NOT_LOCAL, "local mode receives through its own SMTP door"
        )
    else:
        finding = Finding("ses_receiving", OK, f"SES receives email in {target.region}")
    try:
        active = ses.active_rule_set()
    except ReceivingUnavailable as exc:
        return (
            Finding(
                "ses_receiving",
                BLOCKS,
                f"SES does not receive email in {target.region} ({exc})",
                "deploy to a region SES receives in (e.g. us-east-1, us-west-2, eu-west-1): "
                "set `region` in terraform.tfvars",
            ),
            None,
            False,
        )
    if not target.local and target.region not in SES_RECEIVING_REGIONS:
        finding = Finding(
            "ses_receiving",
            WARN,
            f"{target.region} is not in the documented receiving regions, though SES answered",
            "check 'Email receiving endpoints' in the SES Developer Guide",
        )
    return finding, active, True


def check_domain(target: Target, ses: MailSetup) -> Finding:
    if target.local:
        return Finding("domain_verified", NOT_LOCAL, "local mode needs no verified domain")
    if not target.domain:
        return Finding("domain_verified", SKIPPED, "no mail domain known", "pass --domain DOMAIN")
    status = ses.domain_status(target.domain)
    if status == "Success":
        return Finding("domain_verified", OK, f"{target.domain} is verified in SES")
    return Finding(
        "domain_verified",
        BLOCKS,
        f"{target.domain} is not verified in SES (status: {status or 'no identity'})",
        "publish the TXT record of the `domain_verification_record` output (DEPLOY.md, "
        f"Publish DNS), then: aws ses get-identity-verification-attributes --identities "
        f"{target.domain} --region {target.region}",
    )


def check_mx(target: Target, resolver: Resolver | None) -> Finding:
    if target.local:
        return Finding("mx_record", NOT_LOCAL, "local mode receives on its SMTP door, not by MX")
    if not target.domain or resolver is None:
        return Finding("mx_record", SKIPPED, "no mail domain known", "pass --domain DOMAIN")
    expected = inbound_endpoint(target.region)
    fix = f'publish one MX record: {target.domain} MX "10 {expected}" (the `mx_record` output)'
    try:
        records = resolver.mx(target.domain)
    except LookupFailed as exc:
        return Finding("mx_record", BLOCKS, f"MX lookup of {target.domain} failed: {exc}", fix)
    hosts = [host.rstrip(".").lower() for _, host in sorted(records)]
    if not hosts:
        return Finding("mx_record", BLOCKS, f"{target.domain} has no MX record", fix)
    if hosts[0] != expected or any(h != expected for h in hosts):
        others = ", ".join(h for h in hosts if h != expected)
        return Finding(
            "mx_record",
            BLOCKS,
            f"{target.domain} MX points at {others}, not (only) at {expected}",
            fix + "; remove the others",
        )
    return Finding("mx_record", OK, f"{target.domain} MX points at {expected}")


def check_rule_set(target: Target, ses: MailSetup, active: str | None) -> Finding:
    ours = target.rule_set_name
    apply_note = "apply never activates or deactivates a rule set"
    if not ours:
        return Finding("rule_set", SKIPPED, "no rule set name known", "pass --rule-set NAME")
    exists = ses.rule_set_exists(ours)
    if active == ours:
        return Finding("rule_set", OK, f"{ours} is the active rule set; {apply_note}")
    if not exists:
        return Finding(
            "rule_set",
            BLOCKS,
            f"{ours} does not exist yet (active: {active or 'none'}); the first apply creates "
            f"it and leaves activation alone",
            "terraform apply, then: " + activate_command(target),
        )
    if active is None:
        return Finding(
            "rule_set",
            BLOCKS,
            f"no rule set is active in {target.region}: no mail is received; {apply_note}",
            activate_command(target),
        )
    return Finding(
        "rule_set",
        BLOCKS,
        f"another rule set, {active}, is active: {ours} receives nothing. Activating ours "
        f"would stop {active} handling mail; {apply_note}",
        f"either add this stack's rule to {active} by hand, or replace it on purpose: "
        + activate_command(target),
    )


def check_concurrency(target: Target, concurrency: Concurrency | None) -> Finding:
    if concurrency is None:
        return Finding("concurrency", SKIPPED, "Lambda account settings not available")
    try:
        limit, unreserved = concurrency.account()
    except Exception as exc:
        status = NOT_LOCAL if target.local else WARN
        return Finding("concurrency", status, f"account concurrency not readable: {exc}")
    reserved = {n: concurrency.reserved(n) for n in target.function_names}
    ours = {n: r for n, r in reserved.items() if r}
    room = max(unreserved - UNRESERVED_FLOOR, 0)
    summary = (
        f"account concurrency {limit}, unreserved {unreserved}: up to {room} more may be "
        f"reserved (Lambda keeps {UNRESERVED_FLOOR} unreserved)"
    )
    if ours:
        summary += "; reserved here: " + ", ".join(f"{n}={r}" for n, r in sorted(ours.items()))
    if target.local:
        return Finding("concurrency", NOT_LOCAL, summary)
    if unreserved < UNRESERVED_FLOOR:
        return Finding(
            "concurrency",
            BLOCKS,
            summary + ": fewer than 100 unreserved, so functions may be throttled",
            "remove reservations (lambda_reserved_concurrency = {}) or ask for a higher "
            "'Concurrent executions' quota (Service Quotas, AWS Lambda)",
        )
    if room == 0:
        return Finding(
            "concurrency",
            OK,
            summary + "; keep lambda_reserved_concurrency = {} (no reservation fits)",
        )
    return Finding("concurrency", OK, summary)


def check_subscribers(target: Target, subscribers: Subscribers | None) -> Finding:
    if not target.alarm_topic_arn or subscribers is None:
        status = NOT_LOCAL if target.local else SKIPPED
        return Finding("alarm_subscription", status, "no alarm topic known")
    confirmed = subscribers.confirmed(target.alarm_topic_arn)
    if confirmed:
        return Finding("alarm_subscription", OK, f"{confirmed} confirmed alarm subscriber(s)")
    return Finding(
        "alarm_subscription",
        WARN,
        "the alarm topic has no confirmed subscriber: alarms reach nobody",
        "confirm the email AWS sent to alarm_email, or: aws sns subscribe --topic-arn "
        f"{target.alarm_topic_arn} --protocol email --notification-endpoint OPS_ADDRESS",
    )


def check_schema(
    schema: SchemaStore | None, deep: bool, progress: Callable[[int, int | None], None] | None
) -> list[Finding]:
    if schema is None:
        return [Finding("schema_version", SKIPPED, "no table known")]
    try:
        version = current_version(schema)
    except Exception as exc:
        return [Finding("schema_version", SKIPPED, f"table not readable: {exc}")]
    findings = []
    if version == SCHEMA_VERSION:
        findings.append(Finding("schema_version", OK, f"table schema version {version}"))
    elif version < SCHEMA_VERSION:
        findings.append(
            Finding(
                "schema_version",
                BLOCKS,
                f"table schema version {version}, the code's is {SCHEMA_VERSION}: older "
                "items are missing from listings",
                "mailroom migrate",
            )
        )
    else:
        findings.append(
            Finding(
                "schema_version",
                BLOCKS,
                f"table schema version {version} is newer than this mailroom's {SCHEMA_VERSION}",
                "upgrade mailroom (and redeploy the functions)",
            )
        )
    if deep:
        scanned, missing, examples = count_missing_index_keys(schema, progress=progress)
        if missing:
            findings.append(
                Finding(
                    "index_keys",
                    BLOCKS,
                    f"{missing} of {scanned} items lack index keys (e.g. {', '.join(examples)})",
                    "mailroom migrate",
                )
            )
        else:
            findings.append(Finding("index_keys", OK, f"all {scanned} items carry their keys"))
    return findings


def preflight(
    target: Target,
    ports: Ports,
    *,
    deep: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> Report:
    report = Report()
    receiving, active, answered = check_receiving(target, ports.ses)
    report.findings.append(receiving)
    report.findings.append(check_domain(target, ports.ses))
    report.findings.append(check_mx(target, ports.resolver))
    if answered:
        report.findings.append(check_rule_set(target, ports.ses, active))
    report.findings.append(check_concurrency(target, ports.concurrency))
    report.findings.append(check_subscribers(target, ports.subscribers))
    report.findings.extend(check_schema(ports.schema, deep, progress))
    return report
