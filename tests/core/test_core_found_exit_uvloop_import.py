"""The first loop made from an atexit hook: asyncio's loop, and no traceback printed.

Found by the adversarial review of the C accelerator (not a C bug):

A program whose first ``call_any(async_fn)`` runs in an atexit hook, with uvloop
installed, logged "synchronaut: uvloop failed to import; using asyncio's loop" with a
traceback ending in ``RuntimeError: can't register atexit after shutdown``: uvloop's
import pulls in ``concurrent.futures.thread``, which registers an exit hook of its
own, and Python refuses that once ``threading`` began its shutdown. The call itself
worked (asyncio's loop), but every such program printed a warning and a traceback
for a uvloop that is not broken.

On Python 3.12 the same program failed outright: the loop factory is chosen in a
thread of its own (no Ctrl-C lands there), which 3.12 refuses to start at exit, so the
call raised "can't create new thread at interpreter shutdown" and its coroutine was
reported never awaited (the exit-hook tests always made a call before exit, so the
factory was already chosen).

Expected: the call runs on asyncio's loop and nothing is printed, on every Python.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("uvloop")

CHILD = """
import atexit, logging, sys
logging.basicConfig(level=logging.WARNING)

def hook():
    from synchronaut_core import call_any

    async def seven():
        return 7

    print("at exit", call_any(seven), flush=True)

atexit.register(hook)
import synchronaut_core  # imported, no loop made before exit
"""


def test_first_async_call_from_an_atexit_hook_prints_no_uvloop_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SYNCHRONAUT_LOOP"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "at exit 7"
    assert done.stderr == "", done.stderr
