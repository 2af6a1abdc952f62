"""Test an installed synchronaut-core wheel: the release workflow's wheel test.

Run from a directory holding copies of the repository's ``tests/``, ``packages/`` and
``pyproject.toml`` (cibuildwheel's ``test-sources``), by the interpreter whose
environment has the wheel installed::

    python scripts/test_installed_wheel.py --install-parts   # cibuildwheel's test-command
    python scripts/test_installed_wheel.py                   # the parts are installed already

``--install-parts`` first pip-installs the three pure packages (ctx, batch, the
meta-package) from ``./packages``, without dependencies, so the wheel under test stays.
Then it checks that the accelerator is active exactly where it must be -- always, except
on a free-threaded Python, where it is never loaded and the GIL stays off -- that
synchronaut_core comes from the environment (not from ./packages), and runs the suite's
core, ctx, batch and meta tests. The exit status is pytest's (or 1 if a check failed).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import sysconfig
from pathlib import Path

PURE_PARTS = ("synchronaut-ctx", "synchronaut-batch", "synchronaut")
TEST_DIRS = ("tests/core", "tests/ctx", "tests/batch", "tests/meta")


def _fail(message: str) -> int:
    sys.stderr.write(f"test_installed_wheel: {message}\n")
    return 1


def _check_installed_core(here: Path) -> int:
    """0 if synchronaut_core is installed (not the copy here) with the right accelerator."""
    core = importlib.import_module("synchronaut_core")
    importlib.import_module("synchronaut")
    location = Path(str(core.__file__)).resolve()
    if here in location.parents:
        return _fail(f"synchronaut_core imported from the test sources: {location}")
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    expected = not free_threaded
    if core.ACCELERATED is not expected:
        return _fail(f"ACCELERATED is {core.ACCELERATED}, expected {expected} ({location})")
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if free_threaded and is_gil_enabled is not None and is_gil_enabled():
        return _fail("importing synchronaut switched the GIL on")
    sys.stderr.write(
        f"test_installed_wheel: synchronaut_core {core.__version__} from {location.parent}, "
        f"ACCELERATED {core.ACCELERATED}\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Install the pure parts if asked, check the installed core, run the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--install-parts",
        action="store_true",
        help="pip install ./packages/{synchronaut-ctx,synchronaut-batch,synchronaut} first",
    )
    args = parser.parse_args(argv)
    here = Path.cwd().resolve()
    if args.install_parts:
        parts = [str(here / "packages" / name) for name in PURE_PARTS]
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", *parts], check=True)
    status = _check_installed_core(here)
    if status:
        return status
    pytest = [sys.executable, "-m", "pytest", "-n", "auto", "-p", "no:cacheprovider", "-q"]
    return subprocess.run([*pytest, *TEST_DIRS], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
