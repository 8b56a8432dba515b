"""The dashboard page (web/) ships inside the wheel as `mailroom/web/`.

Everything else is declared in pyproject.toml. web/ stays at the top of the repository (the
dashboard's Terraform uploads it from there); this build step copies it into the built package,
where the local HTTP API finds it with importlib.resources. An editable install has no copy:
the API falls back to the repository's web/ (mailroom.local.httpapi.default_web_dir).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEB = Path(__file__).resolve().parent / "web"


class BuildWithDashboard(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode or not WEB.is_dir():
            return
        target = Path(self.build_lib) / "mailroom" / "web"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(WEB, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode and WEB.is_dir():
            target = Path(self.build_lib) / "mailroom" / "web"
            outputs += [str(target / p.relative_to(WEB)) for p in WEB.rglob("*") if p.is_file()]
        return outputs


setup(cmdclass={"build_py": BuildWithDashboard})
