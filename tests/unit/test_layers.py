"""The arrows point one way: entry points -> use cases -> ports <- adapters; the domain and the
extraction engine import nothing above them (DESIGN.md, "Decisions from the third round")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "mailroom"
DOMAIN = ("model", "policy", "naming", "provenance", "settings", "limits", "ports", "release")


def _mailroom_imports(path: Path) -> set[str]:
    """Every mailroom module the file imports (at any depth: lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n.startswith("mailroom."))
    return found


def _files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def _in(modules: set[str], *layers: str) -> set[str]:
    return {m for m in modules if m.startswith(tuple(f"mailroom.{layer}" for layer in layers))}


def test_the_layers_are_where_the_design_puts_them() -> None:
    assert (PACKAGE / "usecases" / "intake.py").is_file()
    assert (PACKAGE / "usecases" / "recording.py").is_file()
    assert not (PACKAGE / "intake.py").exists()
    assert not (PACKAGE / "recording.py").exists()
    assert not (PACKAGE / "usecases" / "recovery_ports.py").exists()


@pytest.mark.parametrize("path", _files("adapters"), ids=lambda p: p.name)
def test_adapters_never_import_a_use_case_or_an_entry_point(path: Path) -> None:
    assert _in(_mailroom_imports(path), "usecases", "handlers", "cli", "local") == set()


@pytest.mark.parametrize("path", _files("usecases"), ids=lambda p: p.name)
def test_use_cases_never_import_an_adapter_or_an_entry_point(path: Path) -> None:
    assert _in(_mailroom_imports(path), "adapters", "handlers", "cli", "local") == set()


@pytest.mark.parametrize("path", _files("handlers"), ids=lambda p: p.name)
def test_handlers_call_use_cases_and_only_the_runtime_builds_adapters(path: Path) -> None:
    imported = _mailroom_imports(path)
    if path.name == "runtime.py":  # the entry point's composition root
        assert _in(imported, "usecases", "cli", "local") == set()
        return
    assert _in(imported, "adapters", "cli", "local", "extract") == set()
    # Anything else a handler needs it gets through a use case.
    allowed = ("mailroom.usecases", "mailroom.handlers", "mailroom.model", "mailroom.settings")
    assert {m for m in imported if not m.startswith(allowed)} == set()


@pytest.mark.parametrize(
    "path",
    [p for p in PACKAGE.glob("*.py") if p.stem in DOMAIN] + _files("extract"),
    ids=lambda p: p.name,
)
def test_the_domain_and_the_engine_import_nothing_above_them(path: Path) -> None:
    above = _in(_mailroom_imports(path), "usecases", "adapters", "handlers", "cli", "local")
    assert above == set()
