"""An upload's name never turns the presigned POST's exact key condition into a prefix.

boto3's generate_presigned_post signs `["starts-with", "$key", <key without ${filename}>]` for a
key that ends in `${filename}`, and S3 replaces `${filename}` with the form's file name: the
form would then write any number of keys for as long as it is valid.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from mailroom.adapters.s3 import S3Store
from tests.api.conftest import Call
from tests.cli.conftest import BUCKET, Stack

HOSTILE = ["scan${filename}", "${filename}", "a{b}c$.pdf", "${filename}.pdf", "x$${filename}}"]


def key_conditions(fields: dict[str, str]) -> list[Any]:
    policy = json.loads(base64.b64decode(fields["policy"]))
    return [
        c
        for c in policy["conditions"]
        if (isinstance(c, dict) and "key" in c) or (isinstance(c, list) and "$key" in c)
    ]


@pytest.mark.parametrize("name", HOSTILE)
def test_the_key_condition_is_exact_and_holds_no_dollar_or_brace(
    call: Call, stack: Stack, name: str
) -> None:
    reply = call(
        "POST",
        "/uploads",
        body={"filename": name, "size": 10, "content_type": "application/pdf"},
    )
    assert reply.status == 201, reply.body
    key = reply.body["file_id"]
    fields = reply.body["fields"]
    assert fields["key"] == key
    assert not set("${}") & set(key), key
    # The only key condition is equality (the object form `{"key": K}` is `["eq", "$key", K]`).
    assert key_conditions(fields) == [{"key": key}]
    for name_, value in fields.items():
        if name_ != "policy":
            assert "${" not in value, name_


def test_the_signer_refuses_a_key_or_field_that_could_be_substituted(stack: Stack) -> None:
    signer = S3Store(stack.s3, BUCKET)
    with pytest.raises(ValueError, match="never hold"):
        signer.presigned_post("incoming/up-1/${filename}", {}, 10, 60)
    with pytest.raises(ValueError, match="never hold"):
        signer.presigned_post("incoming/up-1/a.pdf", {"x-amz-meta-filename": "{x}"}, 10, 60)
    fields = signer.presigned_post("incoming/up-1/a.pdf", {}, 10, 60)["fields"]
    assert key_conditions(fields) == [{"key": "incoming/up-1/a.pdf"}]
