"""checkov over infra/: zero failed checks, and every skip inline with its reason.

checkov pins an old boto3, so it lives in a tool environment of its own (build/checkov-venv),
created by `make test` (or here, on first use) from PyPI and never in the project's .venv.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import BUILD, INFRA

# One pin for the Makefile (which builds the venv before the tests) and for this fallback.
CHECKOV_REQUIREMENTS = INFRA.parent / "tools" / "checkov-requirements.txt"
CHECKOV_VERSION = next(
    line.split("==")[1].strip()
    for line in CHECKOV_REQUIREMENTS.read_text().splitlines()
    if line.startswith("checkov==")
)
CHECKOV_VENV = BUILD / "checkov-venv"

pytestmark = [pytest.mark.slow, pytest.mark.infra]


def checkov_binary() -> Path:
    binary = CHECKOV_VENV / "bin" / "checkov"
    version = CHECKOV_VENV / f".checkov-{CHECKOV_VERSION}"
    if not version.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(CHECKOV_VENV)
        subprocess.run(
            [
                str(CHECKOV_VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"checkov=={CHECKOV_VERSION}",
            ],
            check=True,
        )
        version.touch()
    return binary


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    try:
        binary = checkov_binary()
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"could not install checkov {CHECKOV_VERSION} into {CHECKOV_VENV}: {exc}")
    result = subprocess.run(
        [
            str(binary),
            "--directory",
            str(INFRA),
            "--framework",
            "terraform",
            "--output",
            "json",
            # Offline: no guidelines or policies from the vendor's platform.
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        data: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON ({result.returncode}):\n{result.stderr[-4000:]}")
    summary = data["summary"]
    print(
        f"\ncheckov {summary['checkov_version']}: {summary['passed']} passed, "
        f"{summary['failed']} failed, {summary['skipped']} skipped",
        file=sys.stderr,
    )
    return data


def test_checkov_reports_no_failed_check(report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): "
        f"{c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100, "checkov checked suspiciously little"
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)


def test_every_skip_is_inline_with_a_reason(report: dict[str, Any]) -> None:
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) > 10, f"{check['check_id']} on {check['resource']} has no reason"


def test_checkov_stays_out_of_the_project_environment() -> None:
    project_python = Path(sys.executable)
    completed = subprocess.run(
        [str(project_python), "-c", "import checkov"], capture_output=True, check=False
    )
    assert completed.returncode != 0, "checkov is installed in the project's environment"
