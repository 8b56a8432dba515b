"""The SMTP front door: aiosmtpd on loopback behaving like the active SES receipt rule set.

It reads the active rule set from the emulator (so a rule provisioned by Terraform works the
same as ours): RCPT is accepted only for the rules' recipients (550 otherwise), mail over
40 MB is refused (552), the raw message is stored by the S3 action under a new SES-like id,
and the Lambda action's function gets an event of exactly the shape SES sends.

Locally the scan is simple: the EICAR test string anywhere in the decoded message makes the
virus verdict FAIL, otherwise PASS (as SES reports a clean scan); spam is PASS; SPF, DKIM and
DMARC are GRAY (not evaluated offline). A test or a demo can set any verdict with a header only
this door honours, `X-Mailroom-Local-Verdicts: spf=PASS; dkim=PASS; dmarc=PASS; spam=FAIL`
(keys spam, virus, spf, dkim, dmarc, dmarcpolicy). TLS is not offered: loopback only.

Loopback is not enough against a browser: a page can POST to `http://127.0.0.1:2525/` and
aiosmtpd would answer each header line with a 500 and then run the SMTP commands in the body.
A command line that is an HTTP request line (`POST / HTTP/1.1`) closes the connection at once
(`_NoHttpSMTP`), so nothing a browser sends after it is read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email
import email.policy
import logging
import quopri
import re
import secrets
import socket
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from email.parser import HeaderParser
from email.utils import format_datetime, getaddresses
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from mailroom.extract.headers import unfold as _unfold
from mailroom.local.emulator import LOOPBACK, Endpoint
from mailroom.local.runner import Runner

log = logging.getLogger("mailroom_local.frontdoor")

MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # SES receiving's limit, headers included
DEFAULT_PORT = 2525
RECEIVED_KEPT = 1000
VERDICTS_HEADER = "X-Mailroom-Local-Verdicts"
VERDICT_VALUES = frozenset({"PASS", "FAIL", "GRAY", "PROCESSING_FAILED"})
RULES_TTL_S = 1.0  # the rule set is re-read at most this often (Terraform may change it)
BACKPRESSURE_WAIT_S = 60.0  # at most this long before the 250 (SMTP clients wait 10 min)
SERVER_NAME = "inbound-smtp.local.mailroom"
# Split so that this source file is never itself mistaken for the test file by a scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
_ID_ALPHABET = string.ascii_lowercase + string.digits


# -- the receipt rule -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptRule:
    name: str
    recipients: tuple[str, ...]
    actions: tuple[Mapping[str, Any], ...]
    scan_enabled: bool = True
    tls_policy: str = "Optional"

    @classmethod
    def from_api(cls, rule: Mapping[str, Any]) -> ReceiptRule:
        return cls(
            name=rule["Name"],
            recipients=tuple(rule.get("Recipients") or ()),
            actions=tuple(rule.get("Actions") or ()),
            scan_enabled=bool(rule.get("ScanEnabled", False)),
            tls_policy=rule.get("TlsPolicy", "Optional"),
        )

    def accepts(self, address: str) -> bool:
        # SES: a rule without recipients applies to every verified domain.
        return not self.recipients or any(recipient_matches(address, r) for r in self.recipients)


def recipient_matches(address: str, entry: str) -> bool:
    """SES recipient matching: an address (its `+label` form too), a domain, or `.domain`.

    `submit+case-42@d` matches `submit@d`; `d` matches any address at `d`; `.d` matches any
    address at a subdomain of `d`. Case is ignored throughout.
    """
    address, entry = address.strip().lower(), entry.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return False
    if "@" in entry:
        if address == entry:
            return True
        base = local.split("+", 1)[0]
        return "+" in local and f"{base}@{domain}" == entry
    if entry.startswith("."):
        return domain.endswith(entry)
    return domain == entry


def active_rules(endpoint: Endpoint, rule_set: str | None = None) -> list[ReceiptRule]:
    """The enabled rules of the active rule set (or of `rule_set`, active or not), in order."""
    ses = endpoint.client("ses")
    found = (
        ses.describe_receipt_rule_set(RuleSetName=rule_set)
        if rule_set
        else ses.describe_active_receipt_rule_set()
    )
    return [ReceiptRule.from_api(r) for r in found.get("Rules", []) if r.get("Enabled", False)]


def first_rule(rules: Iterable[ReceiptRule], address: str) -> ReceiptRule | None:
    return next((rule for rule in rules if rule.accepts(address)), None)


def new_message_id() -> str:
    """An id shaped like SES's: 40 lower-case letters and digits (S3-key and DynamoDB safe)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(40))


