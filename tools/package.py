"""Build the Lambda artefacts: the function zip and the dependency layer zip.

- function.zip holds the `mailroom` package without the CLI and local mode (the handlers import
  neither), so what is deployed is only what the functions run.
- layer.zip holds the runtime dependencies (pyproject `dependencies` and what they require)
  copied file by file from the virtual environment the tests ran in, so the deployed versions are
  the tested ones. Compiled extensions of the build machine are left out. The one dependency
  whose point is a C extension, pybase64 (SIMD base64), comes instead from its wheel for the
  deployed platform (arm64, CPython 3.12), fetched from the package registry at the same version
  with `pip download --platform ... --only-binary=:all:` and cached under build/wheels. Its
  pure-Python part stays: where the extension cannot load, the engine decodes with binascii
  (`mailroom/extract/fastb64.py`), so the layer still works on any architecture.

Zips are deterministic (sorted entries, fixed timestamps) so Terraform sees a change only when
the code changes.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "functions" / "mailroom"
EXCLUDED_SUBPACKAGES = ("cli", "local")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
_SKIP = re.compile(r"(__pycache__|\.pyc$|\.so$|\.pyd$|\.dylib$)")


def _add(zf: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(arcname, FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def build_function_zip(out: Path) -> list[str]:
    names: list[str] = []
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(PACKAGE_DIR.rglob("*")):
            rel = path.relative_to(PACKAGE_DIR)
            if path.is_dir() or _SKIP.search(str(rel)) or rel.parts[0] in EXCLUDED_SUBPACKAGES:
                continue
            arcname = f"mailroom/{rel.as_posix()}"
            _add(zf, arcname, path.read_bytes())
            names.append(arcname)
    return names


LAMBDA_PYTHON = "3.12"  # the runtime infra/lambda.tf deploys; markers are evaluated for it
LAMBDA_ARCH = "arm64"  # infra/lambda.tf `architectures`
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
# Runtime dependencies shipped as their platform wheel: their speed is their C extension.
PLATFORM_WHEELS = frozenset({"pybase64"})
WHEEL_CACHE = ROOT / "build" / "wheels"


def runtime_distributions(root: str = "mailroom") -> dict[str, metadata.Distribution]:
    """The closure of the project's runtime requirements (with their extras), as installed."""
    queue = [(Requirement(r), "") for r in metadata.requires(root) or []]
    seen: dict[str, metadata.Distribution] = {}
    while queue:
        req, extra = queue.pop()
        env = {"python_version": LAMBDA_PYTHON, "python_full_version": f"{LAMBDA_PYTHON}.0"}
        if req.marker and not req.marker.evaluate({**env, "extra": extra}):
            continue
        key = canonicalize_name(req.name)
        if key not in seen:
            dist = metadata.distribution(req.name)
            seen[key] = dist
            queue.extend((Requirement(r), "") for r in dist.requires or [])
        # Requirements an extra switches on (aws-lambda-powertools[tracer] -> aws-xray-sdk).
        for wanted_extra in req.extras:
            queue.extend((Requirement(r), wanted_extra) for r in seen[key].requires or [])
    return seen


def platform_wheel(name: str, version: str, arch: str, python: str, cache: Path) -> Path:
    """The wheel of `name==version` for Lambda's platform, from the registry (cached)."""
    tag = PLATFORMS[arch].rpartition("_")[2] if arch == "arm64" else "x86_64"
    pattern = f"{name.replace('-', '_')}-{version}-cp{python.replace('.', '')}-*{tag}*.whl"
    found = sorted(cache.glob(pattern))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - pip of this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"{name}=={version}",
                "--platform",
                PLATFORMS[arch],
                "--only-binary=:all:",
                "--python-version",
                python,
                "--implementation",
                "cp",
                "--no-deps",
                "--dest",
                str(cache),
                "--quiet",
                "--disable-pip-version-check",
            ],
            check=True,
        )
        found = sorted(cache.glob(pattern))
    if not found:
        raise SystemExit(f"package: no {arch} wheel of {name}=={version} for CPython {python}")
    return found[-1]


def build_layer_zip(
    out: Path, arch: str = LAMBDA_ARCH, python: str = LAMBDA_PYTHON, cache: Path = WHEEL_CACHE
) -> dict[str, str]:
    dists = runtime_distributions()
    pins: dict[str, str] = {}
    entries: dict[str, bytes | Path] = {}
    for key, dist in dists.items():
        pins[dist.metadata["Name"]] = dist.version
        if key in PLATFORM_WHEELS:
            wheel = platform_wheel(key, dist.version, arch, python, cache)
            with zipfile.ZipFile(wheel) as whl:
                for name in whl.namelist():
                    if not name.endswith("/"):
                        entries[f"python/{name}"] = whl.read(name)
            continue
        for file in dist.files or []:
            rel = str(file)
            if rel.startswith("..") or _SKIP.search(rel):
                continue
            entries[f"python/{rel}"] = Path(str(file.locate()))
    with zipfile.ZipFile(out, "w") as zf:
        for arcname in sorted(entries):
            entry = entries[arcname]
            if isinstance(entry, bytes):
                _add(zf, arcname, entry)
            elif entry.is_file():
                _add(zf, arcname, entry.read_bytes())
    return pins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lambda")
    parser.add_argument(
        "--arch", choices=sorted(PLATFORMS), default=LAMBDA_ARCH, help="the layer's platform"
    )
    parser.add_argument("--python", default=LAMBDA_PYTHON, help="the layer's CPython version")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    function_zip = args.out / "function.zip"
    layer_zip = args.out / "layer.zip"
    build_function_zip(function_zip)
    pins = build_layer_zip(layer_zip, args.arch, args.python)
    (args.out / "layer-requirements.txt").write_text(
        "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))
    )
    for path in (function_zip, layer_zip):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        size = path.stat().st_size / 1e6
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"package: {shown} {size:.1f} MB sha256:{digest}")
    print(f"package: layer pins {', '.join(f'{n}=={v}' for n, v in sorted(pins.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
