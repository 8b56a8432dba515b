"""Safe names and object keys, checked over arbitrary file names (hypothesis)."""

from __future__ import annotations

import posixpath
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailroom.extract.collect import Collector
from mailroom.extract.types import DiscardSink, Extraction
from mailroom.limits import Limits
from mailroom.naming import MAX_KEY_BYTES, MAX_NAME_BYTES, attachment_key, safe_name

RESERVED = (
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}

# Names as senders write them, and as attackers do.
names = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=600),
    st.from_regex(r"[./\\ ]{0,6}(con|aux|nul|com1|lpt9|CON|Nul)(\.[a-z]{0,4}){0,2}[ .]{0,3}"),
    st.lists(st.sampled_from(["..", "/", "\\", ".", " ", "a", "\u202e", "\x00", "é", "~"])).map(
        "".join
    ),
    st.lists(st.sampled_from(["${filename}", "$", "{", "}", "${", "a", ".pdf"])).map("".join),
)


def assert_safe(name: str, max_bytes: int = MAX_NAME_BYTES) -> None:
    assert name
    assert len(name.encode("utf-8")) <= max_bytes
    assert "/" not in name and "\\" not in name
    assert ".." not in name
    assert name not in {".", ".."}
    assert not name.startswith(".") and not name.endswith((".", " "))
    assert not any(unicodedata.category(c) in INVISIBLE for c in name)
    assert name.split(".", maxsplit=1)[0].strip().lower() not in RESERVED
    assert unicodedata.normalize("NFC", name) == name
    # S3 substitutes `${filename}` in a form upload's key; boto3 then signs a prefix condition.
    assert not set("${}") & set(name)


@settings(max_examples=400)
@given(names)
@example("../../etc/passwd")
@example("CON")
@example("con.tar.gz")
@example("invoice\u202egnp.exe")
@example("\u0301")  # a lone combining mark
@example("a" * 300 + "." + "b" * 40)
@example("scan${filename}")
@example("${filename}")
def test_safe_name_is_always_safe(name: str) -> None:
    assert_safe(safe_name(name))


@settings(max_examples=300)
@given(names, st.integers(min_value=16, max_value=MAX_NAME_BYTES))
def test_safe_name_respects_any_byte_budget(name: str, budget: int) -> None:
    assert_safe(safe_name(name, max_bytes=budget), budget)


@settings(max_examples=300)
@given(names)
def test_safe_name_is_idempotent(name: str) -> None:
    once = safe_name(name)
    assert safe_name(once) == once


def test_safe_name_keeps_ordinary_names_and_extensions() -> None:
    assert safe_name("Quarterly report.pdf") == "Quarterly report.pdf"
    assert safe_name("Договор.pdf") == "Договор.pdf"
    long = safe_name("x" * 400 + ".docx")
    assert long.endswith(".docx") and len(long.encode()) <= MAX_NAME_BYTES


@settings(max_examples=300)
@given(
    names,
    st.from_regex(r"[a-z0-9]{1,64}", fullmatch=True),
    st.integers(min_value=1, max_value=99999),
)
@example(name="a" * 300 + ".pdf", message_id="m", index=1)  # "01-" + 255 bytes was 258
def test_key_stays_in_the_message_folder_and_within_s3_limits(
    name: str, message_id: str, index: int
) -> None:
    key = attachment_key("incoming/", message_id, index, name)
    folder = f"incoming/{message_id}/"
    assert key.startswith(folder)
    assert "/" not in key[len(folder) :]
    assert posixpath.normpath(key) == key
    assert len(key.encode("utf-8")) <= MAX_KEY_BYTES
    assert_safe(key[len(folder) :])


@pytest.mark.parametrize("message_id", ["", ".", "..", "a/b"])
def test_key_refuses_a_message_id_that_would_leave_its_folder(message_id: str) -> None:
    with pytest.raises(ValueError):
        attachment_key("incoming/", message_id, 1, "x.pdf")


@settings(max_examples=200)
@given(st.lists(names, min_size=1, max_size=30))
def test_names_are_unique_within_a_message(filenames: list[str]) -> None:
    collector = Collector(DiscardSink(), Limits(), Extraction())
    safe = [collector.unique(n) for n in filenames]
    assert len({s.lower() for s in safe}) == len(safe)
    for s in safe:
        assert_safe(s)
