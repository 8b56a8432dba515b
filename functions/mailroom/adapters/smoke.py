"""What `mailroom smoke` sends and probes with (ports.MailSender, ports.HttpProbe).

SESv2 SendEmail with raw content (SES v1 SendRawEmail stops at 10 MB; SESv2 takes up to 40 MB,
"Service quotas in Amazon SES"), the local SMTP door, and a plain HTTP GET.
"""

from __future__ import annotations

import smtplib
import urllib.error
import urllib.request
from typing import Any


class SesV2Sender:
    def __init__(self, client: Any) -> None:
        self._ses = client

    def send(self, raw: bytes, sender: str, recipient: str) -> None:
        self._ses.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [recipient]},
            Content={"Raw": {"Data": raw}},
        )


# What SES reports for mail this stack sent from its own verified, DKIM-signing domain. The
# local SMTP door reads it from this header (local/frontdoor.py: only that door honours it), so
# `mailroom smoke` and the canary are recognised as probes locally as on AWS (mailroom.probes).
OWN_DOMAIN_VERDICTS = "spf=PASS; dkim=PASS; dmarc=PASS"
LOCAL_VERDICTS_HEADER = "X-Mailroom-Local-Verdicts"


class SmtpSender:
    """The local SMTP door. `verdicts`: what the door should report for this mail, as SES
    would for mail signed by the stack's own domain (OWN_DOMAIN_VERDICTS); None: the door's
    own (GRAY). `signed_by`: the d= of the DKIM-Signature header SES's Easy DKIM adds when it
    sends for that domain (a stand-in: the door verifies no signature; its verdicts say PASS)."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 120.0,
        verdicts: str | None = None,
        signed_by: str | None = None,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.verdicts, self.signed_by = verdicts, signed_by

    def send(self, raw: bytes, sender: str, recipient: str) -> None:
        if self.signed_by:
            signature = f"DKIM-Signature: v=1; a=rsa-sha256; d={self.signed_by}; s=local; b=\r\n"
            raw = signature.encode("ascii") + raw
        if self.verdicts:
            raw = f"{LOCAL_VERDICTS_HEADER}: {self.verdicts}\r\n".encode("ascii") + raw
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo("mailroom-smoke")
            smtp.sendmail(sender, [recipient], raw)


class UrlProbe:
    def __init__(self, timeout: float = 15.0) -> None:
        self.timeout = timeout

    def get(self, url: str) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(url, method="GET")  # noqa: S310 (the stack's own URLs)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}
