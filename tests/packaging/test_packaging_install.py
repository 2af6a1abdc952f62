"""Installing from a clone: the README's one command, run in a fresh venv, offline.

The README command is

    pip install ./packages/synchronaut-core ./packages/synchronaut-ctx \\
        ./packages/synchronaut-batch ./packages/synchronaut

(``pip install ./packages/synchronaut`` alone cannot work: the meta-package pins each
part at exactly its version, and pip looks for those on the index). Here it runs with
``--no-index --no-build-isolation`` so that no network is needed: the build backend
(hatchling, and setuptools for core's build_ext) is put into the fresh venv first from
uv's cache.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from support_packaging import (
    MODULES,
    PACKAGES,
    build_requires,
    copy_packages,
    pyproject_version,
    run,
    uv,
    venv_python,
)

pytestmark = pytest.mark.slow

#: The README's command, as arguments of ``pip install`` run from the clone's root.
CLONE_INSTALL = [f"./packages/{name}" for name in PACKAGES]
#: What pip may use offline: only local paths and what is already in the venv (--isolated:
#: no pip.conf or PIP_* settings -- a find-links folder, an extra index).
OFFLINE = ["--isolated", "--no-index", "--no-build-isolation", "--disable-pip-version-check"]


def _build_backend(python: Path, packages: Path) -> None:
    """What the pyprojects' [build-system] ask for (hatchling, setuptools), from uv's cache."""
    requires = sorted({req for name in PACKAGES for req in build_requires(packages / name)})
    done = run(
        [uv(), "pip", "install", "--offline", "--python", str(python), *requires],
        cwd=packages,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            "could not install the build backend from uv's cache (offline); `uv sync` "
            f"fills it:\n{done.stderr}"
        )


def test_the_readme_clone_command_installs_every_part(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    packages = copy_packages(clone)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv_python(venv)
    _build_backend(python, packages)

    # Why the README gives all four paths: the meta-package alone needs its exact pins.
    alone = run(
        [str(python), "-m", "pip", "install", *OFFLINE, "./packages/synchronaut"],
        cwd=clone,
        check=False,
    )
    version = pyproject_version(packages / "synchronaut")
    assert alone.returncode != 0
    assert re.search(
        rf"No matching distribution found for synchronaut-(core|ctx|batch)=={re.escape(version)}",
        alone.stderr,
    ), alone.stderr

    run([str(python), "-m", "pip", "install", *OFFLINE, *CLONE_INSTALL], cwd=clone)

    # Imported from the venv (not from the clone, which is not on sys.path there).
    code = (
        "import json, importlib\n"
        f"names = {[MODULES[name] for name in PACKAGES]!r}\n"
        "mods = [importlib.import_module(n) for n in names]\n"
        "print(json.dumps({m.__name__: [m.__version__, m.__file__] for m in mods}))"
    )
    report = run([str(python), "-I", "-c", code], cwd=tmp_path).stdout
    for name in PACKAGES:
        assert f'"{MODULES[name]}": ["{pyproject_version(packages / name)}", "{venv}' in report

    shown = run([str(python), "-I", "-m", "synchronaut"], cwd=tmp_path).stdout
    assert shown.startswith(f"synchronaut {version} (synchronaut-core {version}, ")
    assert "accelerator:" in shown
