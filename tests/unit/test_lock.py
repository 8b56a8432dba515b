"""The development and test environment comes from requirements/dev.txt (`make lock`): every
requirement pyproject.toml names is pinned there, by exact version and with hashes, and the pin
satisfies the range pyproject.toml allows. A dependency added to pyproject.toml without
renewing the lock fails here, not on the day someone installs."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def _pins() -> dict[str, Version]:
    text = (ROOT / "requirements" / "dev.txt").read_text()
    return {canonicalize_name(name): Version(version) for name, version in _PIN.findall(text)}


def _required() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    names = [*project["dependencies"], *extras["cli"], *extras["local"], *extras["dev"]]
    return [Requirement(r) for r in names]


def test_every_requirement_is_pinned_within_its_range() -> None:
    pins = _pins()
    assert len(pins) > 50  # the whole closure, not only the direct requirements
    for requirement in _required():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements/dev.txt: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier}: run `make lock`"
        )


def test_every_pin_carries_hashes() -> None:
    text = (ROOT / "requirements" / "dev.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    pinned = [e for e in entries if _PIN.match(e)]
    assert pinned
    for entry in pinned:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]
