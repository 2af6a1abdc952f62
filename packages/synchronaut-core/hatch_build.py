"""Hatchling build hook: compile the optional C accelerator ``synchronaut_core._speedups``.

The package is complete without it (pure Python, same behaviour): when there is no C
compiler, or SYNCHRONAUT_PURE_PYTHON is set, the wheel is built without it and a
warning says so. Built with setuptools' ``build_ext``, which knows each platform's
compiler and flags.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

_MODULE = "synchronaut_core._speedups"


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("SYNCHRONAUT_PURE_PYTHON"):
            return
        package = Path(self.root) / "src" / "synchronaut_core"
        try:
            built = _compile(package / "_speedups.c")
        except Exception as exc:  # no compiler, no headers: ship pure Python
            self.app.display_warning(
                f"synchronaut-core: C accelerator not built ({exc}); pure Python is used"
            )
            return
        target = package / built.name
        # Next to the sources too, so an editable install (which imports from src/)
        # finds it.
        shutil.copyfile(built, target)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(target)] = f"synchronaut_core/{built.name}"


def _compile(source: Path) -> Path:
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    out = Path(tempfile.mkdtemp(prefix="synchronaut-speedups-"))
    dist = Distribution(
        {"name": "synchronaut-core", "ext_modules": [Extension(_MODULE, [str(source)])]}
    )
    command = build_ext(dist)
    command.build_lib = str(out / "lib")
    command.build_temp = str(out / "tmp")
    command.ensure_finalized()
    command.run()
    return Path(command.get_ext_fullpath(_MODULE))
