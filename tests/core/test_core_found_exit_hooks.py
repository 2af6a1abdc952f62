"""Calls from an atexit hook work on every Python, 3.12 included (they run on the main thread).

Found by an adversarial review, and fixed; what it found:

On Python 3.12, synchronaut calls from an ``atexit`` hook fail if they need a thread.

CPython 3.12 refuses to start threads once finalization began, atexit hooks
included ("can't create new thread at interpreter shutdown"; 3.10, 3.11 and 3.13
allow it). synchronaut's own atexit hook has stopped the background loop by then, so
an ``async def`` called from a hook registered *before* synchronaut was imported (it
runs after synchronaut's) needs a new loop thread; a ``force_offload`` call needs a
worker thread. Both print "Exception ignored in atexit callback" with a
``RuntimeError`` on 3.12 only -- the same program is silent on 3.11 and 3.13.

Expected: on the main thread at exit, when no thread can be started, run the
coroutine on a loop in the calling thread (``asyncio.run``-like) and an offloaded
sync call inline (no timeout can be enforced then), or document the limitation.
"""

from __future__ import annotations

from support_process import run_python

CHILD = """
import asyncio, atexit, sys

def hook():
    from synchronaut_core import CallOptions, call_sync

    async def five():
        await asyncio.sleep(0.01)
        return 5

    print("hook", call_sync(five), CallOptions(force_offload=True)(int, 3), flush=True)

    async def stuck():
        try:
            await asyncio.sleep(30)
        finally:
            print("stuck cleaned up", flush=True)

    from synchronaut_core import CallAnyTimeout

    try:
        call_sync(stuck, timeout=0.05)
    except CallAnyTimeout as exc:
        print("timed out:", exc, flush=True)

atexit.register(hook)  # registered first: runs after synchronaut's own exit hook

from synchronaut_core import call_sync

async def warm():
    return 1

call_sync(warm)
"""


def test_an_atexit_hook_can_still_call_async_code_and_offload() -> None:
    proc = run_python(CHILD, timeout=30)
    assert proc.stdout.splitlines() == [
        "hook 5 3",
        "stuck cleaned up",
        "timed out: Function stuck timed out after 0.05s",
    ], proc.stderr[-2000:]
    assert proc.stderr == ""
