"""What ships to Lambda: the handlers' import graph and the zips `make package` builds."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT

FORBIDDEN = (
    "mailroom.cli",
    "mailroom.local",
    "tests",
    "click",
    "rich",
    "moto",
    "aiosmtpd",
    "pytest",
)


def test_handlers_import_nothing_from_cli_local_mode_or_tests(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "import mailroom.handlers.extract_attachments, mailroom.handlers.record_metadata\n"
        f"bad = [m for m in sys.modules if m.startswith({FORBIDDEN!r})]\n"
        "print(json.dumps(sorted(bad)))\n"
    )
    # From an empty directory, so nothing in the checkout can be imported by accident.
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout

    assert json.loads(out) == []


def test_function_zip_holds_only_what_the_functions_need(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    names = zipfile.ZipFile(tmp_path / "function.zip").namelist()
    layer = zipfile.ZipFile(tmp_path / "layer.zip").namelist()
    top_level = {n.split("/")[1] for n in layer if n.startswith("python/") and n.count("/") > 1}

    assert "mailroom/handlers/extract_attachments.py" in names
    assert "mailroom/handlers/record_metadata.py" in names
    assert not [n for n in names if n.startswith(("mailroom/cli/", "mailroom/local/"))]
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert {"aws_lambda_powertools", "tnefparse", "filetype", "aws_xray_sdk"} <= top_level
    assert not {"moto", "click", "rich", "aiosmtpd", "pytest", "mypy"} & top_level
    pins = (tmp_path / "layer-requirements.txt").read_text()
    assert "aws_lambda_powertools==" in pins or "aws-lambda-powertools==" in pins
