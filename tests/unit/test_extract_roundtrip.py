"""Round trip: messages built with the stdlib's writer, random in shape and content, come back
out of mailroom with every file's bytes and name intact (hypothesis)."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.policy import SMTP

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.extract import extract
from mailroom.extract.memory import MemorySink
from tests.unit.decoders import decoder  # noqa: F401 - the fixture: SIMD base64, then fallback

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(lambda n: n.strip() != "" and n == n.strip())
files = st.tuples(
    names,
    st.binary(max_size=5000),
    st.sampled_from(["base64", "quoted-printable"]),
    st.sampled_from(["application/pdf", "image/png", "application/octet-stream"]),
)


@st.composite
def messages(draw: st.DrawFn, depth: int = 0) -> tuple[EmailMessage, list[tuple[str, bytes]]]:
    msg = EmailMessage()
    msg["From"] = draw(st.sampled_from(["a@example.org", "Zoë <zoe@example.org>"]))
    msg["Subject"] = draw(st.text(max_size=30).map(lambda s: " ".join(s.split()) or "x"))
    msg.set_content(draw(st.text(max_size=200)) + "\n")
    expected: list[tuple[str, bytes]] = []
    for name, data, cte, ctype in draw(st.lists(files, max_size=4)):
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype, subtype, filename=name, cte=cte)
        expected.append((name, data))
    if depth < 2 and draw(st.booleans()):
        inner, inner_expected = draw(messages(depth + 1))
        msg.add_attachment(inner)
        expected += inner_expected
    return msg, expected


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(built=messages(), linesep=st.sampled_from(["\r\n", "\n"]))
def test_stdlib_written_messages_round_trip(
    built: tuple[EmailMessage, list[tuple[str, bytes]]],
    linesep: str,
    decoder: str,  # noqa: F811 - the fixture imported above
) -> None:
    msg, expected = built
    raw = msg.as_bytes(policy=SMTP.clone(linesep=linesep))
    sink = MemorySink()
    result = extract(io.BytesIO(raw), sink)
    found = [(k.info.filename, k.data) for k in sink.opened if k.info.origin == "mime"]
    assert sorted(found) == sorted(expected)
    assert not any("internal error" in w for w in result.warnings)
