"""What ships to Lambda: the handlers' import graph and the zips `make package` builds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mailroom.extract import DiscardSink, extract
from tests.conftest import ROOT, SAMPLE_MAIL

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


def lambda_pythons() -> list[Path]:
    """Interpreters of the Lambda runtime's versions on this machine (pyenv, then PATH)."""
    found = []
    for version in ("3.12", "3.13"):
        candidates = sorted(Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))
        on_path = shutil.which(f"python{version}")
        if on_path and "shims" not in on_path:  # a pyenv shim may name a version it won't run
            candidates.append(Path(on_path))
        found += candidates[:1]
    return found


def test_the_zips_run_on_the_lambda_runtime_python(tmp_path: Path) -> None:
    """Unpacked as Lambda does (/var/task and /opt/python), on python3.12 and newer."""
    pythons = lambda_pythons()
    if not pythons:
        pytest.skip("no python3.12 or python3.13 on this machine (PATH or pyenv) to run the zips")
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    task, opt = tmp_path / "task", tmp_path / "opt"
    zipfile.ZipFile(tmp_path / "function.zip").extractall(task)
    zipfile.ZipFile(tmp_path / "layer.zip").extractall(opt)
    code = (
        "import hashlib, json, sys\n"
        "import mailroom.handlers.extract_attachments, mailroom.handlers.record_metadata\n"
        "from mailroom.extract import DiscardSink, extract\n"
        "with open(sys.argv[1], 'rb') as raw:\n"
        "    found = extract(raw, DiscardSink())\n"
        "print(json.dumps([[a.filename, a.sha256] for a in found.attachments]))\n"
    )
    sample = SAMPLE_MAIL / "staff-forward.eml"
    with sample.open("rb") as raw:
        expected = [[a.filename, a.sha256] for a in extract(raw, DiscardSink()).attachments]

    for python in pythons:
        env = {"PYTHONPATH": f"{task}:{opt / 'python'}", "PATH": "/usr/bin:/bin"}
        # -S: none of that interpreter's site-packages, only its stdlib and the two zips.
        out = subprocess.run(
            [str(python), "-S", "-c", code, str(sample)],
            check=False,
            capture_output=True,
            text=True,
            env={**env, "POWERTOOLS_METRICS_NAMESPACE": "mailroom"},
            cwd=tmp_path,
        )
        assert out.returncode == 0, f"{python}: {out.stderr[-2000:]}"
        assert json.loads(out.stdout) == expected, python
