"""What ships to Lambda: the handlers' import graph and the zips `make package` builds."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

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
        "import mailroom.handlers.api\n"
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
    assert "mailroom/handlers/api.py" in names
    assert not [n for n in names if n.startswith(("mailroom/cli/", "mailroom/local/"))]
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert {"aws_lambda_powertools", "tnefparse", "filetype", "pybase64"} <= top_level
    assert not {"moto", "click", "rich", "aiosmtpd", "pytest", "mypy"} & top_level
    # Tracing is Lambda's active tracing: the X-Ray SDK (and wrapt under it) is not shipped.
    assert not {"aws_xray_sdk", "wrapt"} & top_level
    # pybase64's SIMD extension for the deployed platform (arm64, CPython 3.12), with its
    # pure-Python part; no extension of the build machine.
    assert "python/pybase64/_pybase64.cpython-312-aarch64-linux-gnu.so" in layer
    assert "python/pybase64/__init__.py" in layer
    assert not [n for n in layer if n.endswith(".so") and "aarch64" not in n]
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

    for python in pythons:
        # The arm64 extension cannot load here (x86_64) or on 3.13: binascii takes over.
        expected_decoder = "pybase64" if _host_matches(python, "arm64", "3.12") else "binascii"
        assert _run_zips(python, task, opt) == [expected_decoder, *_expected()], python


def _host_matches(python: Path, arch: str, version: str) -> bool:
    machine = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}
    return machine.get(platform.machine().lower()) == arch and f"python{version}" in python.name


SAMPLE = SAMPLE_MAIL / "staff-forward.eml"
RUN_ZIPS = (
    "import json, sys\n"
    "import mailroom.handlers.extract_attachments, mailroom.handlers.record_metadata\n"
    "import mailroom.handlers.api\n"
    "from mailroom.extract import DiscardSink, extract, fastb64\n"
    "assert not [m for m in sys.modules if m.startswith('aws_xray_sdk')], 'X-Ray SDK imported'\n"
    "with open(sys.argv[1], 'rb') as raw:\n"
    "    found = extract(raw, DiscardSink())\n"
    "print(json.dumps([fastb64.NAME] + [[a.filename, a.sha256] for a in found.attachments]))\n"
)


def _expected() -> list[list[str]]:
    with SAMPLE.open("rb") as raw:
        return [[a.filename, a.sha256] for a in extract(raw, DiscardSink()).attachments]


def _run_zips(python: Path, task: Path, opt: Path) -> list[Any]:
    env = {"PYTHONPATH": f"{task}:{opt / 'python'}", "PATH": "/usr/bin:/bin"}
    # -S: none of that interpreter's site-packages, only its stdlib and the two zips.
    out = subprocess.run(
        [str(python), "-S", "-c", RUN_ZIPS, str(SAMPLE)],
        check=False,
        capture_output=True,
        text=True,
        env={**env, "POWERTOOLS_METRICS_NAMESPACE": "mailroom"},
        cwd=task.parent,
    )
    assert out.returncode == 0, f"{python}: {out.stderr[-2000:]}"
    result: list[Any] = json.loads(out.stdout)
    return result


def test_the_layer_built_for_this_platform_decodes_with_simd(tmp_path: Path) -> None:
    """Where the platform matches (here: a layer for this machine's architecture, run on
    python3.12 as Lambda would), the handler imports pybase64's extension and uses it."""
    arch = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}.get(
        platform.machine().lower()
    )
    pythons = [p for p in lambda_pythons() if p.name == "python3.12"]
    if arch is None or not pythons:
        pytest.skip("no python3.12 here, or an architecture Lambda does not run")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "package.py"),
            "--out",
            str(tmp_path),
            "--arch",
            arch,
            "--python",
            "3.12",
        ],
        check=True,
        capture_output=True,
    )
    task, opt = tmp_path / "task", tmp_path / "opt"
    zipfile.ZipFile(tmp_path / "function.zip").extractall(task)
    zipfile.ZipFile(tmp_path / "layer.zip").extractall(opt)

    assert _run_zips(pythons[0], task, opt) == ["pybase64", *_expected()]
