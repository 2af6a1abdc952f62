"""Interpreter exit is prompt while the background loop's thread is blocked in a nested call.

Found by an adversarial review, and fixed; what it found:

Interpreter exit stalls 3 s when the background loop's thread is blocked in a call.

A coroutine on the background loop makes a blocking ``call_sync`` (warned about, and
supported: the nested coroutine runs on a temporary loop). If that nested call is
still running at exit, ``_shutdown_at_exit`` -> ``shutdown(timeout=3.0)`` ->
``_LoopThread.stop`` joins the background loop's thread for the full 3 s: the
``_closes_cycle`` check only skips a thread that waits *on the caller*, but this one
is parked in a synchronous wait on the temporary loop and cannot turn to see the
stop at all. The README: "a process that used every feature, with coroutines,
iterators and abandoned sync calls still in flight, exits within 2 s of its last
line".

Expected: exit does not join a loop thread that is parked in a synchronous wait
(``_waits._is_blocked``) -- or cancels that wait first -- and exits within 2 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

CHILD = """
import asyncio, threading, time
from synchronaut_core import call_sync

async def forever():
    await asyncio.sleep(3600)

async def blocks_the_background_loop():
    return call_sync(forever)  # on the background loop's own thread

threading.Thread(target=lambda: call_sync(blocks_the_background_loop), daemon=True).start()
time.sleep(0.5)
print("last line", flush=True)
"""


def test_exit_is_prompt_with_the_background_loop_blocked_in_a_nested_call() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "last line"
        last_line = time.monotonic()
        proc.wait(30)
        took = time.monotonic() - last_line
    finally:
        proc.kill()
        proc.communicate()
    assert took < 2.0, f"the process took {took:.1f}s to exit after its last line"
