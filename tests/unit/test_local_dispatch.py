"""The bucket-notification stand-in's event: S3's shape and S3's key encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote_plus

import pytest

from mailroom.local.dispatch import Route, encode_key, s3_event
from tests.conftest import load_event


def test_the_reference_key_is_encoded_the_way_s3_encodes_it() -> None:
    encoded = load_event("s3-object-created.json")["Records"][0]["s3"]["object"]["key"]
    assert encode_key(unquote_plus(encoded)) == encoded


@pytest.mark.parametrize(
    "key",
    [
        "incoming/abc/01-Relevé de compte (final).pdf",
        "incoming/abc/02-a+b=c&d%20e.txt",
        "incoming/up load/日本語 ファイル.pdf",
        "incoming/abc/03-~tilde,comma;semi:colon'quote.pdf",
    ],
)
def test_a_handler_decoding_with_unquote_plus_gets_the_key_back(key: str) -> None:
    encoded = encode_key(key)
    assert " " not in encoded
    assert encoded.isascii()
    assert unquote_plus(encoded) == key


def test_the_event_has_exactly_the_shape_s3_sends() -> None:
    reference = load_event("s3-object-created.json")
    ours = s3_event(
        bucket="mailroom-local",
        region="eu-west-1",
        key="incoming/abc/01-a b.pdf",
        size=941,
        etag='"d41d8cd98f00b204e9800998ecf8427e"',
        version_id="v1",
        event_time=datetime(2026, 11, 20, 9, 14, 4, 871000, tzinfo=UTC),
        configuration_id="record-metadata",
        sequencer=1,
    )

    def shape(value: object) -> object:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return type(value).__name__

    assert shape(ours) == shape(reference)
    obj = ours["Records"][0]["s3"]["object"]
    assert obj["key"] == "incoming/abc/01-a+b.pdf"
    assert obj["eTag"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert ours["Records"][0]["eventTime"] == "2026-11-20T09:14:04.871Z"


def test_an_unversioned_object_has_no_version_id() -> None:
    event = s3_event(
        bucket="b-b-b",
        region="eu-west-1",
        key="incoming/x",
        size=1,
        etag="e",
        version_id="null",
        event_time=datetime(2026, 1, 1, tzinfo=UTC),
        configuration_id="c",
        sequencer=2,
    )
    assert "versionId" not in event["Records"][0]["s3"]["object"]


def test_routes_filter_on_prefix_and_suffix() -> None:
    route = Route("c", "arn", "incoming/", ".pdf")
    assert route.matches("incoming/a/b.pdf")
    assert not route.matches("raw/a.pdf")
    assert not route.matches("incoming/a/b.txt")
