"""The CLI's shape: modules by concern without import cycles; use cases free of CLI and AWS."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions" / "mailroom"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def test_cli_modules_import_each_other_without_a_cycle() -> None:
    modules = {_module(p): p for p in (PACKAGE / "cli").glob("*.py") if p.name != "__init__.py"}
    graph = {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = [name for name in graph if reaches(name, name, {name})]
    assert cycles == []
    # only the group module knows the command modules
    assert not any("mailroom.cli.main" in deps for deps in graph.values())


def test_use_cases_import_neither_the_cli_nor_boto3() -> None:
    for path in (PACKAGE / "usecases").glob("*.py"):
        imported = _imports(path)
        assert not {
            m for m in imported if m.split(".")[0] in {"boto3", "botocore", "click", "rich"}
        }
        assert not {m for m in imported if m.startswith(("mailroom.cli", "mailroom.adapters"))}


def test_importing_the_use_cases_loads_no_aws_sdk() -> None:
    code = (
        "import sys, mailroom.usecases.files, mailroom.usecases.messages, "
        "mailroom.usecases.reports, mailroom.usecases.downloads, mailroom.usecases.uploads; "
        "print(sorted(m for m in ('boto3', 'botocore', 'click') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
