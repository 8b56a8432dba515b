"""Load generation for the slow-tier load tests: messages, and several SMTP clients at once."""

from __future__ import annotations

import base64
import random
import smtplib
import threading

from mailroom.local.app import LocalMailroom

from .conftest import SUBMIT

FINAL = {"extracted", "no_attachments", "quarantined", "rejected", "failed"}


def message(index: int, rng: random.Random, size: int = 50_000) -> bytes:
    boundary = f"load-{index:05d}"
    parts = b"".join(
        f"--{boundary}\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: attachment; filename="doc-{index}-{n}.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + base64.encodebytes(rng.randbytes(size)).replace(b"\n", b"\r\n")
        for n in (1, 2)
    )
    head = (
        f"From: client{index}@partner.example\r\nTo: {SUBMIT}\r\nSubject: load {index}\r\n"
        f"Message-ID: <load-{index}@partner.example>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nTwo documents.\r\n"
    ).encode()
    return head + parts + f"--{boundary}--\r\n".encode()


def send_all(stack: LocalMailroom, bodies: list[bytes], clients: int) -> list[str]:
    """`clients` SMTP connections at once (the bounded concurrency); the SES ids, in order."""
    assert stack.frontdoor is not None
    host, port = stack.frontdoor.host, stack.frontdoor.port
    ids: list[str | None] = [None] * len(bodies)

    def client(first: int) -> None:
        with smtplib.SMTP(host, port, timeout=300) as smtp:
            for index in range(first, len(bodies), clients):
                smtp.ehlo_or_helo_if_needed()
                smtp.mail(f"client{index}@partner.example")
                assert smtp.rcpt(SUBMIT)[0] == 250
                code, reply = smtp.data(bodies[index])
                assert code == 250, reply
                ids[index] = reply.decode().split()[-1]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(ids), "a client failed"
    return [i for i in ids if i]
