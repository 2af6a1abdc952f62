"""Helpers of the packaging tests: copy the packages, build them offline, read artifacts.

Everything here runs without network: builds use ``uv build --offline`` (the build
backend, hatchling, comes from uv's cache, filled by ``uv sync``), installs use
``pip --no-index`` or ``uv pip install --offline`` with local files only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("synchronaut-core", "synchronaut-ctx", "synchronaut-batch", "synchronaut")
#: Distribution name -> import name.
MODULES = {name: name.replace("-", "_") for name in PACKAGES}
REPO_URL = "https://github.com/synchronaut/synchronaut"

#: Planted in the copy's src/ before the build: compiled files of other builds, which
#: must never be shipped. The one with this Python's suffix holds garbage, so a wheel
#: carrying it instead of the fresh build shows (and would crash on import).
STALE = {
    "_speedups.cpython-39-x86_64-linux-gnu.so": b"stale: CPython 3.9",
    "_speedups.cp39-win_amd64.pyd": b"stale: CPython 3.9, Windows",
    f"_speedups{sysconfig.get_config_var('EXT_SUFFIX')}": b"stale: garbage, this Python",
}


def uv() -> str:
    """The uv executable (``uv run`` exports it as $UV); skips the test if there is none."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.skip("uv is not installed: the packaging tests build with `uv build --offline`")
    return found


def run(
    cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure (with ``check``) fail the test showing its whole output."""
    full_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", **(env or {})}
    # The tests' own switches must not leak into builds or installed interpreters.
    for name in ("SYNCHRONAUT_NO_EXTENSIONS", "SYNCHRONAUT_PURE_PYTHON"):
        if name not in (env or {}):
            full_env.pop(name, None)
    done = subprocess.run(
        cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=110, check=False
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} exited with {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def uv_build(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """``uv build --offline`` for this Python; returns its whole output (the hook's verdict)."""
    done = run([uv(), "build", "--offline", "--python", sys.executable, *args], cwd=cwd, env=env)
    return done.stdout + done.stderr


def copy_packages(dest: Path) -> Path:
    """A copy of packages/ outside git, without caches or compiled files; returns it."""
    target = dest / "packages"
    shutil.copytree(
        ROOT / "packages",
        target,
        ignore=shutil.ignore_patterns(
            "__pycache__", "*.so", "*.pyd", "build", "dist", "*.egg-info", ".venv"
        ),
    )
    return target


def pyproject_version(package_dir: Path) -> str:
    """The ``version`` of the ``[project]`` table of a package's pyproject.toml."""
    text = (package_dir / "pyproject.toml").read_text(encoding="utf-8")
    # tomllib is 3.11+; the [project] table is the first one and its version a string.
    table = re.search(r"^\[project\]\n(.*?)(?=^\[)", text, re.DOTALL | re.MULTILINE)
    assert table is not None, f"{package_dir}: no [project] table"
    match = re.search(r'^version\s*=\s*"([^"]+)"', table.group(1), re.MULTILINE)
    assert match is not None, f"{package_dir}: no static version in [project]"
    return match.group(1)


def build_requires(package_dir: Path) -> list[str]:
    """The ``requires`` of a package's ``[build-system]`` (what building it installs)."""
    text = (package_dir / "pyproject.toml").read_text(encoding="utf-8")
    table = re.search(r"^\[build-system\]\n(.*?)(?=^\[|\Z)", text, re.DOTALL | re.MULTILINE)
    assert table is not None, f"{package_dir}: no [build-system] table"
    match = re.search(r"^requires\s*=\s*\[([^\]]*)\]", table.group(1), re.MULTILINE)
    assert match is not None, f"{package_dir}: no build-system requires"
    return re.findall(r'"([^"]+)"', match.group(1))


@dataclass(frozen=True)
class Artifact:
    """One built sdist or wheel and what is inside it."""

    path: Path

    @property
    def is_wheel(self) -> bool:
        return self.path.suffix == ".whl"

    @property
    def tag(self) -> str:
        """The wheel's tag (``py3-none-any``, ``cp311-cp311-linux_x86_64``); ``sdist``."""
        if not self.is_wheel:
            return "sdist"
        return "-".join(self.path.name[: -len(".whl")].split("-")[2:])

    def names(self) -> list[str]:
        if self.is_wheel:
            with zipfile.ZipFile(self.path) as archive:
                return archive.namelist()
        with tarfile.open(self.path) as archive:
            return archive.getnames()

    def read(self, name: str) -> bytes:
        if self.is_wheel:
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(name)
        with tarfile.open(self.path) as archive:
            member = archive.extractfile(name)
            assert member is not None, f"{self.path.name}: {name} is not a file"
            return member.read()

    def find(self, suffix: str) -> str:
        """The one member whose name ends with ``suffix``."""
        found = [name for name in self.names() if name.endswith(suffix)]
        assert len(found) == 1, f"{self.path.name}: expected one *{suffix}, found {found}"
        return found[0]

    def metadata(self) -> Message:
        """The core metadata: dist-info/METADATA of a wheel, PKG-INFO of an sdist."""
        member = self.find(".dist-info/METADATA" if self.is_wheel else "/PKG-INFO")
        return HeaderParser().parsestr(self.read(member).decode("utf-8"))

    def extract(self, dest: Path) -> Path:
        """Unpack a wheel into ``dest`` (an importable directory); returns it."""
        assert self.is_wheel
        with zipfile.ZipFile(self.path) as archive:
            archive.extractall(dest)
        return dest


def built(out: Path, distribution: str, kind: str) -> Artifact:
    """The one sdist (``kind="sdist"``) or wheel (``"wheel"``) of ``distribution`` in out."""
    stem = distribution.replace("-", "_")
    pattern = f"{stem}-[0-9]*.tar.gz" if kind == "sdist" else f"{stem}-[0-9]*.whl"
    found = sorted(out.glob(pattern))
    assert len(found) == 1, f"expected one {kind} of {distribution} in {out}: {found}"
    return Artifact(found[0])


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment."""
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


@dataclass(frozen=True)
class Dists:
    """The sdist and wheel of each package, built from one copy of packages/."""

    packages: Path  # the copy (no .git above it), with STALE planted in core's src/
    out: Path  # the artifacts
    tmp: Path  # TMPDIR of the builds: the build hook's temp folders went here
    log: str  # the builds' combined output
    src_before: dict[str, tuple[int, int]]
    src_after: dict[str, tuple[int, int]]
