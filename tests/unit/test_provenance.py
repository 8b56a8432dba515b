from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailroom.provenance import MAX_METADATA_BYTES, Provenance, metadata_size


def test_round_trip_with_non_ascii_values() -> None:
    original = Provenance(
        source="email",
        message_id="f6m7k0q3cbjq1u2v8d1n4ha5ls2o7r9e0t4pd481",
        received_at="2026-11-20T09:14:03.512Z",
        filename="Attestation de résidence – Dupont.pdf",
        sha256="a" * 64,
        content_type="application/pdf",
        sender="elodie.martin@partner-avocats.example",
        sender_name="Élodie Martin",
        case="case-42",
        part="2",
        inline=True,
    )
    meta = original.to_metadata()

    assert all(k.isascii() and v.isascii() for k, v in meta.items())
    assert Provenance.from_metadata(meta) == original


def test_object_without_provenance_reads_as_none() -> None:
    assert Provenance.from_metadata({}) is None
    assert Provenance.from_metadata({"other": "x"}) is None


@given(
    filename=st.text(max_size=3000),
    name=st.text(max_size=3000),
    sender=st.text(max_size=1000),
)
def test_metadata_always_fits_s3_limit_and_marks_cuts(
    filename: str, name: str, sender: str
) -> None:
    meta = Provenance(
        source="email",
        message_id="m" * 40,
        received_at="2026-11-20T09:14:03.512Z",
        filename=filename,
        sha256="f" * 64,
        sender=sender,
        sender_name=name,
        original_sender=sender,
    ).to_metadata()

    assert metadata_size(meta) <= MAX_METADATA_BYTES
    assert all(v.isascii() for v in meta.values())
    decoded = Provenance.from_metadata(meta)
    assert decoded is not None
    if decoded.filename != filename:  # cut: a whole-character prefix, marked
        assert decoded.filename.endswith("…")
        assert filename.startswith(decoded.filename[:-1])
        assert len(filename.encode()) > 512 // 9  # only a long name is ever cut


def test_a_value_ending_in_the_cut_marker_reads_back_whole() -> None:
    meta = Provenance(
        source="email", message_id="m", received_at="2026-11-20T09:14:03.512Z", filename="draft~"
    ).to_metadata()

    decoded = Provenance.from_metadata(meta)
    assert decoded is not None and decoded.filename == "draft~"


def test_a_cut_falls_between_characters_never_inside_one() -> None:
    # Found by hypothesis: U+F8FF is 3 UTF-8 bytes, 9 encoded characters; a cut by position
    # split one in the middle and the name read back with a replacement character.
    name = "\uf8ff" * 99
    meta = Provenance(
        source="email", message_id="m", received_at="2026-11-20T09:14:03.512Z", filename=name
    ).to_metadata()

    decoded = Provenance.from_metadata(meta)
    assert decoded is not None
    assert decoded.filename == "\uf8ff" * (511 // 9) + "…"
