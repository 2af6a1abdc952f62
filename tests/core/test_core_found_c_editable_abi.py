"""Found by the adversarial review of the C accelerator: an editable install served a foreign ABI.

An editable wheel of synchronaut-core is tagged ``py3-none-any``, so uv reuses one built
for Python 3.10 in an environment of 3.11 or 3.12 (``uv run --isolated --python ...``
without ``--reinstall-package``, or the project environment afterwards). Its finder
loaded the 3.10 extension regardless: ``ACCELERATED`` was True and, on 3.12,
``@synchronaut`` raised ``TypeError: SynchronautSync is not a DirectCall type`` (the
type layout differs; a crash was as likely). The finder now refuses an extension whose
file suffix is not one of this Python's, and synchronaut_core runs pure Python and
says why.
"""

from __future__ import annotations

import ast
import importlib.machinery
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2] / "packages" / "synchronaut-core"


def _finder_template() -> str:
    """hatch_build._FINDER_SOURCE, read from the file (hatchling is not needed to read it)."""
    tree = ast.parse((ROOT / "hatch_build.py").read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(target, "id", None) for target in node.targets] == ["_FINDER_SOURCE"]
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise AssertionError("hatch_build.py defines no _FINDER_SOURCE string")


def _finder(tmp_path: Path, filename: str) -> Any:
    """The editable finder as the build writes it, for an extension named ``filename``."""
    source = _finder_template().format(filename=filename)
    path = tmp_path / "__init__.py"
    path.write_text(source)
    namespace: dict[str, Any] = {"__file__": str(path), "__name__": "finder_under_test"}
    before = list(sys.meta_path)
    try:
        exec(compile(source, str(path), "exec"), namespace)  # the generated file, as is
    finally:
        sys.meta_path[:] = before  # it inserts itself: not in this process
    return namespace["_SpeedupsFinder"]


def test_the_editable_finder_serves_an_extension_of_this_python(tmp_path: Path) -> None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    spec = _finder(tmp_path, f"_speedups{suffix}").find_spec("synchronaut_core._speedups")
    assert spec is not None
    assert spec.origin == str(tmp_path / f"_speedups{suffix}")
    assert _finder(tmp_path, f"_speedups{suffix}").find_spec("synchronaut_core._call") is None


def test_the_editable_finder_refuses_an_extension_of_another_python(tmp_path: Path) -> None:
    other = "cpython-39" if sys.version_info >= (3, 10) else "cpython-313"
    finder = _finder(tmp_path, f"_speedups.{other}-x86_64-linux-gnu.so")
    with pytest.raises(ImportError, match="built for another Python than this one") as caught:
        finder.find_spec("synchronaut_core._speedups")
    assert caught.value.name == "synchronaut_core._speedups"
    assert "--reinstall-package synchronaut-core" in str(caught.value)