# -- the scan and the event -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdicts:
    spam: str = "PASS"
    virus: str = "PASS"
    spf: str = "GRAY"
    dkim: str = "GRAY"
    dmarc: str = "GRAY"
    dmarc_policy: str = "none"  # reported only when DMARC failed


def scan(raw: bytes, enabled: bool = True) -> Verdicts:
    if not enabled:
        verdicts = Verdicts(spam="GRAY", virus="GRAY")
    else:
        verdicts = Verdicts(virus="FAIL" if contains_eicar(raw) else "PASS")
    return with_requested_verdicts(verdicts, raw)


def with_requested_verdicts(verdicts: Verdicts, raw: bytes) -> Verdicts:
    """Apply the local-only verdicts header, if the message carries one (first one wins)."""
    parsed = HeaderParser(policy=email.policy.compat32).parsestr(header_block(raw))
    value = parsed.get(VERDICTS_HEADER)
    if value is None:
        return verdicts
    changes: dict[str, str] = {}
    for item in _unfold(str(value)).split(";"):
        name, _, setting = item.partition("=")
        name, setting = name.strip().lower(), setting.strip()
        if name in {"spam", "virus", "spf", "dkim", "dmarc"} and setting.upper() in VERDICT_VALUES:
            changes[name] = setting.upper()
        elif name == "dmarcpolicy" and setting.lower() in {"none", "quarantine", "reject"}:
            changes["dmarc_policy"] = setting.lower()
        elif name:
            log.warning("%s: ignored %r", VERDICTS_HEADER, item.strip())
    return replace(verdicts, **changes)


def _eicar_base64_forms() -> tuple[bytes, ...]:
    """EICAR's base64 text at each of the three byte alignments, without the edge groups
    (which depend on the bytes around it)."""
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + EICAR)
        start = 4 * ((shift + 2) // 3)  # skip the groups that hold padding bytes
        usable = 4 * ((shift + len(EICAR)) // 3)  # whole groups of EICAR's own bytes
        forms.append(encoded[start:usable])
    return tuple(forms)


_EICAR_B64 = _eicar_base64_forms()
_NEEDS_PARSE = (b"message/rfc822", b"uuencode", b"x-uue")


def might_contain_eicar(raw: bytes) -> bool:
    """A linear, C-speed pre-check: False means no part can decode to EICAR.

    Looks for the string as is, after quoted-printable decoding, and in base64 at any
    alignment once line breaks are removed; forwards and uuencode always go to the full scan
    (their decoding nests)."""
    if EICAR in raw or EICAR in binascii.a2b_qp(raw):
        return True
    lowered = raw.lower()
    if any(marker in lowered for marker in _NEEDS_PARSE):
        return True
    flat = raw.replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"").replace(b"\t", b"")
    return any(form in flat for form in _EICAR_B64)


def contains_eicar(raw: bytes) -> bool:
    """The EICAR string in the raw bytes or in any decoded part, nested messages included."""
    if EICAR in raw:
        return True
    if not might_contain_eicar(raw):
        return False  # the MIME parse below costs ~10 ms for 135 KB: skip it when it can't hit
    stack: list[Message] = [email.message_from_bytes(raw)]
    while stack:
        message = stack.pop()
        for part in message.walk():
            encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
            if part.get_content_type() == "message/rfc822" and encoding in _ENCODED:
                # The parser reads an encoded forward as if it were plain: decode it ourselves.
                if len(stack) < 20:
                    stack.append(email.message_from_bytes(_decoded_body(part, encoding)))
                continue
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and EICAR in payload:
                return True
    return False


_ENCODED = ("base64", "quoted-printable")


def _decoded_body(part: Message, encoding: str) -> bytes:
    text = part.as_bytes()
    body = re.split(rb"\r?\n\r?\n", text, maxsplit=1)[-1]
    if encoding == "base64":
        return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body) + b"==", validate=False)
    return quopri.decodestring(body)


