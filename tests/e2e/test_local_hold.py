"""Issue 22 through `mailroom local`: a held file can't be deleted with `mailroom delete` nor
through the local API, its versions can't be deleted in S3, and a restart with `--data` keeps
the hold (objects' legal holds and records alike); once released, the delete goes through."""

from __future__ import annotations

import smtplib
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from mailroom.adapters.catalog import Catalog
from mailroom.cli.main import cli
from mailroom.local.app import LocalMailroom
from mailroom.local.stack import StackConfig

from .conftest import SUBMIT, mail
from .test_local_command import wait_until
from .test_local_data import only

CASE = "case-h"
TO_CASE = SUBMIT.replace("@", f"+{CASE}@")


def mailroom(stack: LocalMailroom, home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=only(stack.env(), home), catch_exceptions=False)


def send(stack: LocalMailroom, raw: bytes) -> str:
    assert stack.frontdoor is not None
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=60) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("ann@acme.example")
        assert smtp.rcpt(TO_CASE)[0] == 250
        code, reply = smtp.data(raw)
    assert code == 250, reply
    return reply.decode().split()[-1]


def legal_holds(stack: LocalMailroom, bucket: str, key: str) -> set[str]:
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    found = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return {
        s3.get_object_legal_hold(Bucket=bucket, Key=key, VersionId=v["VersionId"])
        .get("LegalHold", {})
        .get("Status", "OFF")
        for v in found
        if v["Key"] == key
    }


def delete_version_refused(stack: LocalMailroom, bucket: str, key: str) -> None:
    assert stack.endpoint is not None
    s3 = stack.endpoint.client("s3")
    [version, *_] = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    with pytest.raises(ClientError) as locked:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
    assert locked.value.response["Error"]["Code"] == "AccessDenied"


def api_delete(stack: LocalMailroom, file_id: str) -> requests.Response:
    assert stack.api is not None
    token = stack.api.issue_token("admin")
    return requests.delete(
        f"{stack.api.url}/files/{quote(file_id, safe='')}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def test_a_held_file_survives_cli_api_and_s3_deletes_and_a_restart(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    config = StackConfig(submission_addresses=(SUBMIT,))
    # GIVEN a local stack with --data, and a case's message recorded
    with LocalMailroom(config, smtp_port=0, state_dir=tmp_path / "s1", data_dir=data) as stack:
        message_id = send(stack, mail("Held matter"))
        (outcome,) = stack.wait_for_messages([message_id], timeout=60)
        [held] = outcome.files
        assert held.case == CASE
        # WHEN an admin holds the case
        done = mailroom(stack, home, "hold", "--case", CASE, "--reason", "dispute", "--by", "ann")
        assert done.exit_code == 0, done.output
        # THEN the file and its raw message are locked, and every delete is refused
        assert legal_holds(stack, config.bucket, held.file_id) == {"ON"}
        assert legal_holds(stack, config.bucket, f"raw/{message_id}") == {"ON"}
        refused = mailroom(stack, home, "delete", held.file_id, "--yes")
        assert refused.exit_code != 0 and "legal hold" in refused.output and "ann" in refused.output
        reply = api_delete(stack, held.file_id)
        assert reply.status_code == 409 and reply.json()["error"]["code"] == "held"
        delete_version_refused(stack, config.bucket, held.file_id)
        # AND a file recorded later in the case is held too
        later_id = send(stack, mail("Held matter, later"))
        (later,) = stack.wait_for_messages([later_id], timeout=60)
        [late] = later.files
        assert stack.endpoint is not None
        catalog = Catalog(stack.endpoint.client("dynamodb"), config.table)
        wait_until(
            lambda: getattr(catalog.get_file(late.file_id), "held", False), 30, "the later hold"
        )
        assert legal_holds(stack, config.bucket, late.file_id) == {"ON"}

    # WHEN the stack restarts on the same --data
    with LocalMailroom(config, smtp_port=0, state_dir=tmp_path / "s2", data_dir=data) as stack:
        # THEN the holds are still there, in S3 and on the records
        assert legal_holds(stack, config.bucket, held.file_id) == {"ON"}
        assert legal_holds(stack, config.bucket, f"raw/{message_id}") == {"ON"}
        delete_version_refused(stack, config.bucket, held.file_id)
        refused = mailroom(stack, home, "delete", held.file_id, "--yes")
        assert refused.exit_code != 0 and "legal hold" in refused.output
        assert api_delete(stack, held.file_id).status_code == 409
        # AND once released, the delete goes through (the versions stay, unlocked)
        # (through the local API this time: POST /cases/{case}/hold)
        assert stack.api is not None
        released = requests.post(
            f"{stack.api.url}/cases/{CASE}/hold",
            headers={"Authorization": f"Bearer {stack.api.issue_token('admin')}"},
            json={"release": True},
            timeout=60,
        )
        assert released.status_code == 200, released.text
        assert released.json()["released"] is True and held.file_id in released.json()["files"]
        assert legal_holds(stack, config.bucket, held.file_id) == {"OFF"}
        assert api_delete(stack, held.file_id).status_code == 200
        assert mailroom(stack, home, "delete", late.file_id, "--yes").exit_code == 0
