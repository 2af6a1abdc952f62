"""The C accelerator's source compiles without a warning under the build's own flags."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

import synchronaut_core

SOURCE = Path(synchronaut_core.__file__).with_name("_speedups.c")


def _compiler() -> list[str] | None:
    command = shlex.split(sysconfig.get_config_var("CC") or "")
    return command if command and shutil.which(command[0]) else None


@pytest.mark.skipif(not SOURCE.exists(), reason="installed without its C source")
@pytest.mark.skipif(_compiler() is None, reason="no C compiler (the pure-Python build)")
def test_the_source_compiles_without_warnings() -> None:
    # The flags setuptools' build_ext uses (this Python's CFLAGS: -Wall and more),
    # every warning an error; syntax only, so it costs a fraction of a second.
    compiler = _compiler()
    assert compiler is not None
    flags = shlex.split(sysconfig.get_config_var("CFLAGS") or "")
    result = subprocess.run(
        [
            *compiler,
            *flags,
            "-Wall",
            "-Werror",
            "-fsyntax-only",
            f"-I{sysconfig.get_paths()['include']}",
            str(SOURCE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