def ses_headers(
    *,
    envelope_from: str,
    helo: str,
    peer: str,
    message_id: str,
    recipients: Sequence[str],
    verdicts: Verdicts,
    when: datetime,
) -> bytes:
    """The headers SES prepends to the message it stores."""
    lines = [
        f"Return-Path: <{envelope_from}>",
        f"Received: from {helo} ({helo} [{peer}])\r\n by {SERVER_NAME} with SMTP id {message_id}"
        f"\r\n for {recipients[0] if recipients else 'unknown'};"
        f" {format_datetime(when)}",
        f"X-SES-Spam-Verdict: {verdicts.spam}",
        f"X-SES-Virus-Verdict: {verdicts.virus}",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii", "replace")


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def header_block(raw: bytes) -> str:
    """The header section only (never the 40 MB body), decoded leniently."""
    end = len(raw)
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(separator)
        if index != -1:
            end = min(end, index)
    return raw[:end].decode("utf-8", "replace") + "\r\n\r\n"


def ses_event(
    *,
    stored: bytes,
    message_id: str,
    envelope_from: str,
    recipients: Sequence[str],
    verdicts: Verdicts,
    function_arn: str,
    invocation_type: str,
    received: datetime,
    processing_ms: int,
) -> dict[str, Any]:
    """The Lambda action's event, in the shape SES sends (docs: receiving-email-notifications)."""
    headers_text = header_block(stored)
    raw_headers = HeaderParser(policy=email.policy.compat32).parsestr(headers_text)
    headers = [{"name": name, "value": _unfold(str(value))} for name, value in raw_headers.items()]
    common = _common_headers(raw_headers, envelope_from)
    destination = [
        address
        for _, address in getaddresses(
            [str(v) for name in ("to", "cc") for v in raw_headers.get_all(name, [])]
        )
        if address
    ] or list(recipients)
    timestamp = iso_ms(received)
    receipt: dict[str, Any] = {
        "timestamp": timestamp,
        "processingTimeMillis": processing_ms,
        "recipients": list(recipients),
        "spamVerdict": {"status": verdicts.spam},
        "virusVerdict": {"status": verdicts.virus},
        "spfVerdict": {"status": verdicts.spf},
        "dkimVerdict": {"status": verdicts.dkim},
        "dmarcVerdict": {"status": verdicts.dmarc},
        "action": {
            "type": "Lambda",
            "functionArn": function_arn,
            "invocationType": invocation_type,
        },
    }
    if verdicts.dmarc == "FAIL":
        # SES adds the domain's policy only when DMARC failed.
        receipt["dmarcPolicy"] = verdicts.dmarc_policy
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": timestamp,
                        "source": envelope_from,
                        "messageId": message_id,
                        "destination": destination,
                        "headersTruncated": False,
                        "headers": headers,
                        "commonHeaders": common,
                    },
                    "receipt": receipt,
                },
            }
        ]
    }


def _common_headers(raw_headers: Message, envelope_from: str) -> dict[str, Any]:
    # SES passes header values as written (RFC 2047 words undecoded), address lists split.
    common: dict[str, Any] = {"returnPath": envelope_from}
    for key, name in (
        ("from", "from"),
        ("to", "to"),
        ("cc", "cc"),
        ("bcc", "bcc"),
        ("replyTo", "reply-to"),
    ):
        values = [
            address
            for value in raw_headers.get_all(name, [])
            for address in split_addresses(_unfold(str(value)))
        ]
        if values:
            common[key] = values
    for key, name in (
        ("sender", "sender"),
        ("date", "date"),
        ("messageId", "message-id"),
        ("subject", "subject"),
    ):
        value = raw_headers.get(name)
        if value is not None:
            common[key] = _unfold(str(value))
    return common


