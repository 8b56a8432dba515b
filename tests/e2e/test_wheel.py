"""Issue 19: the wheel, installed outside the repository, runs the demo and serves the dashboard.

Offline and quick: the wheel is built from a copy of the sources with the setuptools already in
.venv (`--no-build-isolation --no-index`), installed with `--no-deps --no-index` into a fresh
virtual environment in a temporary folder; the dependencies it needs at run time are the ones
.venv already holds, made visible by one path line (a `.pth` adds a folder to sys.path without
running that folder's own `.pth` files, so .venv's editable `mailroom` stays out of sight).
Everything runs from that temporary folder: nothing in the checkout can be imported or served.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_MAIL

pytestmark = pytest.mark.slow  # a build, a venv, the demo and a stack: ~30 s on a quiet machine

SOURCES = ("functions", "web", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def test_the_wheel_outside_the_repository_runs_the_demo_and_serves_the_dashboard(
    tmp_path: Path,
) -> None:
    # GIVEN the wheel, built offline from a copy of the sources
    source = tmp_path / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name,
                source / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "wheel", source, "--no-deps", "--no-build-isolation", "--no-index", "-w", dist,
        cwd=tmp_path)  # fmt: skip
    (wheel,) = dist.glob("mailroom-*.whl")

    # WHEN it is installed into a fresh environment outside the repository
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(*pip, "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
               cwd=tmp_path).stdout.strip()  # fmt: skip
    (Path(site) / "dependencies-from-dev-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAILROOM_", "PYTHON"))}
    env["MAILROOM_STATE_DIR"] = str(tmp_path / "state")
    where = run(
        python,
        "-c",
        "import mailroom, os, mailroom.local.httpapi as h; "
        "print(mailroom.__file__); print(h.default_web_dir(os.environ))",
        cwd=tmp_path,
        env=env,
    ).stdout.split()
    assert where[0].startswith(str(venv)), where  # the wheel's mailroom, not the checkout's
    assert where[1] == str(Path(site) / "mailroom" / "web"), where

    # THEN `mailroom demo` runs the sample mail through the stack
    mail = shutil.copytree(SAMPLE_MAIL, tmp_path / "mail")
    mailroom = venv / "bin" / "mailroom"
    demo = run(mailroom, "demo", "--mail", mail, cwd=tmp_path, env=env)
    assert "what happened to each message:" in demo.stdout

    # AND a started local stack serves the dashboard page the wheel carries
    process = subprocess.Popen(
        [str(mailroom), "local", "--port", "0", "--endpoint-port", "0", "--api-port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        state_path = tmp_path / "state" / "local.json"
        deadline = time.monotonic() + 90
        while not state_path.is_file():
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "no state file after 90 s"
            time.sleep(0.2)
        state = json.loads(state_path.read_text())
        with urllib.request.urlopen(f"{state['api_url']}/", timeout=30) as page:
            body = page.read()
            assert page.status == 200
        assert body == (ROOT / "web" / "index.html").read_bytes()
        assert b"No dashboard files" not in body
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)
