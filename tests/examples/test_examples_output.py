"""The quickstart example prints exactly what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED = """\
call_any(sync_add) in sync: 5
call_any(async_add) in sync: 19
sync_add: 3
call_any(sync_add): 7
offloaded sync_add: 11
async_add: 15
call_any(async_add): 15
Timeout caught: Function <lambda> timed out after 0.5s
"""


def test_quickstart_output() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == ""
    assert result.stdout == EXPECTED