def split_addresses(value: str) -> list[str]:
    """Split an address list on commas outside quotes, comments and angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    depth_angle = depth_comment = 0
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth_angle += 1
        elif not quoted and char == ">":
            depth_angle = max(0, depth_angle - 1)
        elif not quoted and char == "(":
            depth_comment += 1
        elif not quoted and char == ")":
            depth_comment = max(0, depth_comment - 1)
        elif char == "," and not quoted and not depth_angle and not depth_comment:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


# -- the server -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """What the door accepted: for the demo's summary and for tests."""

    message_id: str
    envelope_from: str
    recipients: tuple[str, ...]
    raw_keys: tuple[str, ...]
    verdicts: Verdicts
    events: tuple[dict[str, Any], ...] = ()  # what each Lambda action was given


@dataclass(slots=True)
class _Handler:
    door: FrontDoor

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            rules = await loop.run_in_executor(None, self.door.rules)
        except Exception:
            log.exception("could not read the active receipt rule set")
            return "451 4.3.0 Temporary local problem, try again"
        if first_rule(rules, address) is None:
            return "550 5.1.1 Requested action not taken: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        loop = asyncio.get_running_loop()
        raw: bytes = envelope.original_content or envelope.content
        helo = session.host_name or "unknown"
        peer = session.peer[0] if session.peer else LOOPBACK
        try:
            message_id = await loop.run_in_executor(
                None,
                self.door.deliver,
                raw,
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                helo,
                peer,
            )
        except Exception:
            log.exception("delivery failed")
            return "451 4.3.0 Temporary local problem, try again"
        return f"250 Ok {message_id}"


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_HTTP_TARGET = re.compile(r"^\S+\s+HTTP/\d", re.IGNORECASE)


def is_http_request_line(command: str, arg: str | None) -> bool:
    """`GET / HTTP/1.1` and the like: what a browser sends first, never an SMTP command."""
    return command.upper() in HTTP_METHODS and bool(arg and _HTTP_TARGET.match(arg))


class _NoHttpSMTP(SMTP):
    """aiosmtpd's SMTP, which drops a connection that speaks HTTP (a browser's request).

    An HTTP method is no SMTP command: aiosmtpd looks commands up among its `smtp_*` methods,
    so these are called only for such lines (and, having no @syntax, HELP does not list them).
    """

    async def _refuse_http(self, command: str, arg: str | None) -> None:
        if is_http_request_line(command, arg):
            peer = self.session.peer if self.session else None
            log.warning("%r spoke HTTP to the SMTP door: connection dropped", peer)
            assert self.transport is not None
            self.transport.close()
            return
        await self.push(f'500 Error: command "{command}" not recognized')

    async def smtp_GET(self, arg: str | None) -> None:
        await self._refuse_http("GET", arg)

    async def smtp_HEAD(self, arg: str | None) -> None:
        await self._refuse_http("HEAD", arg)

    async def smtp_POST(self, arg: str | None) -> None:
        await self._refuse_http("POST", arg)

    async def smtp_PUT(self, arg: str | None) -> None:
        await self._refuse_http("PUT", arg)

    async def smtp_DELETE(self, arg: str | None) -> None:
        await self._refuse_http("DELETE", arg)

    async def smtp_CONNECT(self, arg: str | None) -> None:
        await self._refuse_http("CONNECT", arg)

    async def smtp_OPTIONS(self, arg: str | None) -> None:
        await self._refuse_http("OPTIONS", arg)

    async def smtp_TRACE(self, arg: str | None) -> None:
        await self._refuse_http("TRACE", arg)

    async def smtp_PATCH(self, arg: str | None) -> None:
        await self._refuse_http("PATCH", arg)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _NoHttpSMTP(self.handler, **self.SMTP_kwargs)


