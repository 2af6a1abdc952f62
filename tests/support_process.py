"""Running test code in a fresh interpreter: what a crash or a broken process leaves stays there."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping


def run_python(
    code: str,
    *,
    timeout: float = 60,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) with this interpreter; its exit status and output.

    Whatever the exit status (the caller judges it); ``subprocess.TimeoutExpired`` if it
    runs longer than ``timeout`` seconds. ``env`` replaces the environment (None: this
    process's is inherited).
    """
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=None if env is None else dict(env),
        check=False,
    )
