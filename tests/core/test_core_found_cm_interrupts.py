"""A Ctrl-C anywhere in ``sync_cm``'s enter or exit still exits the async context manager.

Found by an adversarial review, and fixed; what it found:

A Ctrl-C inside ``sync_cm``'s ``__enter__``/``__exit__`` leaves the async CM entered.

``_BlockingContextManager.__enter__`` runs ``__aenter__`` in a holder task on the
pinned loop (``pin.run(holder.enter, ...)``), then records ``self._pin, self._holder``.
A ``KeyboardInterrupt`` landing after the holder has entered but before that
assignment -- after ``pin.run`` returned, or inside ``_LoopPin.run`` after the wait --
goes to ``except BaseException: pin.release(); raise``: nothing tells the holder to
exit. Same at the entry of ``__exit__`` and inside its ``pin.run``. The holder task
waits on ``exit_requested`` forever: ``__aexit__`` is never called; at the next
garbage collection asyncio prints "Task was destroyed but it is pending!". With
``sync_cm(asyncio_lock)`` the lock stays held for good: every later
``with sync_cm(lock):`` hangs.

Expected: once ``__aenter__`` has run, whatever interrupts the sync side, the holder
is told to exit (``_LoopPin.run_later`` of ``holder.exit`` with the interrupt, as
``BlockingIterator._step`` closes its generator later), so ``__aexit__`` runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_child(code: str, timeout: float = 100) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE,
        env={**os.environ, "PYTHONPATH": HERE},
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"child printed no result (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1])
    result["stderr"] = proc.stderr
    return result


SWEEP = """
import gc, json, threading
import support_faults
from synchronaut_core import _pinned, _sync_cm, sync_cm

class ACM:
    def __init__(self):
        self.entered = threading.Event()
        self.exited = threading.Event()
    async def __aenter__(self):
        self.entered.set()
        return 5
    async def __aexit__(self, *exc):
        self.exited.set()
        return False

def use(acm):
    with sync_cm(acm) as value:
        return value

use(ACM())  # warm up
never_exited = []
n = 0
targets = [
    _sync_cm._BlockingContextManager.__enter__,
    _sync_cm._BlockingContextManager.__exit__,
    _pinned._LoopPin.run,
]
while True:
    acm = ACM()
    injector = support_faults.Injector(targets, n)
    try:
        with injector:
            use(acm)
    except KeyboardInterrupt:
        pass
    if not injector.fired:
        break
    where = injector.where
    del injector  # it holds the interrupted frames, and so the sync_cm
    gc.collect()  # a Ctrl-C on the very entry of __exit__: the dropped sync_cm exits it
    if acm.entered.wait(0.5) and not acm.exited.wait(3):
        never_exited.append(where)
    n += 1
print(json.dumps({"points": n, "never_exited": never_exited}))
"""


def test_a_ctrl_c_anywhere_in_sync_cm_still_exits_the_async_context_manager() -> None:
    result = run_child(SWEEP)
    assert result["points"] > 0
    assert result["never_exited"] == [], (
        "after a Ctrl-C at these points __aexit__ never ran (the holder task waits "
        f"forever): {result['never_exited']}"
    )
    assert "Task was destroyed but it is pending" not in result["stderr"], result["stderr"]


LOCK = """
import asyncio, json
import support_faults
from synchronaut_core import CallAnyTimeout, _pinned, _sync_cm, call_sync, sync_cm

async def make_lock():
    return asyncio.Lock()

def critical_section(lock):
    with sync_cm(lock):
        return "in"

critical_section(call_sync(make_lock))  # warm up
held = []
n = 0
while True:
    lock = call_sync(make_lock)  # lives on the background loop
    injector = support_faults.Injector(
        [_sync_cm._BlockingContextManager.__enter__, _pinned._LoopPin.run], n
    )
    try:
        with injector:
            critical_section(lock)
    except KeyboardInterrupt:
        pass
    if not injector.fired:
        break
    try:
        with sync_cm(lock, timeout=2):
            pass
    except CallAnyTimeout:
        held.append(injector.where)
    n += 1
print(json.dumps({"points": n, "held": held}))
"""


def test_sync_cm_of_an_asyncio_lock_is_released_after_a_ctrl_c_in_enter() -> None:
    result = run_child(LOCK, timeout=100)
    assert result["points"] > 0
    assert result["held"] == [], (
        "after a Ctrl-C at these points of entering, the asyncio.Lock stayed held for "
        f"good (every later `with sync_cm(lock)` waits forever): {result['held']}"
    )