class FrontDoor:
    """aiosmtpd on 127.0.0.1 acting as the active receipt rule set of `endpoint`."""

    def __init__(
        self,
        endpoint: Endpoint,
        runner: Runner,
        *,
        port: int = DEFAULT_PORT,
        max_bytes: int = MAX_MESSAGE_BYTES,
        on_received: Callable[[Received], None] | None = None,
        rule_set: str | None = None,
    ) -> None:
        """`rule_set` names the rule set to act as; by default the active one."""
        self.endpoint = endpoint
        self.rule_set = rule_set
        self.runner = runner
        self.host = LOOPBACK
        self.port = port or free_port()
        self.max_bytes = max_bytes
        # The latest messages (a long `mailroom local` session must not grow without bound).
        self.received: deque[Received] = deque(maxlen=RECEIVED_KEPT)
        self._on_received = on_received
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._rules: tuple[float, list[ReceiptRule]] | None = None

    def start(self) -> None:
        self._controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            server_hostname=SERVER_NAME,
            ident="mailroom local (SES receipt rule stand-in)",
            data_size_limit=self.max_bytes,
            enable_SMTPUTF8=True,
            ready_timeout=10.0,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def rules(self) -> list[ReceiptRule]:
        """The rules acted on, read again at most every RULES_TTL_S (not twice per message)."""
        now = time.monotonic()
        cached = self._rules
        if cached is not None and now - cached[0] < RULES_TTL_S:
            return cached[1]
        rules = active_rules(self.endpoint, self.rule_set)
        self._rules = (now, rules)
        return rules

    def deliver(
        self, raw: bytes, envelope_from: str, recipients: list[str], helo: str, peer: str
    ) -> str:
        """Run the matching rules' actions in order (S3, then Lambda); return the message id."""
        started = time.monotonic()
        received_at = datetime.now(UTC)
        message_id = new_message_id()
        rules = self.rules()
        by_rule: dict[str, tuple[ReceiptRule, list[str]]] = {}
        for address in recipients:
            rule = first_rule(rules, address)
            if rule is not None:
                by_rule.setdefault(rule.name, (rule, []))[1].append(address)
        raw_keys: list[str] = []
        events: list[dict[str, Any]] = []
        verdicts = Verdicts()
        scanned: Verdicts | None = None  # parsing 40 MB once is enough
        for rule, rule_recipients in by_rule.values():
            if rule.scan_enabled:
                scanned = scanned or scan(raw)
            verdicts = scanned if rule.scan_enabled and scanned else scan(raw, enabled=False)
            stored = (
                ses_headers(
                    envelope_from=envelope_from,
                    helo=helo,
                    peer=peer,
                    message_id=message_id,
                    recipients=rule_recipients,
                    verdicts=verdicts,
                    when=received_at,
                )
                + raw
            )
            for action in rule.actions:
                if "S3Action" in action:
                    target = action["S3Action"]
                    key = target.get("ObjectKeyPrefix", "") + message_id
                    self.endpoint.client("s3").put_object(
                        Bucket=target["BucketName"], Key=key, Body=stored
                    )
                    raw_keys.append(key)
                elif "LambdaAction" in action:
                    target = action["LambdaAction"]
                    invocation = target.get("InvocationType", "Event")
                    event = ses_event(
                        stored=stored,
                        message_id=message_id,
                        envelope_from=envelope_from,
                        recipients=rule_recipients,
                        verdicts=verdicts,
                        function_arn=target["FunctionArn"],
                        invocation_type=invocation,
                        received=received_at,
                        processing_ms=int((time.monotonic() - started) * 1000),
                    )
                    events.append(event)
                    if invocation == "Event":
                        self.runner.invoke_async(target["FunctionArn"], event)
                    else:
                        self.runner.invoke(target["FunctionArn"], event)
                elif "StopAction" in action:
                    break
                else:
                    log.warning("receipt rule action not emulated: %s", sorted(action))
        record = Received(
            message_id=message_id,
            envelope_from=envelope_from,
            recipients=tuple(recipients),
            raw_keys=tuple(raw_keys),
            verdicts=verdicts,
            events=tuple(events),
        )
        with self._lock:
            self.received.append(record)
        if self._on_received is not None:
            self._on_received(record)
        # Back-pressure: the message is stored and its event queued; the 250 waits while the
        # functions are far behind, so a burst cannot queue unbounded work (SES has a fleet
        # behind it, this machine has a few worker processes). Bounded: never past the wait.
        if not self.runner.wait_backlog(self.runner.backlog_limit, BACKPRESSURE_WAIT_S):
            log.info("functions still behind after %.0f s; accepting anyway", BACKPRESSURE_WAIT_S)
        return message_id


def free_port() -> int:
    """A free TCP port on loopback (aiosmtpd's Controller cannot be given port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port
